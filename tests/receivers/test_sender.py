"""The safe sender: what a receiver gets, how failures are told, and what is never contacted."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from dashboard.domains.kinds import RECORD
from dashboard.receivers.sender import DNS, REFUSED, TIMEOUT, TLS, SendRefused, deliver
from dashboard.receivers.services import live_signature_headers, sample_body
from tests.conftest import TEAM_DOMAIN


def send(url, *, key="", timeout=None, event="file_created"):
    body = json.dumps(sample_body(kind=RECORD, domain=TEAM_DOMAIN, event=event)).encode()
    return deliver(
        url=url,
        body=body,
        headers=[("Content-Type", "application/json")],
        timeout=timeout,
        sign=live_signature_headers(key),
    )


def test_success_with_signature_checked_independently(receiver):
    key = "AbCdEfGhIjKlMnOp1234"
    result = send(receiver.url("/cb?x=1"), key=key)
    assert result.ok and result.status == 200 and '"Code":0' in result.body
    path, headers, body = receiver.received[0]
    assert path == "/cb?x=1"
    assert headers["Host"] == receiver.host
    payload = json.loads(body)
    assert payload["domain"] == TEAM_DOMAIN and payload["uri"].endswith(".flv")
    assert isinstance(payload["duration"], float)
    ts = headers["ALI-LIVE-TIMESTAMP"]
    assert abs(int(ts) - time.time()) < 10
    # Live signs the URL's host, not the address the connection went to.
    independent = hashlib.md5(f"{receiver.host}|{ts}|{key}".encode()).hexdigest()  # noqa: S324
    assert headers["ALI-LIVE-SIGNATURE"] == independent


def test_status_event_body_is_unsigned_without_a_key(receiver):
    send(receiver.url(), event="record_paused")
    payload = json.loads(receiver.received[0][2])
    assert payload == {
        "domain": TEAM_DOMAIN,
        "app": "live",
        "stream": "dashboard-test",
        "event": "record_paused",
    }
    assert "ALI-LIVE-SIGNATURE" not in receiver.received[0][1]


def test_non_2xx_is_reported_in_plain_words(receiver):
    receiver.status, receiver.body = 500, b"<h1>boom</h1>"
    result = send(receiver.url())
    assert not result.ok and result.status == 500 and result.body == "<h1>boom</h1>"
    assert result.code == "HTTP500"
    assert result.message() == "The receiver answered HTTP 500 Internal Server Error."


def test_redirect_is_not_followed(receiver):
    receiver.status, receiver.location = 302, "http://10.0.0.1/internal"
    result = send(receiver.url())
    assert result.status == 302 and len(receiver.received) == 1


def test_a_silent_receiver_times_out(receiver):
    receiver.delay = 1.5
    result = send(receiver.url(), timeout=0.3)
    assert result.status is None and result.failure == TIMEOUT and result.code == "Timeout"
    assert "did not answer within 0.3 seconds" in result.message()


def test_a_trickling_receiver_is_cut_off_at_the_overall_deadline(receiver):
    """One byte every 0.05 s never trips a per-read timeout; the whole exchange must end."""
    receiver.trickle = 0.05
    started = time.monotonic()
    result = send(receiver.url(), timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"the send took {elapsed:.1f} s against a 1 s deadline"
    assert result.failure == TIMEOUT or result.truncated


def test_large_body_is_truncated(receiver):
    receiver.body = b"x" * 10_000
    result = send(receiver.url())
    assert result.truncated and len(result.body) == 4096


def test_connection_refused_is_said_plainly(settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CALLBACK_PINNED_HOSTS = {"closed.example.net": f"127.0.0.1:{port}"}
    result = send("http://closed.example.net/cb")
    assert result.failure == REFUSED and result.code == "Refused"
    assert result.message() == "The receiver refused the connection: nothing listens on that port."
    assert "ConnectionRefusedError" in result.detail  # the technical detail, kept apart


def test_a_name_that_does_not_resolve_is_a_dns_failure(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("socket.getaddrinfo", no_such_host)
    result = send("https://no-such-host.example.com/cb")
    assert result.failure == DNS and result.code == "DNS"
    assert result.message() == "The receiver's host name does not resolve (DNS)."
    assert "Errno" not in result.message() and "Name or service" in result.detail


@pytest.fixture
def tls_receiver(tmp_path, settings):
    """An HTTPS receiver with a self-signed certificate: not trusted, as Live would find it."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=tls.example.net",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        try:
            conn, _ = server.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1024)
        except (OSError, ssl.SSLError):
            pass

    threading.Thread(target=serve, daemon=True).start()
    settings.CALLBACK_PINNED_HOSTS = {"tls.example.net": f"127.0.0.1:{port}"}
    yield
    server.close()


