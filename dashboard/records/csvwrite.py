"""Writing an export's CSV file: row by row in Python, or — on PostgreSQL — by the database
itself (COPY … TO STDOUT), with every cell made safe by the same rule as csvexport.safe_cell.

Four people exporting 90 days at once took a whole core from the pages everyone else was
reading while Python formatted 100,000 rows each; PostgreSQL writes the same file for a
fraction of that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, QuerySet, TextField, Value
from django.db.models.functions import Cast, Concat

from dashboard.csvexport import csv_lines, risky_start_ranges

PROGRESS_EVERY = 5000

# the columns, in HEADER's order (records/exports.py)
TEXT_COLUMNS = ("domain_name", "app_name", "stream_name", "notify_type", "notify_result")
LONG_COLUMNS = ("notify_url", "description", "notify_response", "notify_content", "notify_header")


def write_rows(lines, path: Path, progress: Callable[[int], None]) -> int:
    """Write CSV lines (csvexport.csv_lines: BOM, header, rows); returns the rows written."""
    written = 0
    pace = Pace(settings.EXPORT_ROWS_PER_SECOND)
    with open(path, "w", encoding="utf-8", newline="") as out:
        for number, line in enumerate(lines):
            out.write(line)
            written = max(0, number - 1)
            if written:
                pace.tick()
            if written and written % PROGRESS_EVERY == 0:
                progress(written)
    return written


class SafeText(Func):
    """`CASE WHEN text starts riskily THEN an apostrophe before it ELSE text END`; an empty
    text as NULL, which COPY writes as nothing at all (as Python's csv writes ""), not `""`."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        inner, params = compiler.compile(self.source_expressions[0])
        sql = f"NULLIF(CASE WHEN {inner} ~ %s THEN '''' || {inner} ELSE {inner} END, '')"
        return sql, [*params, risky_pattern(), *params, *params]


@cache
def risky_pattern() -> str:
    """A PostgreSQL regular expression for a text whose first character is risky."""

    def char(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    body = "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in risky_start_ranges())
    return f"^[{body}]"


class UtcIso(Func):
    """A timestamp as Python's isoformat() writes a UTC one: 2026-12-04T10:00:00+00:00."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    output_field = TextField()


def _text(value: str) -> Value:
    return Value(value, output_field=TextField())


def write_by_copy(
    rows: QuerySet,
    *,
    header: list[str],
    base: str,
    cap: int,
    path: Path,
    progress: Callable[[int], None],
) -> int:
    """The file written by PostgreSQL; returns the rows written. `progress` is called every
    PROGRESS_EVERY rows, while this connection is busy with the COPY: what it writes to the
    database goes through a connection of its own."""
    cells = rows.annotate(
        c_time=Concat(UtcIso(F("notify_time")), _text("+00:00"), output_field=TextField()),
        **{f"c_{name}": SafeText(F(name)) for name in TEXT_COLUMNS},
        c_failure=SafeText(F("failure_class")),
        c_http=Cast("http_status", TextField()),  # NULL: written as nothing
        **{f"c_{name}": SafeText(F(name)) for name in LONG_COLUMNS},
        c_link=SafeText(
            Concat(
                _text(base + "/records/"),
                Cast("id", TextField()),
                _text("/"),
                output_field=TextField(),
            )
        ),
    ).values_list(
        "c_time",
        *(f"c_{name}" for name in TEXT_COLUMNS),
        "c_failure",
        "c_http",
        *(f"c_{name}" for name in LONG_COLUMNS),
        "c_link",
    )[:cap]
    sql, params = cells.query.sql_with_params()
    pace = Pace(settings.EXPORT_ROWS_PER_SECOND)
    with connection.cursor() as cursor, open(path, "wb") as out:
        out.write("".join(csv_lines(header, [])).encode())
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for chunk in copy:  # PostgreSQL sends each row as a message of its own
                out.write(chunk)
                pace.tick()
                if pace.rows % PROGRESS_EVERY == 0:
                    progress(pace.rows)
    return pace.rows


class Pace:
    """At most `rate` rows a second: an export is background work, and the pages people are
    reading meanwhile come first. Reading the COPY slower makes PostgreSQL wait too."""

    def __init__(self, rate: float, *, every: int = 1000):
        self.rate, self.every = rate, every
        self.rows = 0
        self.started = time.monotonic()

    def tick(self) -> None:
        self.rows += 1
        if self.rows % self.every:
            return
        ahead = self.rows / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)
