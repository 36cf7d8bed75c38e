"""The one CSV writer every export goes through (records, audit, and any later one).

Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula, and app and stream names are chosen by whoever pushes a stream. Every text cell that
starts with one of those characters is prefixed with an apostrophe, which spreadsheets show
as text and do not evaluate.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def csv_response(
    *,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    headers: dict[str, str] | None = None,
) -> StreamingHttpResponse:
    """Stream `rows` as a CSV download; every cell passes through safe_cell."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # so spreadsheet programs read UTF-8 (Chinese text) correctly
        yield writer.writerow(list(header))
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    for name, value in (headers or {}).items():
        response[name] = value
    return response
