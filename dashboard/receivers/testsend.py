"""Send a sample callback to a receiver, the way Live would, safely.

The URL passes the same rules as the config forms; the host is resolved once, every address
must be public, and the connection goes to the address that was checked (so DNS cannot swap
it afterwards). POST, JSON body, 5 s timeout, redirects never followed, response truncated.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext

from dashboard.contract.urlsafety import UNSAFE, check_callback_url, ip_unsafe_reason

from .signature import sign

MAX_BODY = 4096
USER_AGENT = "live-callback-dashboard/test-sender"


class SendRefused(Exception):
    """The URL may not be contacted; nothing was sent."""


@dataclass(frozen=True)
class SendResult:
    url: str
    address: str
    status: int | None
    reason: str
    elapsed_ms: float
    headers: list[tuple[str, str]]
    body: str
    truncated: bool
    error: str
    sent_body: str
    sent_headers: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _loopback_allowed() -> bool:
    # Tests only: settings.py pins this off outside the test suite, and no variable sets it.
    return bool(getattr(settings, "CALLBACK_TEST_ALLOW_LOOPBACK", False)) and settings.TESTING


def sample_body(*, kind: str, domain: str, event: str, now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.UTC)
    app, stream = "live", "dashboard-test"
    if kind == "snapshot":
        # The snapshot callback body is not documented publicly (UNCONFIRMED).
        return {
            "domain": domain,
            "app": app,
            "stream": stream,
            "event": "snapshot",
            "oss_object": f"snapshot/{app}/{stream}/{int(now.timestamp())}.jpg",
            "timestamp": int(now.timestamp()),
        }
    if event in {"record_started", "record_paused", "record_resumed"}:
        return {"domain": domain, "app": app, "stream": stream, "event": event}
    start = now - dt.timedelta(seconds=69)
    return {
        "domain": domain,
        "app": app,
        "stream": stream,
        "uri": f"{app}/{stream}/0_{start:%Y-%m-%d-%H:%M:%S}_{now:%Y-%m-%d-%H:%M:%S}.flv",
        "duration": 69.403,
        "start_time": int(start.timestamp()),
        "stop_time": int(now.timestamp()),
        "push_args": {"test": "true"},
    }


def _checked_address(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to), or SendRefused."""
    verdict = check_callback_url(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    allow_loopback = _loopback_allowed()
    if verdict is not None:
        loopback_only = (
            verdict.kind == UNSAFE and allow_loopback and host in {"127.0.0.1", "localhost", "::1"}
        )
        if not loopback_only:
            raise SendRefused(verdict.translated(gettext))
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise SendRefused(
            gettext("The host name does not resolve (%(detail)s).") % {"detail": exc}
        ) from None
    addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        reason = ip_unsafe_reason(ip)
        if reason and not (allow_loopback and ip.is_loopback):
            raise SendRefused(
                gettext("The host resolves to %(what)s (%(address)s).")
                % {"what": gettext(reason), "address": address}
            )
    return parts.scheme.lower(), host, port, addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with SNI and certificate checks for the real host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send_test_callback(
    *,
    url: str,
    kind: str,
    domain: str,
    event: str = "file_created",
    auth_key: str = "",
    timeout: float | None = None,
) -> SendResult:
    scheme, host, port, address = _checked_address(url)
    timeout = settings.CALLBACK_TEST_TIMEOUT if timeout is None else timeout
    body = json.dumps(sample_body(kind=kind, domain=domain, event=event), separators=(",", ":"))
    headers = [("Content-Type", "application/json"), ("User-Agent", USER_AGENT)]
    if auth_key:
        timestamp = str(int(time.time()))
        headers += [
            ("ALI-LIVE-TIMESTAMP", timestamp),
            ("ALI-LIVE-SIGNATURE", sign(host, timestamp, auth_key)),
        ]
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPS(address, host, port, timeout)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    started = time.perf_counter()
    status, reason, resp_headers, text, truncated, error = None, "", [], "", False, ""
    try:
        conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if port in (80, 443) else f"{host}:{port}")
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body.encode())))
        conn.endheaders(body.encode())
        response = conn.getresponse()
        status, reason = response.status, response.reason
        resp_headers = list(response.getheaders())
        raw = response.read(MAX_BODY + 1)
        truncated = len(raw) > MAX_BODY
        text = raw[:MAX_BODY].decode("utf-8", "replace")
    except TimeoutError:
        error = f"No answer within {timeout:g} s (Live gives up after 5 s)."
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return SendResult(
        url=url,
        address=address,
        status=status,
        reason=reason,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        headers=resp_headers,
        body=text,
        truncated=truncated,
        error=error,
        sent_body=body,
        sent_headers=[(n, v) for n, v in headers],
    )
