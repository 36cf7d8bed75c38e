"""The sandbox's WSGI application: RPC requests on `/`, authenticated, throttled, answered.

`application` serves the embedded upstream (through httpx's WSGI transport) and the
standalone `manage.py runsandbox` server alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

import orjson
from django.conf import settings

from dashboard.contract import api, signing

from .errors import (
    ConnectionDropped,
    SandboxError,
    forbidden,
    invalid_signature_method,
    invalid_signature_version,
    invalid_version,
    missing,
)
from .faults import FaultInjector
from .operations import HANDLERS
from .throttle import Throttle
from .xml import to_xml

logger = logging.getLogger(__name__)

HOST_ID = "live.aliyuncs.com"
MAX_SKEW = dt.timedelta(minutes=15)
NONCE_TTL = 20 * 60.0
MAX_BODY = 64 * 1024

throttle = Throttle(enabled=settings.LIVE_SANDBOX.get("THROTTLE", True))
faults = FaultInjector(settings.LIVE_SANDBOX.get("FAULTS", ""))


class NonceStore:
    """Nonces seen in the last 20 minutes (the service remembers them at least 15)."""

    def __init__(self, ttl: float = NONCE_TTL):
        self.ttl = ttl
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def use(self, nonce: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            if now >= self._next_sweep:
                self._seen = {n: t for n, t in self._seen.items() if t > now - self.ttl}
                self._next_sweep = now + 60
            seen_at = self._seen.get(nonce)
            if seen_at is not None and seen_at > now - self.ttl:
                return False
            self._seen[nonce] = now
            return True


nonces = NonceStore()


class Stats:
    """Counters tests and benchmarks read (calls per action, throttled, faults)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def count(self, action: str) -> None:
        with self.lock:
            self.calls[action] = self.calls.get(action, 0) + 1

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


stats = Stats()


# A second RAM user that may only read: its writes are refused with Forbidden.
READONLY_ACCESS_KEY_ID = "sandbox-readonly"
READONLY_ACCESS_KEY_SECRET = "sandbox-readonly-secret"  # noqa: S105 - sandbox-only credential
_READ_ACTIONS = {a for a in api.ACTIONS if a.startswith("Describe")}


def credentials() -> dict[str, str]:
    return {
        settings.LIVE_SANDBOX_ACCESS_KEY_ID: settings.LIVE_SANDBOX_ACCESS_KEY_SECRET,
        READONLY_ACCESS_KEY_ID: READONLY_ACCESS_KEY_SECRET,
    }


def _parse_date(text: str) -> dt.datetime | None:
    try:
        return api.parse_time(text)
    except ValueError:
        return None


def _check_time(moment: dt.datetime | None) -> None:
    now = dt.datetime.now(dt.UTC)
    if moment is None or abs(now - moment) > MAX_SKEW:
        raise SandboxError(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )


def _secret_for(access_key_id: str) -> str:
    secret = credentials().get(access_key_id)
    if secret is None:
        raise SandboxError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    return secret


