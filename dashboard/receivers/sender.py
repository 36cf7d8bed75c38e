"""The one safe way the dashboard POSTs to a callback receiver (test callbacks, redelivery,
alert webhooks).

The URL passes the same rules as the config forms; the host is resolved once, every address
must be public, and the connection goes to the address that was checked (so DNS cannot swap
it afterwards). Redirects are never followed. The whole exchange — connect, TLS, send, read
the status, headers and up to 4 KB of body — ends at the deadline (5 s, as Live's own), however
slowly a receiver trickles its answer.

Failures come back in plain language (DNS, TLS certificate, timeout, refused, HTTP status),
as an English template and parameters so they can be stored and shown in any language; the
technical detail is kept beside them.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from dashboard.contract.text import storable
from dashboard.contract.urlsafety import check_callback_url, ip_unsafe_reason
from dashboard.said import say

MAX_BODY = 4096
USER_AGENT = "live-callback-dashboard/sender"

# Plain-language reasons, one wording for the page, the history and the archive alike.
TIMEOUT, DNS, TLS, REFUSED, CLOSED, NETWORK, HTTP = (
    "timeout",
    "dns",
    "tls",
    "refused",
    "closed",
    "network",
    "http",
)
FAILURES = {
    TIMEOUT: gettext_noop(
        "The receiver did not answer within %(seconds)s seconds (Live gives up then too)."
    ),
    DNS: gettext_noop("The receiver's host name does not resolve (DNS)."),
    TLS: gettext_noop(
        "The TLS certificate of %(host)s was not accepted (expired, self-signed, or not for "
        "this host name)."
    ),
    REFUSED: gettext_noop("The receiver refused the connection: nothing listens on that port."),
    CLOSED: gettext_noop("The receiver closed the connection without a valid HTTP answer."),
    NETWORK: gettext_noop("The connection to the receiver failed."),
    HTTP: gettext_noop("The receiver answered HTTP %(status)s %(reason)s."),
}
CODES = {
    TIMEOUT: "Timeout",
    DNS: "DNS",
    TLS: "TLS",
    REFUSED: "Refused",
    CLOSED: "Closed",
    NETWORK: "Network",
}


class SendRefused(Exception):
    """The URL may not be contacted; nothing was sent. `message` is an English template."""

    code = "NotSent"

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message % (params or {}))
        self.message = message
        self.params = params or {}

    def text(self) -> str:
        return say(self.message, self.params)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    # every address the host resolved to, in the resolver's order (all checked): tried in
    # turn until one answers; each with its port (a pinned test receiver has its own)
    addresses: tuple[tuple[str, int], ...]
    path: str
    pinned: bool = False  # a configured receiver (the demo's, a test's), not a resolved one

    @property
    def address(self) -> str:
        return self.addresses[0][0] if self.addresses else ""


@dataclass(frozen=True)
class Delivery:
    url: str
    address: str
    status: int | None
    reason: str
    elapsed_ms: float
    headers: list[tuple[str, str]]
    body: str
    truncated: bool
    failure: str  # "" when the receiver answered, else one of FAILURES
    detail: str  # the technical detail of a failure (exception text)
    sent_body: str
    sent_headers: list[tuple[str, str]]
    timeout: float = 5.0
    params: dict = field(default_factory=dict)
    host: str = ""  # the URL's host, as the person configured it
    pinned: bool = False  # sent to a configured receiver: its address is not worth showing

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def code(self) -> str:
        """A short code for the audit log: "" when delivered, HTTP404, Timeout, DNS …"""
        if self.ok:
            return ""
        if self.status is not None:
            return f"HTTP{self.status}"
        return CODES.get(self.failure, "Network")

    @property
    def message_template(self) -> str:
        if self.ok:
            return ""
        if self.status is not None:
            return FAILURES[HTTP]
        return FAILURES.get(self.failure, FAILURES[NETWORK])

    @property
    def message_params(self) -> dict:
        if self.status is not None:
            return {"status": self.status, "reason": self.reason}
        return {"seconds": f"{self.timeout:g}", "host": self.host}

    def message(self) -> str:
        """The plain-language outcome in the active language ("" when it worked)."""
        template = self.message_template
        return gettext(template) % self.message_params if template else ""


def _pinned(host: str, port: int, scheme: str = "http") -> list[tuple[str, int]] | None:
    """The configured addresses of a host name: the demo receiver of `make run`, test
    receivers ("address:port", or several separated by commas, tried in order); for https,
    CALLBACK_PINNED_TLS_HOSTS first.

    Set from code only (the sandbox's demo, tests), never from the environment.
    """
    pinned = (
        settings.CALLBACK_PINNED_TLS_HOSTS.get(host.lower()) if scheme == "https" else None
    ) or settings.CALLBACK_PINNED_HOSTS.get(host.lower())
    if not pinned:
        return None
    found = []
    for entry in pinned.split(","):
        address, _, pinned_port = entry.strip().rpartition(":")
        found.append((address.strip("[]"), int(pinned_port) if pinned_port else port))
    return found


def resolve(host: str, port: int, *, timeout: float) -> list[str]:
    """The host's addresses in the resolver's order (its preference), within `timeout`.

    getaddrinfo has no timeout of its own: it runs on a helper thread, and a resolver that has
    not answered in time is a TimeoutError (the thread is left to finish on its own).
    """
    outcome: dict = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"{host} did not resolve within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return list(dict.fromkeys(info[4][0] for info in outcome["infos"]))


def target_of(url: str, *, timeout: float = 5.0) -> Target:
    """Check the URL and resolve its host once, within `timeout`. SendRefused when it may not
    be contacted (any of its addresses is not public); socket.gaierror when the name does not
    resolve; TimeoutError when the resolver is too slow."""
    verdict = check_callback_url(url)
    if verdict is not None:
        raise SendRefused(verdict.message, dict(verdict.params))
    parts = urlsplit(url)  # check_callback_url parsed it already: this cannot fail now
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pinned = _pinned(host, port, scheme)
    if pinned is not None:
        return Target(scheme, host, port, tuple(pinned), path, pinned=True)
    addresses = resolve(host, port, timeout=timeout)
    for address in addresses:
        reason = ip_unsafe_reason(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise SendRefused(
                gettext_noop("The host resolves to %(what)s (%(address)s)."),
                {"what": reason, "address": address},
            )
    return Target(scheme, host, port, tuple((a, port) for a in addresses), path)


def _connect(target: Target, deadline: _Deadline) -> tuple[socket.socket, str]:
    """A connection to the first address that accepts one, in the resolver's order. Each try
    gets a fair share of the time left, so one silent address cannot use up the deadline."""
    last: OSError | None = None
    for index, (address, port) in enumerate(target.addresses):
        left = len(target.addresses) - index
        share = deadline.remaining() if left == 1 else max(1.0, deadline.remaining() / left)
        try:
            return socket.create_connection((address, port), timeout=share), address
        except OSError as exc:  # refused, unreachable, timed out: the next address
            last = exc
            if deadline.remaining() <= 0:
                break
    raise last or OSError("the host has no address")


def _tls_context(target: Target) -> ssl.SSLContext:
    """The system's trusted authorities; for a pinned demo host, the demo's own authority
    (CALLBACK_PINNED_CA) — for those hosts only, the name still checked."""
    if target.pinned and settings.CALLBACK_PINNED_CA:
        return ssl.create_default_context(cafile=settings.CALLBACK_PINNED_CA)
    return ssl.create_default_context()


class _Deadline:
    """Shuts the socket down when the deadline passes, whatever the socket is waiting for."""

    def __init__(self, ends_at: float):
        self.ends_at = ends_at
        self.fired = False
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.ends_at - time.monotonic()
        if left <= 0:
            self.fired = True
            raise TimeoutError("deadline passed")
        return left

    def arm(self, sock: socket.socket) -> None:
        def fire():
            self.fired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        self._timer = threading.Timer(max(0.0, self.ends_at - time.monotonic()), fire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _classify(exc: BaseException, deadline: _Deadline) -> str:
    if deadline.fired or isinstance(exc, TimeoutError | socket.timeout):
        return TIMEOUT
    if isinstance(exc, socket.gaierror):
        return DNS
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TLS
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, ConnectionResetError | http.client.HTTPException | EOFError):
        return CLOSED
    return NETWORK


def deliver(
    *,
    url: str,
    body: bytes,
    headers: list[tuple[str, str]],
    timeout: float | None = None,
    sign: Callable[[str], list[tuple[str, str]]] | None = None,
    method: str = "POST",
) -> Delivery:
    """POST `body` to `url` the way Live would (or GET it, with no body: stream callbacks).
    Raises SendRefused when it may not be sent.

    `sign(host)` returns extra headers computed from the host actually contacted (Live's
    ALI-LIVE-SIGNATURE covers the URL's host).
    """
    timeout = settings.CALLBACK_TEST_TIMEOUT if timeout is None else timeout
    # one deadline for everything, the name's resolution included
    deadline = _Deadline(time.monotonic() + timeout)
    started = time.perf_counter()
    sent_headers = [("User-Agent", USER_AGENT), *headers]
    address, status, reason, resp_headers, text, truncated = "", None, "", [], "", False
    failure, detail = "", ""
    sock = None
    host, pinned = _host_of(url), False
    try:
        target = target_of(url, timeout=deadline.remaining())
        address, pinned = target.address, target.pinned
        if sign is not None:
            sent_headers += sign(target.host)
        sock, address = _connect(target, deadline)
        deadline.arm(sock)
        if target.scheme == "https":
            sock = _tls_context(target).wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(deadline.remaining())
        conn = http.client.HTTPConnection(address, target.port)
        conn.sock = sock
        conn.putrequest(method, target.path, skip_host=True, skip_accept_encoding=True)
        default_port = 443 if target.scheme == "https" else 80
        port_part = "" if _url_port(url) in (None, default_port) else f":{_url_port(url)}"
        conn.putheader("Host", f"{target.host}{port_part}")
        for name, value in sent_headers:
            conn.putheader(name, value)
        if method != "GET":
            conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Connection", "close")
        conn.endheaders(body)
        response = conn.getresponse()
        if deadline.fired:
            # The socket was shut down mid-headers: what http.client parsed is not an answer.
            raise TimeoutError("no complete answer before the deadline")
        # a receiver's words are stored (attempts, the audit log): nothing a database refuses
        status, reason = response.status, storable(response.reason or "")
        resp_headers = [(storable(k), storable(v)) for k, v in response.getheaders()]
        raw = response.read(MAX_BODY + 1)
        truncated = len(raw) > MAX_BODY or deadline.fired
        text = storable(raw[:MAX_BODY].decode("utf-8", "replace"))
    except SendRefused:
        raise
    except (OSError, http.client.HTTPException, ValueError, EOFError) as exc:
        if status is None:
            failure = _classify(exc, deadline)
            detail = storable(f"{type(exc).__name__}: {exc}")
        elif deadline.fired:
            truncated = True  # headers came, the body did not finish in time
    finally:
        deadline.disarm()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
    return Delivery(
        url=url,
        address=address,
        status=status,
        reason=reason,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        headers=resp_headers,
        body=text,
        truncated=truncated,
        failure=failure,
        detail=detail,
        sent_body=body.decode("utf-8", "replace"),
        sent_headers=sent_headers,
        timeout=timeout,
        host=host,
        pinned=pinned,
    )


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _url_port(url: str) -> int | None:
    return urlsplit(url).port
