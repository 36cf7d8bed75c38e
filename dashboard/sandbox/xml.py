"""The Live API's XML answers (RPC v1 with Format=XML, the documented default).

The response element is named after the action (`<DescribeLiveUserDomainsResponse>`), errors
are `<Error>`; an array repeats its element once per item, as in the documentation's XML
examples (`<Tags><Key>…</Key></Tags><Tags>…</Tags>`); booleans are `true`/`false`.
"""

from __future__ import annotations

from xml.sax.saxutils import escape


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape("" if value is None else str(value))


def _element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    return f"<{name}>{_value(value)}</{name}>"


def to_xml(root: str, payload: dict) -> bytes:
    return ("<?xml version='1.0' encoding='UTF-8'?>" + _element(root, payload)).encode()
