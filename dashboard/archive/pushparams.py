"""The business parameters a team puts in its push URL, read out of a callback's content.

Stream callbacks carry the pusher's URL query in `usrargs` (its exact encoding is UNCONFIRMED:
read as a URL query string, `order_id=42&team=shop`); recording file callbacks carry the push
URL's arguments in `push_args` (an object, or a query string) and may carry them as top-level
`callback_*` fields. A pure function, run once at harvest for the callback types that carry
them; what it finds is indexed by archive/store.py (ArchivedPushParam).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from dashboard.contract.api import parse_json_tolerant

# The callback types whose content carries push parameters.
CARRIERS = frozenset({"publish", "publish_done", "file_created"})
KEY_MAX, VALUE_MAX = 64, 200
PER_RECORD = 20  # at most this many parameters of one callback are indexed
# Set by Live itself or meaningless to search by: left out.
_NOT_BUSINESS = frozenset({"auth_key", "vhost", "txsecret", "txtime", "token", "sign"})
_MARKERS = ("usrargs", "push_args", "callback_")


def _pairs(value) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), str(v)) for k, v in value.items() if isinstance(v, str | int | float)]
    if isinstance(value, str):
        return parse_qsl(value.lstrip("?"), keep_blank_values=False)
    return []


def push_params(notify_type: str, content: str) -> list[tuple[str, str]]:
    """(key, value) pairs of the push parameters in one callback's content, in order, once."""
    if notify_type not in CARRIERS or not any(m in content for m in _MARKERS):
        return []  # most recording files carry none: no JSON parsed for them (the insert path)
    body = parse_json_tolerant(content)
    if not isinstance(body, dict):
        return []
    found = _pairs(body.get("usrargs")) + _pairs(body.get("push_args"))
    if "callback_" in content:  # most have none: their keys are not gone through
        found += [(k, str(v)) for k, v in body.items() if k.startswith("callback_") and v]
    params: list[tuple[str, str]] = []
    for key, value in found:
        key, value = key.strip(), value.strip()
        if (
            not key
            or not value
            or len(key) > KEY_MAX
            or len(value) > VALUE_MAX
            or key.lower() in _NOT_BUSINESS
            or "\x00" in key + value
            or (key, value) in params
        ):
            continue
        params.append((key, value))
        if len(params) == PER_RECORD:
            break
    return params


def parse_param(text: str) -> tuple[str, str] | None:
    """`key=value` as typed in a search box; None if it is not one."""
    key, sep, value = text.strip().partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value or " " in key or len(key) > KEY_MAX:
        return None
    if len(value) > VALUE_MAX:
        return None
    return key, value
