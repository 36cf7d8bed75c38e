"""The ALI-LIVE-SIGNATURE scheme of Live's callbacks (docs/live-api.md, "Callbacks").

Signed callbacks carry `ALI-LIVE-TIMESTAMP` (Unix seconds) and `ALI-LIVE-SIGNATURE`, the
lower-case hex MD5 of "<callback URL host>|<timestamp>|<NotifyAuthKey>".
"""

from __future__ import annotations

import hashlib
import hmac
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from dashboard.contract.urlsafety import ascii_host

# How old a timestamp may be before we call it stale. Live does not publish a receiver-side
# tolerance (UNCONFIRMED); five minutes matches common webhook practice.
STALE_AFTER = 300


def callback_host(url_or_host: str) -> str:
    """The host part that is signed: from a full URL, or the text itself when it is a host.
    "" when there is none: an unparseable URL (an unclosed `[::1`), or text with a space or a
    control character inside, which no URL Live calls has (Python's URL parser drops CR, LF
    and tab: `https://a.com<CR><LF>X: y` read as the host "a.comx", which nobody typed)."""
    text = url_or_host.strip()
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        return ""
    try:
        if "://" in text:
            host = (urlsplit(text).hostname or "").lower()
        elif text.startswith("["):
            return urlsplit(f"http://{text}").hostname or ""
        else:
            host = text.split("/")[0].split(":")[0].lower()
    except ValueError:
        return ""
    return ascii_host(host)  # a name in its own script: signed as URLs carry it (xn--…)


def sign(host: str, timestamp: str | int, key: str) -> str:
    message = f"{host}|{timestamp}|{key}".encode()
    return hashlib.md5(message).hexdigest()  # noqa: S324 - Live's scheme, not our choice


@dataclass(frozen=True)
class Verdict:
    valid: bool
    expected: str
    age_seconds: int | None
    stale: bool


def verify(
    *, host: str, timestamp: str, signature: str, key: str, now: float | None = None
) -> Verdict:
    expected = sign(host, timestamp, key)
    valid = hmac.compare_digest(expected, signature.strip().lower())
    try:
        age = int((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        age = None
    stale = age is None or abs(age) > STALE_AFTER
    return Verdict(valid=valid, expected=expected, age_seconds=age, stale=stale)