def test_an_untrusted_certificate_is_a_tls_failure(tls_receiver):
    result = send("https://tls.example.net/cb")
    assert result.failure == TLS and result.code == "TLS"
    assert "The TLS certificate of tls.example.net was not accepted" in result.message()
    assert "_ssl.c" not in result.message() and "CERTIFICATE_VERIFY_FAILED" in result.detail


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/cb",
        "http://10.0.0.1/cb",
        "http://169.254.169.254/",
        "http://localhost/cb",
        "ftp://x.example.com/",
        "http://[::ffff:127.1]:9321/x",
        "http://[::1",
        "http://[fec0::1]/",
        "http://[3fff::1]/",
        "http://192.88.99.1/",
    ],
)
def test_urls_that_may_not_be_contacted_are_refused_before_any_socket(url, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the sender tried to connect")

    monkeypatch.setattr("socket.create_connection", no_network)
    with pytest.raises(SendRefused):
        send(url)


def test_names_resolving_inside_are_refused(monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 80))])
    with pytest.raises(SendRefused) as refused:
        send("http://rebind.example.com/cb")
    assert "private" in refused.value.text()


def test_pinning_applies_to_the_pinned_name_only(receiver, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 80))])
    with pytest.raises(SendRefused):
        send("http://another.example.net/cb")
    assert receiver.received == []


# --- every address, in the resolver's order, within one deadline --------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_when_the_first_address_refuses_the_next_one_is_tried(receiver, settings):
    """It used to try one address (the first in string order, usually IPv6) and give up."""
    settings.CALLBACK_PINNED_HOSTS = {
        receiver.host: f"127.0.0.1:{_closed_port()},127.0.0.1:{receiver.port}"
    }
    result = send(receiver.url())
    assert result.ok and len(receiver.received) == 1


def _infos(*addresses):
    return [(socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, 80)) for a in addresses]


def test_addresses_are_tried_in_the_resolvers_order(monkeypatch):
    # the resolver prefers the IPv4 address; sorting as strings put the IPv6 one first
    order = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: _infos(*order))
    tried = []

    def refuse(address, timeout=None, **kwargs):
        tried.append(address[0])
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("socket.create_connection", refuse)
    result = send("http://dual-stack.example.com/cb")
    assert tried == order and result.failure == REFUSED


def test_every_address_is_checked_not_just_the_first(monkeypatch):
    monkeypatch.setattr(
        "socket.getaddrinfo", lambda *a, **k: _infos("93.184.215.14", "169.254.169.254")
    )
    with pytest.raises(SendRefused) as refused:
        send("http://half-inside.example.com/cb")
    assert "169.254.169.254" in refused.value.text()


def test_a_slow_resolver_counts_against_the_deadline(monkeypatch):
    """Resolution ran before the 5-second deadline started: a slow DNS made sends far longer."""

    def slow(*args, **kwargs):
        time.sleep(3)
        return _infos("93.184.215.14")

    monkeypatch.setattr("socket.getaddrinfo", slow)
    started = time.monotonic()
    result = send("http://slow-dns.example.com/cb", timeout=1.0)
    assert result.failure == TIMEOUT
    assert time.monotonic() - started < 2.0
