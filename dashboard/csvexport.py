"""The one CSV writer every export goes through (records, audit, and any later one).

Spreadsheets run a cell that starts with = + - @ as a formula — also after leading blanks or
control characters, which some of them skip, and in full-width forms (＝ ＋ － ＠), which some
read as the ASCII ones — and app and stream names are chosen by whoever pushes a stream.
Every text cell that starts with any of those is prefixed with an apostrophe, which
spreadsheets show as text and do not evaluate. NUL, which some readers stop at, is replaced.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from functools import cache

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", " ", "\x00")
_FORMULA = frozenset("=+-@")


def _risky_start(first: str) -> bool:
    if first in _FORMULA or first.isspace():
        return True
    if unicodedata.category(first)[0] in "CZ":  # control, format, separators
        return True
    return unicodedata.normalize("NFKC", first)[:1] in _FORMULA  # ＝ ＋ － ＠ and kin


@cache
def risky_start_ranges() -> list[tuple[int, int]]:
    """Every character a cell may not start with, as ranges of code points (for databases
    that write the CSV themselves: PostgreSQL's COPY applies the same rule)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are no characters of valid text
        if _risky_start(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not isinstance(value, str) or not text:
        return text
    risky = _risky_start(text[0])
    text = text.replace("\x00", "\ufffd")
    return "'" + text if risky else text


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The CSV text, line by line: a UTF-8 BOM (so spreadsheet programs read Chinese text
    correctly), the header, then each row with every cell through safe_cell."""
    # LF line ends, as PostgreSQL's COPY writes them (records/csvwrite.py): one kind of file
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield "\ufeff"
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(
    *,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    headers: dict[str, str] | None = None,
) -> StreamingHttpResponse:
    """Stream `rows` as a CSV download."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    for name, value in (headers or {}).items():
        response[name] = value
    return response
