"""Characters that draw nothing, in text the dashboard shows.

Stream and app names come from whoever pushes a stream, answers from whoever runs a receiver,
names and notes from people. Some characters in them draw nothing yet change what a reader
sees: a right-to-left override (U+202E) turns the rest of its line around — the stream
`live<RLO>1-tset` reads as "livetest-1", which no search finds, and a receiver's `<RLO>ok` as
"ko" — and a zero-width space makes two different streams look the same. Pages show each one
as what it is (`U+202E`), never hide it: the text stays the text, only the reader sees it.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

# The characters that draw nothing: Unicode's format characters (category Cf: bidirectional
# controls, zero-width spaces and joiners, the soft hyphen, the byte-order mark, tags…) but
# the few that print a sign (the Arabic, Syriac and Kaithi number marks, Egyptian
# hieroglyph controls), and the Hangul fillers, letters that draw nothing and make look-alike
# names. Written out (Unicode 15.1): computing it costs every process 0.4 s at start; a test
# checks it against the running Python's Unicode data. On PostgreSQL a partial index of the
# names holding one has this very expression (archive migration 0018): a change needs a new one.
INVISIBLE_RANGES = (
    "\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_INVISIBLE = re.compile(f"[{INVISIBLE_RANGES}]")

# The ones that reorder what follows them: refused in the names people type (they go into
# email subjects and webhook titles, where nothing can show them).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def visible_text(text: str) -> str:
    """The text as a reader sees it: without the characters that draw nothing."""
    return _INVISIBLE.sub("", text)


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def invisible_named(value) -> str:
    """The text with each invisible character written as its code point: `[U+202E]`."""
    text = str(value)
    return _INVISIBLE.sub(lambda m: f"[{code_point(m.group())}]", text) if text else text


def invisible_marked(value) -> SafeString:
    """The text escaped for HTML, each invisible character a box reading `U+202E` whose
    tooltip names it; the box keeps the character itself for the Copy buttons."""
    if isinstance(value, SafeString):
        return value  # already markup (a default such as "—" stays as it is)
    text = str(value)
    if not _INVISIBLE.search(text):
        return escape(text)
    parts, start = [], 0
    for match in _INVISIBLE.finditer(text):
        ch = match.group()
        parts.append(escape(text[start : match.start()]))
        name = unicodedata.name(ch, "")
        parts.append(
            format_html(
                '<span class="ctl" title="{}" data-char="{}">{}</span>',
                f"{gettext('Invisible character')}: {name}"
                if name
                else gettext("Invisible character"),
                ch,
                code_point(ch),
            )
        )
        start = match.end()
    parts.append(escape(text[start:]))
    return format_html_join("", "{}", ((part,) for part in parts))
