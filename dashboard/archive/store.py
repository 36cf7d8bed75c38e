"""Writing records into the archive: each record once, with the rollups and names it adds to.

`records_insert(rows)` stores what is new among archive rows (from `archive_row`, one domain's)
in one transaction, and adds them to the rollups (archive/rollups.py) and the names. Every
table's rows are written in key order, so concurrent writers never lock them crosswise. On
PostgreSQL the rows go in by a binary COPY into a staging table, then one INSERT … ON CONFLICT
DO NOTHING; SQLite takes multi-row INSERTs. Rollups and names only ever add (counts, the newest
time seen), so the order in which records arrive never changes what they become. Incidents are
not derived here: the harvest derives them when a domain's cursor moves (archive/harvest.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import re
import uuid
from typing import NamedTuple
from urllib.parse import urlsplit

from django.db import connection, transaction

from dashboard.contract.text import without_nul
from dashboard.domains.models import Domain
from dashboard.live import NotifyRecord

from .classify import classify
from .models import NAME_SLACK, ArchivedName, ArchivedPushParam, ArchivedRecord, HarvestCursor
from .partitions import partitions_ensure
from .pushparams import CARRIERS, push_params
from .rollups import q, rollups_add


def fingerprint(record: NotifyRecord) -> uuid.UUID:
    """A stable id from the record's own fields (the API gives none)."""
    parts = [
        record.domain_name,
        record.app_name,
        record.stream_name,
        record.notify_type,
        record.notify_url,
        record.notify_content,
        record.notify_header,
        record.notify_response,
        record.notify_result,
        record.notify_time.isoformat() if record.notify_time else "",
        record.description,
        record.storage_type,
    ]
    return uuid.UUID(bytes=hashlib.sha256("\x1f".join(parts).encode()).digest()[:16])


def receiver_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "")[:253]
    except ValueError:
        return ""


def archive_row(domain: Domain, record: NotifyRecord, now: dt.datetime) -> dict:
    """The archive's columns for one record: a plain dict (building 27,000 model instances a
    second would cost more than the database does). A NUL in any text — PostgreSQL refuses
    it — becomes U+FFFD (same length, and visible)."""
    clean = without_nul
    failure, status = classify(
        result=record.notify_result, description=record.description, response=record.notify_response
    )
    return {
        "fingerprint": fingerprint(record),
        "domain_id": domain.pk,
        "domain_name": domain.name,
        "app_name": clean(record.app_name[:256]),
        "stream_name": clean(record.stream_name[:256]),
        "notify_type": clean(record.notify_type[:40]),
        "notify_result": clean(record.notify_result[:8]),
        "notify_time": record.notify_time,
        "notify_url": clean(record.notify_url),
        "notify_content": clean(record.notify_content),
        "notify_header": clean(record.notify_header),
        "notify_response": clean(record.notify_response),
        "description": clean(record.description),
        "storage_type": clean(record.storage_type[:8]),
        "http_status": status,
        "failure_class": failure,
        "receiver_host": clean(receiver_host(record.notify_url)),
        "harvested_at": now,
    }


class Inserted(NamedTuple):
    """A record new to the archive: what rollups, names and incidents read of it."""

    id: int
    notify_time: dt.datetime
    notify_type: str
    notify_result: str
    failure_class: str
    receiver_host: str
    http_status: int | None
    app_name: str
    stream_name: str


_FIELDS = [f for f in ArchivedRecord._meta.concrete_fields if not f.primary_key]
_COLUMNS = [f.column for f in _FIELDS]
_VALUES = operator.itemgetter(*(f.attname for f in _FIELDS))
_INSERTED = operator.itemgetter(*Inserted._fields[1:])
BATCH = 500


def records_insert(rows: list[dict]) -> list[Inserted]:
    """Store what is new among `rows` (one domain's), skip what the archive holds; add the new
    ones to the rollups and names, all in one transaction. Returns the new records, in no
    particular order. On PostgreSQL the domain's cursor is held shared meanwhile: a recount of
    its rollups (which holds it exclusively) never sees a batch half counted."""
    if not rows:
        return []
    domain_id = rows[0]["domain_id"]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {q(HarvestCursor._meta.db_table)} WHERE domain_id = %s "  # noqa: S608
                    "FOR SHARE",
                    [domain_id],
                )
        partitions_ensure({row["notify_time"] for row in rows})
        keys = (_copy if connection.vendor == "postgresql" else _values)(rows)
        by_key = {(row["fingerprint"].hex, row["notify_time"]): row for row in rows}
        new = [Inserted(pk, *_INSERTED(by_key[key])) for pk, key in keys]
        rollups_add(domain_id=domain_id, records=new)
        names_add(domain_id=domain_id, records=new)
        params_add(
            domain_id=domain_id,
            rows=[by_key[key] for _pk, key in keys if by_key[key]["notify_type"] in CARRIERS],
        )
    return new


