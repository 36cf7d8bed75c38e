"""Text from outside — the Live API's records, a receiver's answer — made storable.

PostgreSQL's text cannot hold U+0000 (COPY and INSERT refuse it, and one such record once
stopped the harvester for good), and no UTF-8 database can hold a lone surrogate (JSON's
`"\\ud800"` decodes to one). Each is replaced by U+FFFD, the replacement character, so the
text keeps its length and the place where something was replaced stays visible.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with every character no database can store replaced (usually `text` itself)."""
    if "\x00" not in text and not _has_surrogate(text):
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def without_nul(text: str) -> str:
    """The cheap half of `storable`, for text already known to be valid Unicode (the Live
    client's typed results): thousands of records a second pass through here."""
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def fitted(model, field: str, text: str) -> str:
    """`text` made storable and cut to what `model`'s column `field` holds: an upstream's (or a
    proxy's) Code or RequestId may be longer than any the Live API sends, and PostgreSQL
    refuses what does not fit where SQLite keeps it."""
    limit = model._meta.get_field(field).max_length
    text = storable(text)
    return text[:limit] if limit else text
