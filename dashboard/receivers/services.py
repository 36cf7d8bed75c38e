"""Test callbacks: send a sample callback to a receiver the way Live would, and audit it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings

from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.contract.api import STREAM_NOTIFY_TYPES, parse_json_tolerant
from dashboard.contract.urlsafety import check_callback_url
from dashboard.domains.kinds import ConfigKind
from dashboard.domains.models import Domain
from dashboard.domains.selectors import upstream_config
from dashboard.ops.shared import allow

from .sender import Delivery, SendRefused, deliver
from .signature import sign


class NotConfigured(Exception):
    """There is no saved callback of this kind to test."""


class RateLimited(Exception):
    """Too many test callbacks from this person in the last minute."""


def sample_body(
    *, kind: ConfigKind, domain: str, event: str, now: dt.datetime | None = None
) -> dict:
    """A callback body in the documented shape (docs/live-api.md, "Callbacks")."""
    now = now or dt.datetime.now(dt.UTC)
    return SAMPLE_BODIES[kind.name](domain, "live", "dashboard-test", event, now)


def _snapshot_body(domain: str, app: str, stream: str, event: str, now: dt.datetime) -> dict:
    # The snapshot callback body is not documented publicly (UNCONFIRMED).
    return {
        "domain": domain,
        "app": app,
        "stream": stream,
        "event": "snapshot",
        "oss_object": f"snapshot/{app}/{stream}/{int(now.timestamp())}.jpg",
        "timestamp": int(now.timestamp()),
    }


def _stream_params(domain: str, app: str, stream: str, event: str, now: dt.datetime) -> dict:
    """A stream callback's parameters (STREAM-CALLBACKS.md 3.2); `app` is the ingest domain."""
    return {
        "action": event if event in STREAM_NOTIFY_TYPES else "publish",
        "ip": "203.0.113.10",
        "id": stream,
        "app": domain,
        "appname": app,
        "time": int(now.timestamp()),
        "usrargs": "test=true",
        "node": "dashboard-test",
        "height": 720,
        "width": 1280,
    }


def _record_body(domain: str, app: str, stream: str, event: str, now: dt.datetime) -> dict:
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


# Each config kind's test callback body, by the kind's name.
SAMPLE_BODIES = {"record": _record_body, "snapshot": _snapshot_body, "stream": _stream_params}


def callback_deliver(
    *,
    kind: ConfigKind,
    url: str,
    body: bytes,
    headers: list[tuple[str, str]],
    key: str,
    domain_name: str,
) -> Delivery:
    """Send one callback of `kind` the way Live sends it. Recording and snapshot callbacks: a
    POST of `body`, signed over the contacted host. Stream callbacks: a GET with the
    parameters `body` holds (a JSON object, as NotifyContent records them) in the query,
    signed over the ingest domain. Raises SendRefused."""
    if kind.name != "stream":
        return deliver(url=url, body=body, headers=headers, sign=live_signature_headers(key))
    params = parse_json_tolerant(body.decode("utf-8", "replace"))
    query = (
        urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})
        if isinstance(params, dict)
        else ""
    )
    joiner = "&" if "?" in url else "?"
    return deliver(
        url=url + (joiner + query if query else ""),
        body=b"",
        headers=[(name, value) for name, value in headers if name.lower() != "content-type"],
        sign=live_signature_headers(key, domain=domain_name),
        method="GET",
    )


def live_signature_headers(
    key: str, *, domain: str | None = None
) -> Callable[[str], list[tuple[str, str]]]:
    """ALI-LIVE-TIMESTAMP / ALI-LIVE-SIGNATURE as Live signs: over the contacted host, or for
    a stream callback over its ingest `domain`."""

    def headers(host: str) -> list[tuple[str, str]]:
        if not key:
            return []
        timestamp = str(int(time.time()))
        return [
            ("ALI-LIVE-TIMESTAMP", timestamp),
            ("ALI-LIVE-SIGNATURE", sign(domain or host, timestamp, key)),
        ]

    return headers


def _over_rate(user) -> bool:
    """At most CALLBACK_TEST_PER_MINUTE test sends per user per minute, counted across every
    process (Redis, or the database without it)."""
    return not allow(f"testsend:{user.pk}", limit=settings.CALLBACK_TEST_PER_MINUTE, per_seconds=60)


def test_callback_send(
    *,
    domain: Domain,
    kind: ConfigKind,
    actor,
    client_ip: str | None,
    url: str = "",
    req_auth: bool = False,
    key: str = "",
    event: str = "file_created",
) -> Delivery:
    """Send one sample callback. An empty `url` tests the saved config (its URL and key, fetched
    from the Live API). Raises NotConfigured, SendRefused, RateLimited or UpstreamError."""
    if not url or (req_auth and not key):
        current = upstream_config(domain_name=domain.name, kind=kind)
        if current is None and not url:
            raise NotConfigured
        if not url:
            url = current.notify_url
            key = current.notify_auth_key if current.notify_req_auth else ""
        elif current is not None:
            key = current.notify_auth_key
    elif not req_auth:
        key = ""
    audit = {
        "domain": domain,
        "kind": kind,
        "action": AuditEntry.Action.TEST,
        "actor": actor,
        "client_ip": client_ip,
    }
    body = json.dumps(
        sample_body(kind=kind, domain=domain.name, event=event), separators=(",", ":")
    ).encode()
    try:
        _check(url)  # before the rate limit: a refused URL costs no attempt
        if _over_rate(actor):
            raise RateLimited
        delivery = callback_deliver(
            kind=kind,
            url=url,
            body=body,
            headers=[("Content-Type", "application/json")],
            key=key,
            domain_name=domain.name,
        )
    except SendRefused as refused:  # the URL's rules, or a host that resolves inward
        audit_entry_create(
            **audit,
            outcome=AuditEntry.Outcome.FAILED,
            after={"notify_url": url},
            error_code=refused.code,
            error_message=refused.message,
            error_params=refused.params,
        )
        raise
    audit_entry_create(
        **audit,
        outcome=AuditEntry.Outcome.SUCCESS if delivery.ok else AuditEntry.Outcome.FAILED,
        after={
            "notify_url": url,
            "status": delivery.status,
            "elapsed_ms": round(delivery.elapsed_ms),
            "signed": bool(key),
        },
        error_code=delivery.code,
        error_message=delivery.message_template,
        error_params=delivery.message_params if delivery.message_template else None,
    )
    return delivery


def _check(url: str) -> None:
    """The URL rules alone (no network): refused before anything counts against the limit."""
    verdict = check_callback_url(url)
    if verdict is not None:
        raise SendRefused(verdict.message, dict(verdict.params))