def _copy(rows: list[dict]) -> list[tuple[int, tuple]]:
    """PostgreSQL: a binary COPY into a staging table, then one INSERT … SELECT … ON
    CONFLICT DO NOTHING RETURNING, in fingerprint order (one lock order for every writer)."""
    table, columns = q(ArchivedRecord._meta.db_table), ", ".join(map(q, _COLUMNS))
    types = [re.sub(r"\(.*\)", "", f.db_type(connection)) for f in _FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS archive_incoming ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(
            f"COPY archive_incoming ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(_VALUES(row))
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM archive_incoming "  # noqa: S608
            "ORDER BY fingerprint ON CONFLICT (fingerprint, notify_time) DO NOTHING "
            "RETURNING id, fingerprint, notify_time"
        )
        new = cursor.fetchall()
        cursor.execute("DELETE FROM archive_incoming")  # for a next batch (cheaper than TRUNCATE)
    return [(pk, (key.hex, when)) for pk, key, when in new]


def _values(rows: list[dict]) -> list[tuple[int, tuple]]:
    """SQLite: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING."""
    table, columns = q(ArchivedRecord._meta.db_table), ", ".join(map(q, _COLUMNS))
    prepare = [
        (lambda v: v.hex)
        if f.get_internal_type() == "UUIDField"
        else connection.ops.adapt_datetimefield_value
        if f.get_internal_type() == "DateTimeField"
        else None
        for f in _FIELDS
    ]
    new = []
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), BATCH):
            batch = rows[offset : offset + BATCH]
            params = [
                prep(value) if prep else value
                for row in batch
                for prep, value in zip(prepare, _VALUES(row), strict=True)
            ]
            marks = ", ".join(["(" + ", ".join(["%s"] * len(_FIELDS)) + ")"] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {marks} "  # noqa: S608
                "ON CONFLICT (fingerprint, notify_time) DO NOTHING "
                "RETURNING id, fingerprint, notify_time",
                params,
            )
            for pk, key, when in cursor.fetchall():
                when = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
                when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
                new.append((pk, (uuid.UUID(str(key)).hex, when)))
    return new


def names_add(*, domain_id: int, records: list[Inserted]) -> None:
    """Remember the app and stream names of new records with the newest time each was seen.
    Most batches bring names the table knows recently: those are left alone."""
    newest: dict[tuple[str, str], dt.datetime] = {}
    for r in records:
        for key in (("app", r.app_name), ("stream", r.stream_name)):
            if key not in newest or r.notify_time > newest[key]:
                newest[key] = r.notify_time
    if not newest:
        return
    since = min(newest.values()) - NAME_SLACK
    known = ArchivedName.objects.filter(
        domain_id=domain_id, name__in=sorted({n for _f, n in newest}), last_seen__gte=since
    ).values_list("field", "name", "last_seen")
    for field, name, last_seen in known:
        if (field, name) in newest and last_seen >= newest[(field, name)] - NAME_SLACK:
            del newest[(field, name)]
    if not newest:
        return
    table = q(ArchivedName._meta.db_table)
    seen = ArchivedName._meta.get_field("last_seen")
    cells = sorted(newest.items())
    params = []
    for (field, name), when in cells:
        params += [domain_id, field, name, seen.get_db_prep_save(when, connection)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (domain_id, field, name, last_seen) VALUES "  # noqa: S608
            + ", ".join(["(%s, %s, %s, %s)"] * len(cells))
            + f" ON CONFLICT (domain_id, field, name) DO UPDATE SET last_seen = "
            f"excluded.last_seen WHERE {table}.last_seen < excluded.last_seen",
            params,
        )


def params_add(*, domain_id: int, rows: list[dict]) -> None:
    """Index the push parameters new records carry (archive/pushparams.py), each once per
    app, stream and value, widening when it was first and last seen."""
    seen: dict[tuple[str, str, str, str], tuple[dt.datetime, dt.datetime]] = {}
    for row in rows:
        when = row["notify_time"]
        for key, value in push_params(row["notify_type"], row["notify_content"]):
            cell = (key, value, row["app_name"], row["stream_name"])
            first, last = seen.get(cell, (when, when))
            seen[cell] = (min(first, when), max(last, when))
    if not seen:
        return
    table = q(ArchivedPushParam._meta.db_table)
    stamp = ArchivedPushParam._meta.get_field("last_seen")
    widen = "{c} = CASE WHEN excluded.{c} {op} {t}.{c} THEN excluded.{c} ELSE {t}.{c} END"
    cells = sorted(seen.items())
    with connection.cursor() as cursor:
        for offset in range(0, len(cells), 100):
            batch = cells[offset : offset + 100]
            params = []
            for (key, value, app, stream), (first, last) in batch:
                params += [domain_id, key, value, app, stream]
                params += [stamp.get_db_prep_save(t, connection) for t in (first, last)]
            cursor.execute(
                f"INSERT INTO {table} (domain_id, {q('key')}, {q('value')}, app_name, "  # noqa: S608
                "stream_name, first_seen, last_seen) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))
                + f" ON CONFLICT ({q('key')}, {q('value')}, domain_id, app_name, stream_name) "
                "DO UPDATE SET "
                + widen.format(c="first_seen", op="<", t=table)
                + ", "
                + widen.format(c="last_seen", op=">", t=table),
                params,
            )
