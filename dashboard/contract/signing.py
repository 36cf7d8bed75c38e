"""Request signing of the Alibaba Cloud OpenAPI: V3 (ACS3-HMAC-SHA256) and RPC v1 (HMAC-SHA1).

Pure functions over already-decoded parameters and headers: the client uses them to sign,
the sandbox to verify. Fixed test vectors pin them (tests/contract/test_signing.py) and the
official SDK's requests must verify against them (tests/sandbox/test_official_sdk.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 encoding: unreserved characters kept, everything else %XX from UTF-8."""
    return quote(value, safe="-_.~")


def canonical_query_v3(params: Mapping[str, str | None]) -> str:
    items = sorted((k, v) for k, v in params.items() if v is not None)
    return "&".join(f"{k}={percent_encode(str(v))}" for k, v in items)


def canonical_headers_v3(headers: Mapping[str, str], signed: list[str]) -> str:
    lowered = {name.lower(): value for name, value in headers.items()}
    return "".join(f"{name}:{lowered.get(name, '').strip()}\n" for name in signed)


def canonical_request_v3(
    *,
    method: str,
    params: Mapping[str, str | None],
    headers: Mapping[str, str],
    signed_headers: list[str],
    body_sha256: str = EMPTY_SHA256,
) -> str:
    return "\n".join(
        [
            method.upper(),
            "/",
            canonical_query_v3(params),
            canonical_headers_v3(headers, signed_headers),
            ";".join(signed_headers),
            body_sha256,
        ]
    )


def string_to_sign_v3(canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{V3_ALGORITHM}\n{digest}"


def signature_v3(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def authorization_v3(access_key_id: str, signed_headers: list[str], signature: str) -> str:
    return (
        f"{V3_ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={';'.join(signed_headers)},Signature={signature}"
    )


def parse_authorization_v3(value: str) -> dict[str, str] | None:
    """Split `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`; None if not V3."""
    if not value.startswith(V3_ALGORITHM + " "):
        return None
    fields: dict[str, str] = {}
    for part in value[len(V3_ALGORITHM) + 1 :].split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            fields[name] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


def string_to_sign_v1(method: str, params: Mapping[str, str]) -> str:
    items = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(str(v))}" for k, v in items)
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature_v1(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()
