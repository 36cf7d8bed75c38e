"""Many rows into one table in one statement: how the archive writes records, rollups, names,
push parameters and the incidents it derives.

On PostgreSQL the rows go by a binary COPY into a staging table of the connection's own (a
temporary table shaped like the target, emptied after each use and at commit), then one
`INSERT … SELECT … ORDER BY <key> <tail>` moves them: the query text is the same every time and
no value is quoted in Python — a multi-row VALUES list of 700 parameters cost the harvester 15
times the client CPU of the COPY. SQLite takes multi-row VALUES. Rows are written in key order,
so concurrent writers never lock them crosswise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db import connection

SQLITE_ROWS = 500  # rows per statement on SQLite (its variables are limited)


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def rows_insert(
    model,
    fields: Sequence[str],
    rows: Sequence[Sequence],
    *,
    order: Sequence[str],
    tail: str,
    around: str = "{insert}",
    params: Sequence | None = None,
) -> list[tuple]:
    """INSERT `rows` (values of `fields`, in that order) into `model`'s table, `tail` after it
    (`ON CONFLICT … DO …`, `RETURNING …`); returns what RETURNING gives, as the database gives
    it. Call it inside a transaction. Rows must not repeat a conflict key. On PostgreSQL the
    INSERT may be a part of a larger statement, `around` (`WITH new AS ({insert}) …`, taking
    `params`): what that returns is returned."""
    if not rows:
        return []
    table = q(model._meta.db_table)
    found = [model._meta.get_field(name) for name in fields]
    columns = ", ".join(q(f.column) for f in found)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            if around != "{insert}":
                raise NotImplementedError("a statement around the INSERT: PostgreSQL only")
            return _values(cursor, table, columns, found, rows, tail)
        staging = staging_table(model)
        with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([re.sub(r"\(.*\)", "", f.db_type(connection)) for f in found])
            for row in rows:
                copy.write_row(row)
        return staged_insert(model, fields, order=order, tail=tail, around=around, params=params)


def staging_table(model) -> str:
    """PostgreSQL: the connection's own staging table for `model`'s rows (temporary, shaped
    like the table, emptied at commit), created on first use; its quoted name."""
    staging = _staging_name(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT * FROM {q(model._meta.db_table)} WITH NO DATA"  # every column
        )
    return staging


def _staging_name(model) -> str:
    return q(f"bulk_{model._meta.db_table}")


def staged_insert(
    model,
    fields: Sequence[str],
    *,
    order: Sequence[str],
    tail: str,
    around: str = "{insert}",
    params: Sequence | None = None,
) -> list[tuple]:
    """PostgreSQL: move the rows of `model`'s staging table into the table (as rows_insert
    does), and empty it for a next batch."""
    table, staging = q(model._meta.db_table), _staging_name(model)
    columns = ", ".join(q(model._meta.get_field(name).column) for name in fields)
    keys = ", ".join(q(model._meta.get_field(name).column) for name in order)
    insert = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "  # noqa: S608
        f"ORDER BY {keys} {tail}"
    )
    with connection.cursor() as cursor:
        cursor.execute(around.replace("{insert}", insert), params)
        returned = cursor.fetchall() if cursor.description else []
        cursor.execute(f"DELETE FROM {staging}")  # noqa: S608 - cheaper than TRUNCATE
    return returned


def _values(cursor, table: str, columns: str, fields, rows, tail: str) -> list[tuple]:
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returned = []
    for offset in range(0, len(rows), SQLITE_ROWS):
        batch = rows[offset : offset + SQLITE_ROWS]
        params = [
            f.get_db_prep_save(value, connection)
            for row in batch
            for f, value in zip(fields, row, strict=True)
        ]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(batch))} {tail}",  # noqa: S608
            params,
        )
        if cursor.description:
            returned += cursor.fetchall()
    return returned