def _use_nonce(nonce: str) -> None:
    if not nonce:
        raise SandboxError("MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
    if not nonces.use(nonce):
        raise SandboxError("SignatureNonceUsed", "Specified signature nonce was used already.")


def _mismatch(string_to_sign: str) -> SandboxError:
    # The old SDK splits this message on ":" to show the server's string to sign.
    return SandboxError(
        "SignatureDoesNotMatch",
        "Specified signature does not match our calculation. "
        f"server string to sign is:{string_to_sign}",
    )


def _check_version(version: str | None) -> None:
    if not version:
        raise missing("Version")
    if version != api.API_VERSION:
        raise invalid_version()


def authenticate(
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    form: dict[str, str],
) -> tuple[str, str]:
    """Check the common parameters and verify the signature; returns (access key id, action).

    V3 signs the query string only and covers the body with x-acs-content-sha256, so a form
    body's parameters are checked through that hash. RPC v1 signs every parameter, query and
    form body alike.
    """
    authorization = headers.get("authorization", "")
    if authorization:
        _check_version(headers.get("x-acs-version"))
        fields = signing.parse_authorization_v3(authorization)
        if fields is None:
            raise SandboxError(
                "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        access_key_id = fields["Credential"]
        secret = _secret_for(access_key_id)
        _check_time(_parse_date(headers.get("x-acs-date", "")))
        body_hash = hashlib.sha256(body).hexdigest()
        if headers.get("x-acs-content-sha256", body_hash) != body_hash:
            raise SandboxError(
                "IncompleteSignature", "x-acs-content-sha256 does not match the body."
            )
        signed = [name for name in fields["SignedHeaders"].split(";") if name]
        if "host" not in signed or "x-acs-action" not in signed:
            raise SandboxError(
                "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        canonical = signing.canonical_request_v3(
            method=method,
            params=query,
            headers=headers,
            signed_headers=signed,
            body_sha256=body_hash,
        )
        string_to_sign = signing.string_to_sign_v3(canonical)
        expected = signing.signature_v3(secret, string_to_sign)
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise _mismatch(string_to_sign)
        _use_nonce(headers.get("x-acs-signature-nonce", ""))
        action = headers.get("x-acs-action") or query.get("Action", "")
        return access_key_id, action

    params = {**query, **form}
    if "Signature" in params:
        _check_version(params.get("Version"))
        if not params.get("SignatureMethod"):
            raise missing("SignatureMethod")
        if params["SignatureMethod"] != "HMAC-SHA1":
            raise invalid_signature_method()
        if not params.get("SignatureVersion"):
            raise missing("SignatureVersion")
        if params["SignatureVersion"] != "1.0":
            raise invalid_signature_version()
        access_key_id = params.get("AccessKeyId", "")
        if not access_key_id:
            raise missing("AccessKeyId")
        secret = _secret_for(access_key_id)
        _check_time(_parse_date(params.get("Timestamp", "")))
        string_to_sign = signing.string_to_sign_v1(method, params)
        expected = signing.signature_v1(secret, string_to_sign)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise _mismatch(string_to_sign)
        _use_nonce(params.get("SignatureNonce", ""))
        return access_key_id, params.get("Action", "")

    raise SandboxError(
        "IncompleteSignature", "The request signature does not conform to Aliyun standards."
    )


def _api_params(params: dict[str, str]) -> dict[str, str]:
    common = {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
        "SignatureType",
        "RegionId",
        "SecurityToken",
    }
    return {k: v for k, v in params.items() if k not in common}


def handle(
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    form: dict[str, str],
) -> tuple[str, dict]:
    """Answer one request: (action, JSON-shaped answer); errors raise SandboxError."""
    access_key_id, action = authenticate(method, query, headers, body, form)
    params = {**query, **form}
    handler = HANDLERS.get(action)
    if handler is None:
        raise SandboxError(
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
            404,
        )
    stats.count(action)
    if not throttle.allow(access_key_id, action):
        raise SandboxError("Throttling.User", "Request was denied due to user flow control.")
    fault = faults.apply(action)
    if access_key_id == READONLY_ACCESS_KEY_ID and action not in _READ_ACTIONS:
        raise forbidden()
    api_params = _api_params(params)
    for name in api.REQUIRED_PARAMS[action]:
        # The gateway checks presence; empty values are each operation's own business.
        if name not in api_params:
            raise missing(name)
    answer = handler(api_params)
    faults.after(action, fault)
    return action, answer


def _wants_xml(query: dict[str, str], form: dict[str, str], headers: dict[str, str]) -> bool:
    """RPC v1 answers in the Format it asks for, XML by default (as documented); V3 in JSON."""
    if headers.get("authorization", "").startswith(signing.V3_ALGORITHM):
        return False
    fmt = (form.get("Format") or query.get("Format") or "XML").upper()
    return fmt != "JSON"


REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    request_id = str(uuid.uuid4()).upper()
    method = environ.get("REQUEST_METHOD", "GET").upper()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    form: dict[str, str] = {}
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    action = headers.get("x-acs-action") or form.get("Action") or query.get("Action") or "Error"
    if environ.get("PATH_INFO", "/") not in {"", "/"} or method not in {"GET", "POST"}:
        status, payload = (
            404,
            {
                "Code": "InvalidAction.NotFound",
                "Message": "Specified api is not found, please check your url and method.",
            },
        )
    else:
        try:
            action, payload = handle(method, query, headers, body, form)
            status = 200
        except SandboxError as exc:
            status, payload = exc.status, {"Code": exc.code, "Message": exc.message}
        except ConnectionDropped:
            raise
        except Exception:
            logger.exception("sandbox: unexpected error (RequestId %s)", request_id)
            status, payload = (
                500,
                {
                    "Code": "InternalError",
                    "Message": "The request processing has failed due to some unknown error.",
                },
            )
    payload = {"RequestId": request_id, **payload}
    if "Code" in payload and status >= 400:
        payload["HostId"] = HOST_ID
        payload["Recommend"] = (
            f"https://api.aliyun.com/troubleshoot?q={payload['Code']}&product=live&requestId={request_id}"
        )
    if _wants_xml(query, form, headers):
        root = "Error" if status >= 400 else f"{action}Response"
        data, content_type = to_xml(root, payload), "text/xml;charset=utf-8"
    else:
        data = orjson.dumps(payload)  # UTF-8, as the header says; a records page is ~400 KB
        content_type = "application/json;charset=utf-8"
    start_response(
        f"{status} {REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("x-acs-request-id", request_id),
        ],
    )
    return [data]
