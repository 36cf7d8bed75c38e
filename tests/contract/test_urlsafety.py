"""The callback URL rules: one table of accepted and refused URLs, each trick included."""

import ipaddress

import pytest

from dashboard.contract.urlsafety import MALFORMED, UNSAFE, check_callback_url

OK = None

CASES = [
    # accepted
    ("https://hooks.example.com/live/record", OK),
    ("http://callbacks.example.org/cb", OK),
    ("HTTPS://Hooks.Example.com/Path", OK),
    ("https://hooks.example.com:8443/cb?x=1&y=%20z", OK),
    ("https://8.8.8.8/cb", OK),
    ("https://[2001:4860:4860::8888]/cb", OK),
    ("https://api.example.cn/callbacks/live-record?source=aliyun&v=2", OK),
    ("https://xn--fiqs8s.example.com/cb", OK),
    ("https://hooks.example.com/a%2Fb", OK),
    ("https://hooks.example.com./cb", OK),
    ("https://1.1.1.1:443/", OK),
    # malformed: scheme, encoding, control characters
    ("ftp://hooks.example.com/cb", MALFORMED),
    ("javascript:alert(1)", MALFORMED),
    ("//hooks.example.com/cb", MALFORMED),
    ("hooks.example.com/cb", MALFORMED),
    ("", MALFORMED),
    ("https://hooks.example.com/a b", MALFORMED),
    ("https://hooks.example.com/\tcb", MALFORMED),
    ("https://hooks.example.com/cb\r\nX-Injected: 1", MALFORMED),
    ("https://hooks.example.com/\x00", MALFORMED),
    ("https://hooks.example.com/回调", MALFORMED),
    ("https://hooks.example.com/%zz", MALFORMED),
    ("https://hooks.example.com\\@evil.com/", MALFORMED),
    ("https:///cb", MALFORMED),
    ("https://hooks.example.com:99999/cb", MALFORMED),
    ("https://hooks.exa_mple.com/cb", MALFORMED),
    ("https://256.1.1.1/cb", MALFORMED),
    ("https://[::gg]/cb", MALFORMED),
    # unsafe: credentials
    ("https://user:pass@hooks.example.com/cb", UNSAFE),
    ("https://hooks.example.com@127.0.0.1/cb", UNSAFE),
    # unsafe: loopback in every spelling
    ("http://127.0.0.1/cb", UNSAFE),
    ("http://127.1/cb", UNSAFE),
    ("http://2130706433/cb", UNSAFE),
    ("http://0x7f000001/cb", UNSAFE),
    ("http://0177.0.0.1/cb", UNSAFE),
    ("http://0x7f.0.0.1/cb", UNSAFE),
    ("http://[::1]/cb", UNSAFE),
    ("http://0.0.0.0/cb", UNSAFE),
    ("http://0/cb", UNSAFE),
    ("http://localhost/cb", UNSAFE),
    ("http://LOCALHOST./cb", UNSAFE),
    ("http://api.localhost/cb", UNSAFE),
    ("http://ip6-localhost/cb", UNSAFE),
    # unsafe: private, link-local, CGNAT, metadata, multicast, reserved
    ("http://10.0.0.5/cb", UNSAFE),
    ("http://172.16.3.4/cb", UNSAFE),
    ("http://192.168.1.10/cb", UNSAFE),
    ("http://169.254.169.254/latest/meta-data/", UNSAFE),
    ("http://100.100.100.200/latest/meta-data/", UNSAFE),
    ("http://100.64.0.1/cb", UNSAFE),
    ("http://224.0.0.1/cb", UNSAFE),
    ("http://240.0.0.1/cb", UNSAFE),
    ("http://255.255.255.255/cb", UNSAFE),
    ("http://198.18.0.1/cb", UNSAFE),
    ("http://[fe80::1]/cb", UNSAFE),
    ("http://[fc00::1]/cb", UNSAFE),
    ("http://[ff02::1]/cb", UNSAFE),
    # unsafe: IPv6 wrappers around IPv4
    ("http://[::ffff:127.0.0.1]/cb", UNSAFE),
    ("http://[::ffff:7f00:1]/cb", UNSAFE),
    ("http://[::ffff:10.0.0.1]/cb", UNSAFE),
    ("http://[64:ff9b::a9fe:a9fe]/cb", UNSAFE),
    ("http://[64:ff9b::7f00:1]/cb", UNSAFE),
    ("http://[2002:7f00:1::]/cb", UNSAFE),
    ("http://[2002:c0a8:101::]/cb", UNSAFE),
    ("http://[::127.0.0.1]/cb", UNSAFE),
    # unsafe: internal names
    ("http://metadata.google.internal/cb", UNSAFE),
    ("http://intranet/cb", UNSAFE),
    ("http://printer.local/cb", UNSAFE),
    ("http://db.corp/cb", UNSAFE),
]


