"""Is a callback URL acceptable? The rules the Live service applies to NotifyUrl/OnDemandUrl.

Two verdicts, mirroring the service's error codes: *Malformed* (not an http(s) URL, not
URL-encoded, unparseable) and *Unsafe* (a target that is not a public Internet host:
loopback, private, link-local, CGNAT, multicast, reserved, cloud metadata, in any of the
numeric spellings that resolvers accept). The same function serves the dashboard's forms
(before any upstream call) and the sandbox (as the service's verdict), so they never
disagree. Hostname resolution is optional; when used, every resolved address must be safe.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

MALFORMED = "malformed"
UNSAFE = "unsafe"


def gettext_noop(message: str) -> str:
    """Mark a message for the dashboard's translation catalogue; here it stays English.

    The sandbox answers in English as Alibaba Cloud does; the dashboard translates a
    verdict with UrlVerdict.translated().
    """
    return message


@dataclass(frozen=True)
class UrlVerdict:
    kind: str  # MALFORMED or UNSAFE
    message: str  # an English %-template marked for translation
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def unsafe(self) -> bool:
        return self.kind != MALFORMED

    @property
    def reason(self) -> str:
        """The explanation in English (the sandbox's upstream-style message)."""
        return self.message % dict(self.params)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The explanation in the active language; `what` is itself a marked phrase."""
        params = {
            key: gettext(value) if key == "what" else value for key, value in self.params.items()
        }
        return gettext(self.message) % params


# Characters allowed to appear literally in a URL-encoded URL (RFC 3986 unreserved +
# reserved + the percent sign that starts an escape).
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")

# Names that always mean "this machine" or an internal network, whatever DNS says.
_INTERNAL_NAMES = {
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "metadata.google.internal",
    "instance-data",
}
_INTERNAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home.arpa",
    ".corp",
)

# Cloud metadata services (Alibaba Cloud's 100.100.100.200 sits in CGNAT space and
# 169.254.169.254 in link-local, but name them so the message is specific).
_METADATA_IPS = {
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}

LOOPBACK = gettext_noop("a loopback address")
UNSPECIFIED = gettext_noop("the unspecified address")
LINK_LOCAL = gettext_noop("a link-local address")
MULTICAST = gettext_noop("a multicast address")
SHARED = gettext_noop("a carrier-grade NAT (shared) address")
PRIVATE = gettext_noop("a private network address")
RESERVED = gettext_noop("a reserved address")
DOCUMENTATION = gettext_noop("an address reserved for documentation")
BENCHMARKING = gettext_noop("an address reserved for benchmarking")
PROTOCOL = gettext_noop("an address the IETF reserved for protocols")
ANYCAST = gettext_noop("an anycast service address")
BROADCAST = gettext_noop("the broadcast address")
SITE_LOCAL = gettext_noop("a site-local address")
DISCARD = gettext_noop("a discard-only address")
NOT_PUBLIC = gettext_noop("an address outside the public Internet")

# The IANA IPv4 and IPv6 Special-Purpose Address Registries (and the multicast and
# deprecated site-local blocks), checked explicitly rather than trusting `is_global`, whose
# view of the registries depends on the Python version. Not one of these is a place a
# callback may go — not even the entries the registry marks globally reachable (anycast
# services such as AS112 and TURN): none of them is a customer's receiver. More specific
# entries come first, so the message names the narrowest block. docs/live-api.md has the
# sources.
IPV4_SPECIAL = [
    ("0.0.0.0/32", UNSPECIFIED),
    ("0.0.0.0/8", NOT_PUBLIC),  # "this network"
    ("10.0.0.0/8", PRIVATE),
    ("100.64.0.0/10", SHARED),
    ("127.0.0.0/8", LOOPBACK),
    ("169.254.0.0/16", LINK_LOCAL),
    ("172.16.0.0/12", PRIVATE),
    ("192.0.0.9/32", ANYCAST),  # Port Control Protocol anycast
    ("192.0.0.10/32", ANYCAST),  # TURN anycast
    ("192.0.0.0/24", PROTOCOL),  # incl. service continuity, dummy, NAT64 discovery
    ("192.0.2.0/24", DOCUMENTATION),
    ("192.31.196.0/24", ANYCAST),  # AS112-v4
    ("192.52.193.0/24", ANYCAST),  # AMT
    ("192.88.99.0/24", RESERVED),  # deprecated 6to4 relay anycast
    ("192.168.0.0/16", PRIVATE),
    ("192.175.48.0/24", ANYCAST),  # direct delegation AS112
    ("198.18.0.0/15", BENCHMARKING),
    ("198.51.100.0/24", DOCUMENTATION),
    ("203.0.113.0/24", DOCUMENTATION),
    ("224.0.0.0/4", MULTICAST),
    ("255.255.255.255/32", BROADCAST),
    ("240.0.0.0/4", RESERVED),
]
IPV6_SPECIAL = [
    ("::1/128", LOOPBACK),
    ("::/128", UNSPECIFIED),
    ("64:ff9b:1::/48", gettext_noop("a local-use NAT64 address")),
    ("100::/64", DISCARD),
    ("100:0:0:1::/64", RESERVED),  # dummy prefix
    ("2001::/32", gettext_noop("a Teredo tunnel address")),
    ("2001:1::1/128", ANYCAST),  # PCP anycast
    ("2001:1::2/128", ANYCAST),  # TURN anycast
    ("2001:1::3/128", ANYCAST),  # DNS-SD service registration anycast
    ("2001:2::/48", BENCHMARKING),
    ("2001:3::/32", ANYCAST),  # AMT
    ("2001:4:112::/48", ANYCAST),  # AS112-v6
    ("2001:10::/28", PROTOCOL),  # deprecated ORCHID
    ("2001:20::/28", PROTOCOL),  # ORCHIDv2
    ("2001:30::/28", PROTOCOL),  # drone remote ID entity tags
    ("2001::/23", PROTOCOL),
    ("2001:db8::/32", DOCUMENTATION),
    ("2620:4f:8000::/48", ANYCAST),  # direct delegation AS112
    ("3fff::/20", DOCUMENTATION),
    ("5f00::/16", PROTOCOL),  # SRv6 segment identifiers
    ("fc00::/7", PRIVATE),  # unique local
    ("fe80::/10", LINK_LOCAL),
    ("fec0::/10", SITE_LOCAL),  # deprecated, still routed inside some networks
    ("ff00::/8", MULTICAST),
]
_IPV4_TABLE = [(ipaddress.IPv4Network(net), why) for net, why in IPV4_SPECIAL]
_IPV6_TABLE = [(ipaddress.IPv6Network(net), why) for net, why in IPV6_SPECIAL]
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_6TO4 = ipaddress.IPv6Network("2002::/16")


def _parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Parse IPv4 the way inet_aton does: 1–4 parts, each decimal, octal (0…) or hex (0x…).

    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` are all 127.0.0.1 to a resolver.
    Returns None when the host is not such a number; raises ValueError when it looks like
    one but is out of range.
    """
    if not _NUMERIC_HOST.fullmatch(host) or not any(ch.isdigit() for ch in host):
        return None
    parts = host.split(".")
    if len(parts) > 4 or any(part == "" for part in parts):
        return None
    numbers = []
    for part in parts:
        try:
            if part.startswith(("0x", "0X")):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError("IPv4 address out of range")
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (5 - len(numbers)) + last
    return ipaddress.IPv4Address(value)


def ip_unsafe_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is not a public Internet host, or None when it is."""
    if ip in _METADATA_IPS:
        return gettext_noop("a cloud metadata service address")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _MAPPED:
            return ip_unsafe_reason(ip.ipv4_mapped)
        if ip in _NAT64:
            return ip_unsafe_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)) or (
                gettext_noop("a NAT64 address")
            )
        if ip in _6TO4:
            inner = ip_unsafe_reason(ip.sixtofour)
            return inner or gettext_noop("a 6to4 relay address")
        if int(ip) >> 32 == 0 and int(ip) > 1:
            return gettext_noop("an IPv4-compatible IPv6 address")
        for network, why in _IPV6_TABLE:
            if ip in network:
                return why
        if ip not in _GLOBAL_UNICAST:
            return RESERVED  # the IETF has allocated only 2000::/3 for global unicast
    else:
        for network, why in _IPV4_TABLE:
            if ip in network:
                return why
    if not ip.is_global:
        return NOT_PUBLIC  # a block registered after this table was written
    return None


# every printable ASCII character: what percent-encoding leaves as it is (only text beyond
# ASCII is encoded, as UTF-8)
_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))


def ascii_host(name: str) -> str:
    """A host name as URLs and Live carry it: one in another script in its IDNA form
    (`回调.example.cn` → `xn--zbss05j.example.cn`); an ASCII one, or one IDNA cannot write (a
    label too long, a character that draws nothing), as given."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name


def readable_host(name: str) -> str:
    """A host name Live carries in IDNA form as people write it (`xn--z6ut02b.example.cn` →
    `直播.example.cn`); "" for a name with no such label, or one that does not decode."""
    if "xn--" not in name.lower():
        return ""
    try:
        readable = name.encode("ascii").decode("idna")
    except UnicodeError:
        return ""
    return readable if readable != name.lower() else ""


def _in_ascii(url: str) -> str | None:
    """`url` as it must be written, when all that stops it is text beyond ASCII a person typed
    on purpose: a host name of another script in its IDNA form (xn--…), the rest percent-encoded
    as UTF-8. None when an ASCII character must be encoded too, or one draws nothing (a
    zero-width space, a full-width space): the message names that one instead."""
    for ch in url:
        if not ch.isprintable() or (ch.isascii() and not _URL_CHARS.fullmatch(ch)):
            return None
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracket that is no address
        return None
    netloc = ascii_host(parts.netloc)
    if not netloc.isascii():  # a label IDNA cannot write (too long)
        return None
    encoded = (quote(part, safe=_ASCII) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, *encoded))


