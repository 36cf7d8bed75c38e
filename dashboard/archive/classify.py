"""Why a delivery failed, from the record's Description and NotifyResponse.

A pure function, run once at harvest; the table-driven test (tests/archive/test_classify.py)
holds the sandbox's seeded texts and real-world variants from receivers and HTTP stacks.
"""

from __future__ import annotations

import functools
import re

TIMEOUT, REFUSED, DNS, TLS = "timeout", "refused", "dns", "tls"
HTTP_4XX, HTTP_5XX, SIGNATURE, OTHER = "http_4xx", "http_5xx", "signature", "other"

_HTTP_STATUS = re.compile(
    r"(?:\bHTTP(?:/\d(?:\.\d)?)?[ :]+|\bstatus(?:[ _]?code)?[ =:]+|\bcode[ =:]+|^)"
    r"([1-5]\d\d)\b(?![.\d])",
    re.IGNORECASE,
)
# "500 Internal Server Error" inside an error page, with no "HTTP" before it.
_REASON = re.compile(
    r"\b([1-5]\d\d) (?:Bad Request|Unauthorized|Forbidden|Not Found|Method Not Allowed|"
    r"Request Timeout|Conflict|Gone|Payload Too Large|Too Many Requests|Internal Server Error|"
    r"Not Implemented|Bad Gateway|Service Unavailable|Gateway Time-?out)\b",
    re.IGNORECASE,
)
_RULES = [
    (
        TIMEOUT,
        re.compile(
            r"time ?d? ?out|timeout|deadline exceeded|did not answer|no response within|超时",
            re.IGNORECASE,
        ),
    ),
    (REFUSED, re.compile(r"connection refused|econnrefused|actively refused|拒绝连接", re.I)),
    (
        DNS,
        re.compile(
            r"name or service not known|no such host|nxdomain|could not resolve|unknown host|"
            r"getaddrinfo|nodename nor servname|name resolution|dns|域名解析",
            re.IGNORECASE,
        ),
    ),
    (TLS, re.compile(r"\bssl\b|\btls\b|certificate|x509|handshake|cert_|证书", re.IGNORECASE)),
]
_SIGNATURE = re.compile(r"signature|\bsign\b|签名", re.IGNORECASE)


def http_status_of(*texts: str) -> int | None:
    """The receiver's HTTP status, where a text states one ("HTTP 404 Not Found")."""
    for text in texts:
        match = _HTTP_STATUS.search(text or "") or _REASON.search(text or "")
        if match:
            return int(match.group(1))
    return None


def classify(*, result: str, description: str, response: str) -> tuple[str, int | None]:
    """(failure class, receiver's HTTP status): ("", status) for a delivered callback."""
    if len(description) + len(response) > CACHED_TEXT_MAX:
        return _classify.__wrapped__(result, description, response)
    return _classify(result, description, response)


# A pure function of texts that repeat a great deal (a receiver answers the same way to most
# deliveries): the harvest classifies tens of thousands of records a second. Short texts
# only, so 4,096 receivers' error pages cannot fill the memory.
CACHED_TEXT_MAX = 1024


@functools.lru_cache(maxsize=4096)
def _classify(result: str, description: str, response: str) -> tuple[str, int | None]:
    status = http_status_of(description)
    if result == "success":
        return "", status
    for name, pattern in _RULES:
        if pattern.search(description or ""):
            return name, status
    if status is None:
        status = http_status_of(response)
    if status in (401, 403) and _SIGNATURE.search(f"{description} {response}"):
        return SIGNATURE, status
    if status is not None and 400 <= status < 500:
        return HTTP_4XX, status
    if status is not None and status >= 500:
        return HTTP_5XX, status
    for name, pattern in _RULES:  # a receiver's own error page may say what went wrong
        if pattern.search(response or ""):
            return name, status
    if _SIGNATURE.search(f"{description} {response}"):
        return SIGNATURE, status
    return OTHER, status