@pytest.mark.parametrize(("url", "expected"), CASES, ids=[repr(u)[:60] for u, _ in CASES])
def test_callback_url_verdicts(url, expected):
    verdict = check_callback_url(url)
    if expected is None:
        assert verdict is None, verdict
    else:
        assert verdict is not None, f"{url!r} was accepted"
        assert verdict.kind == expected, verdict
        assert verdict.reason  # a human explanation, shown beside the field


def test_table_is_large_enough():
    assert len(CASES) >= 40


def test_snapshot_url_length_limit():
    base = "https://hooks.example.com/"
    assert check_callback_url(base + "a" * (500 - len(base)), max_length=500) is None
    verdict = check_callback_url(base + "a" * (501 - len(base)), max_length=500)
    assert verdict is not None and verdict.kind == MALFORMED and "500" in verdict.reason


def test_resolution_refuses_names_that_resolve_inside():
    verdict = check_callback_url("https://evil.example.com/cb", resolve=lambda host: ["10.1.2.3"])
    assert verdict is not None and verdict.kind == UNSAFE
    assert (
        check_callback_url("https://good.example.com/cb", resolve=lambda host: ["93.184.216.34"])
        is None
    )

    def fail(host):
        raise OSError("no such host")

    assert check_callback_url("https://nx.example.com/cb", resolve=fail).kind == UNSAFE


# --- the IANA special-purpose registries, row by row -------------------------------------

from dashboard.contract import urlsafety as _safety  # noqa: E402, I001


def _samples(network: str) -> list[str]:
    net = ipaddress.ip_network(network)
    picks = {net.network_address, net.network_address + (net.num_addresses // 2)}
    return [str(a) for a in picks]


@pytest.mark.parametrize(
    ("network", "reason"),
    [*_safety.IPV4_SPECIAL, *_safety.IPV6_SPECIAL],
    ids=[net for net, _ in [*_safety.IPV4_SPECIAL, *_safety.IPV6_SPECIAL]],
)
def test_every_special_purpose_block_is_unsafe(network, reason):
    for address in _samples(network):
        host = f"[{address}]" if ":" in address else address
        verdict = check_callback_url(f"http://{host}/cb")
        assert verdict is not None and verdict.kind == UNSAFE, address
        assert verdict.params["what"] == _safety.ip_unsafe_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "what"),
    [
        ("fec0::1", "a site-local address"),
        ("3fff::1", "an address reserved for documentation"),
        ("2001:20::1", "an address the IETF reserved for protocols"),
        ("192.88.99.1", "a reserved address"),
        ("192.0.0.9", "an anycast service address"),
        ("198.18.0.1", "an address reserved for benchmarking"),
        ("4000::1", "a reserved address"),  # outside 2000::/3
        ("::ffff:10.0.0.1", "a private network address"),
        ("2002:c0a8:101::1", "a private network address"),  # 6to4 around 192.168.1.1
    ],
)
def test_named_blocks_say_what_they_are(address, what):
    assert _safety.ip_unsafe_reason(ipaddress.ip_address(address)) == what


@pytest.mark.parametrize("address", ["8.8.8.8", "47.100.1.1", "2606:4700::1111", "2408:4000::1"])
def test_public_addresses_pass(address):
    host = f"[{address}]" if ":" in address else address
    assert check_callback_url(f"https://{host}/cb") is None