def _points_at(reason: str | None) -> UrlVerdict | None:
    if reason is None:
        return None
    return UrlVerdict(UNSAFE, gettext_noop("The URL points at %(what)s."), {"what": reason})


def check_callback_url(
    url: str,
    *,
    max_length: int | None = None,
    resolve: Callable[[str], list[str]] | None = None,
) -> UrlVerdict | None:
    """Return None when the URL is acceptable, otherwise the verdict and a human reason."""
    if not isinstance(url, str) or not url:
        return UrlVerdict(MALFORMED, gettext_noop("The URL is empty."))
    if max_length is not None and len(url) > max_length:
        return UrlVerdict(
            MALFORMED,
            gettext_noop("The URL is longer than %(max)d characters."),
            {"max": max_length},
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return UrlVerdict(MALFORMED, gettext_noop("The URL contains control characters."))
    if any(ch.isspace() for ch in url):
        return UrlVerdict(
            MALFORMED, gettext_noop("The URL contains whitespace; URL-encode it (%%20).")
        )
    lowered = url.lower()
    if not lowered.startswith(("http://", "https://")):
        return UrlVerdict(MALFORMED, gettext_noop("The URL must start with http:// or https://."))
    if not _URL_CHARS.fullmatch(url):
        # named, since the one a person pasted may draw nothing (a zero-width space, U+200B)
        ch = url[_URL_CHARS.match(url).end()]
        if written := _in_ascii(url):  # text of another script, typed on purpose
            named = {"char": f"“{ch}” (U+{ord(ch):04X})", "url": written}
            if not urlsplit(url).netloc.isascii():  # a look-alike letter shows as what it is
                return UrlVerdict(
                    MALFORMED,
                    gettext_noop(
                        "The URL's host name has characters beyond ASCII (the first is "
                        "%(char)s): written in its ASCII (IDNA) form, the URL reads %(url)s"
                    ),
                    named,
                )
            return UrlVerdict(
                MALFORMED,
                gettext_noop(
                    "The URL contains characters that must be URL-encoded (percent-encoded): "
                    "the first is %(char)s. Encoded, it reads %(url)s"
                ),
                named,
            )
        return UrlVerdict(
            MALFORMED,
            gettext_noop(
                "The URL contains characters that must be URL-encoded (percent-encoded): "
                "the first is %(char)s."
            ),
            {"char": f"“{ch}” (U+{ord(ch):04X})" if ch.isprintable() else f"U+{ord(ch):04X}"},
        )
    if _BAD_ESCAPE.search(url):
        return UrlVerdict(MALFORMED, gettext_noop("The URL contains a broken percent-escape."))
    if "\\" in url:
        return UrlVerdict(MALFORMED, gettext_noop("The URL contains a backslash."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return UrlVerdict(
            MALFORMED, gettext_noop("The URL cannot be parsed (%(detail)s)."), {"detail": str(exc)}
        )
    if port == 0:
        return UrlVerdict(MALFORMED, gettext_noop("The URL's port is not valid."))
    netloc = parts.netloc
    if "@" in netloc:
        return UrlVerdict(UNSAFE, gettext_noop("The URL must not contain a user name or password."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return UrlVerdict(MALFORMED, gettext_noop("The URL has no host."))
    if "%" in host:
        return UrlVerdict(MALFORMED, gettext_noop("The URL's host must not be percent-encoded."))

    if netloc.split(":")[0].startswith("[") or ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            return UrlVerdict(MALFORMED, gettext_noop("The URL's IPv6 address is not valid."))
        reason = ip_unsafe_reason(ip6)
        return _points_at(reason)

    try:
        ip4 = _parse_ipv4_loose(host)
    except ValueError:
        return UrlVerdict(MALFORMED, gettext_noop("The URL's IP address is out of range."))
    if ip4 is not None:
        reason = ip_unsafe_reason(ip4)
        return _points_at(reason)

    labels = host.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return UrlVerdict(MALFORMED, gettext_noop("The URL's host name is not valid."))
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return UrlVerdict(UNSAFE, gettext_noop("The URL points at a local or internal host name."))
    if len(labels) < 2:
        return UrlVerdict(
            UNSAFE, gettext_noop("The URL's host must be a fully qualified public domain name.")
        )
    if labels[-1].isdigit():
        return UrlVerdict(MALFORMED, gettext_noop("The URL's host name is not valid."))

    if resolve is not None:
        try:
            addresses = resolve(host)
        except OSError:
            return UrlVerdict(UNSAFE, gettext_noop("The URL's host name does not resolve."))
        if not addresses:
            return UrlVerdict(UNSAFE, gettext_noop("The URL's host name does not resolve."))
        for address in addresses:
            reason = ip_unsafe_reason(ipaddress.ip_address(address.split("%")[0]))
            if reason:
                return UrlVerdict(
                    UNSAFE,
                    gettext_noop("The URL's host name resolves to %(what)s."),
                    {"what": reason},
                )
    return None


def resolve_host(host: str) -> list[str]:
    """Every address a host name resolves to (used when resolution is switched on)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})
