"""Writing records into the archive: each record once, with the rollups and names it adds to.

`records_insert(rows)` stores what is new among archive rows (from `archive_rows` for a page
of the API's records, `archive_row` for one; one domain's) in one transaction, and adds them to
the rollups (archive/rollups.py), the names and the push parameters. Every table's rows are
written in key order, so concurrent writers never lock them crosswise. On PostgreSQL the rows go
in by a binary COPY into a staging table, then one statement: the INSERT … ON CONFLICT DO
NOTHING, and the database grouping its new rows into the rollups and names; SQLite takes
multi-row INSERTs and the sums made in Python. Rollups and names only ever add (counts, the
newest time seen), so the order in which records arrive never changes what they become.
Incidents are not derived here: the harvest derives them when a domain's cursor moves
(archive/harvest.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from typing import NamedTuple
from urllib.parse import urlsplit

from django.db import connection, transaction

from dashboard.bulk import q, rows_insert
from dashboard.contract import api
from dashboard.contract.text import without_nul
from dashboard.domains.models import Domain
from dashboard.live import NotifyRecord

from .classify import classify
from .models import NAME_SLACK, ArchivedName, ArchivedPushParam, ArchivedRecord, HarvestCursor
from .partitions import partitions_ensure
from .pushparams import CARRIERS, push_params
from .rollups import rollups_add, rollups_add_sql, rollups_totals_add


class ArchiveRow(NamedTuple):
    """One record as the archive stores it: ArchivedRecord's columns but the id, in the table's
    order (a tuple the COPY writes as it is)."""

    fingerprint: uuid.UUID
    domain_id: int
    domain_name: str
    app_name: str
    stream_name: str
    notify_type: str
    notify_result: str
    notify_time: dt.datetime
    notify_url: str
    notify_content: str
    notify_header: str
    notify_response: str
    description: str
    storage_type: str
    http_status: int | None
    failure_class: str
    receiver_host: str
    harvested_at: dt.datetime


def fingerprint(record: NotifyRecord) -> uuid.UUID:
    """A stable id from the record's own fields (the API gives none)."""
    when = record.notify_time.isoformat() if record.notify_time else ""
    return _fingerprint(
        record.domain_name,
        record.app_name,
        record.stream_name,
        record.notify_type,
        record.notify_url,
        record.notify_content,
        record.notify_header,
        record.notify_response,
        record.notify_result,
        when,
        record.description,
        record.storage_type,
    )


def _fingerprint(*parts: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256("\x1f".join(parts).encode()).digest()[:16])


@functools.lru_cache(maxsize=4096)  # a receiver's URL repeats in every record sent to it
def receiver_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "")[:253]
    except ValueError:
        return ""


def archive_row(domain: Domain, record: NotifyRecord, now: dt.datetime) -> ArchiveRow:
    """The archive's columns for one record (with a time; `archive_rows` reads a page)."""
    r = record
    when = r.notify_time
    return _row(
        domain, now, when, when.isoformat(), r.domain_name, r.app_name, r.stream_name,
        r.notify_type, r.notify_url, r.notify_content, r.notify_header, r.notify_response,
        r.notify_result, r.description, r.storage_type,
    )  # fmt: skip


# The API's record fields read as text, in `_row`'s order after the time.
_TEXTS = (
    "DomainName",
    "AppName",
    "StreamName",
    "NotifyType",
    "NotifyUrl",
    "NotifyContent",
    "NotifyHeader",
    "NotifyResponse",
    "NotifyResult",
    "Description",
    "StorageType",
)


def archive_rows(domain: Domain, items: list[dict], now: dt.datetime) -> list[ArchiveRow]:
    """The archive's columns for a page of records as the API gave them (`NotifyRecordsPage.
    items`), the same as `archive_row` of each record read by NotifyRecord.from_item; those
    without a valid NotifyTime are left out. The harvest's path: no NotifyRecord is built, and
    the time's text is the fingerprint's (a third of the harvester's CPU went to the two
    steps)."""
    rows = []
    for item in items:
        when = item.get("NotifyTime")
        try:  # what parse_time accepts: yyyy-MM-ddTHH:mm:ssZ, read in C
            when = _FROM_ISO(when) if when.__class__ is str and _TIME_SHAPE(when) else None
        except ValueError:
            when = None
        if when is None:
            continue
        texts = [  # as NotifyRecord.from_item reads them: numbers and the like as their text
            v if (v := item.get(name)).__class__ is str else ("" if v is None else str(v))
            for name in _TEXTS
        ]
        # the time as isoformat() writes a UTC one, from the text it was read from
        rows.append(_row(domain, now, when, item["NotifyTime"][:-1] + "+00:00", *texts))
    return rows


_FROM_ISO = dt.datetime.fromisoformat
_TIME_SHAPE = api.TIME_SHAPE.fullmatch


def _row(
    domain: Domain,
    now: dt.datetime,
    when: dt.datetime,
    when_text: str,
    domain_name: str,
    app: str,
    stream: str,
    kind: str,
    url: str,
    content: str,
    header: str,
    response: str,
    result: str,
    description: str,
    storage: str,
) -> ArchiveRow:
    """A NUL in any text — PostgreSQL refuses it — becomes U+FFFD (same length, and visible)."""
    clean = without_nul
    failure, status = classify(result=result, description=description, response=response)
    return ArchiveRow(
        _fingerprint(
            domain_name, app, stream, kind, url, content, header, response, result, when_text,
            description, storage,
        ),
        domain.pk,
        domain.name,
        clean(app[:256]),
        clean(stream[:256]),
        clean(kind[:40]),
        clean(result[:8]),
        when,
        clean(url),
        clean(content),
        clean(header),
        clean(response),
        clean(description),
        clean(storage[:8]),
        status,
        failure,
        clean(receiver_host(url)),
        now,
    )  # fmt: skip


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


_FIELDS = ArchiveRow._fields
# What the INSERT hands back of each new record: an Inserted, and the content of the callback
# types that carry push parameters (no other content crosses back).
_CARRIED = (
    "CASE WHEN notify_type IN ("
    + ", ".join(f"'{t}'" for t in sorted(CARRIERS))
    + ") THEN notify_content ELSE '' END"
)
_INSERTED = ", ".join(Inserted._fields)


class Stored(NamedTuple):
    count: int  # how many of the rows were new to the archive
    new: list[Inserted]  # those new ones older than `before` (every one without it)


def records_insert(rows: list[ArchiveRow], *, before: dt.datetime | None = None) -> Stored:
    """Store what is new among `rows` (one domain's), skip what the archive holds; add the new
    ones to the rollups, names and push parameters, all in one transaction. Returns how many
    were new and those of them older than `before` (all, without it), in no particular order.
    On PostgreSQL the domain's cursor is held shared meanwhile: a recount of its rollups (which
    holds it exclusively) never sees a batch half counted."""
    if not rows:
        return Stored(0, [])
    domain_id = rows[0].domain_id
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {q(HarvestCursor._meta.db_table)} WHERE domain_id = %s "  # noqa: S608
                    "FOR SHARE",
                    [domain_id],
                )
        partitions_ensure({row.notify_time for row in rows})
        postgresql = connection.vendor == "postgresql"
        insert = _insert_grouped if postgresql else _insert_summed
        count, new, carried = insert(rows, before=before)
        params_add(domain_id=domain_id, records=carried)
        if postgresql:
            rollups_totals_add()  # last: its rows are every domain's
    return Stored(count, new)


_Inserts = tuple[int, list[Inserted], list[tuple[Inserted, str]]]


def _insert_summed(rows: list[ArchiveRow], *, before: dt.datetime | None) -> _Inserts:
    """SQLite: the records, then their rollups and names summed in Python. Back come how many
    were new, the new ones before `before` and the new ones carrying push parameters, with
    their content."""
    stored = rows_insert(
        ArchivedRecord,
        _FIELDS,
        rows,
        order=["fingerprint"],
        tail=f"ON CONFLICT (fingerprint, notify_time) DO NOTHING RETURNING {_INSERTED}, {_CARRIED}",
    )
    # SQLite gives the time back as text
    new = [Inserted(r[0], _aware(r[1]), *r[2:-1]) for r in stored]
    rollups_add(domain_id=rows[0].domain_id, records=new)
    names_add(domain_id=rows[0].domain_id, records=new)
    carried = [(n, r[-1]) for n, r in zip(new, stored, strict=True) if r[-1]]
    late = new if before is None else [r for r in new if r.notify_time < before]
    return len(new), late, carried


def _insert_grouped(rows: list[ArchiveRow], *, before: dt.datetime | None) -> _Inserts:
    """PostgreSQL: the records, their rollups and names in one statement (the rollups and names
    grouped by the database, archive/rollups.py); back come the same as _insert_summed's."""
    names = q(ArchivedName._meta.db_table)
    slack = int(NAME_SLACK.total_seconds())
    # the names the table knows recently are left alone, as names_add does
    named = (
        f"add_names AS (INSERT INTO {names} (domain_id, field, name, last_seen) "  # noqa: S608
        "SELECT g.* FROM (SELECT domain_id, f.field, f.name, max(notify_time) AS last_seen "
        "FROM new CROSS JOIN LATERAL (VALUES ('app', app_name), ('stream', stream_name)) "
        "AS f (field, name) GROUP BY 1, 2, 3) AS g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {names} AS k WHERE k.domain_id = g.domain_id "
        "AND k.field = g.field AND k.name = g.name "
        f"AND k.last_seen >= g.last_seen - interval '{slack} seconds') ORDER BY 1, 2, 3 "
        "ON CONFLICT (domain_id, field, name) DO UPDATE SET last_seen = excluded.last_seen "
        f"WHERE {names}.last_seen < excluded.last_seen)"
    )
    late = "notify_time < %s" if before is not None else "TRUE"
    nulls = ", ".join(["NULL"] * len(Inserted._fields))
    returned = rows_insert(
        ArchivedRecord,
        _FIELDS,
        rows,
        order=["fingerprint"],
        tail="ON CONFLICT (fingerprint, notify_time) DO NOTHING "
        f"RETURNING domain_id, {_INSERTED}, {_CARRIED} AS carried",
        around=f"WITH new AS ({{insert}}), {', '.join([*rollups_add_sql('new'), named])} "  # noqa: S608
        f"SELECT {_INSERTED}, carried FROM new WHERE carried <> '' OR {late} "
        # and how many were new: the one row without a time (every record has one)
        f"UNION ALL SELECT count(*), {nulls} FROM new",
        params=None if before is None else [before],
    )
    count = next(r[0] for r in returned if r[1] is None)
    new, carried = [], []
    for r in returned:
        if r[1] is None:
            continue
        record = Inserted(*r[:-1])
        if before is None or record.notify_time < before:
            new.append(record)
        if r[-1]:
            carried.append((record, r[-1]))
    return count, new, carried


def _aware(when: str | dt.datetime) -> dt.datetime:
    when = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


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
    rows_insert(
        ArchivedName,
        ["domain", "field", "name", "last_seen"],
        [(domain_id, field, name, when) for (field, name), when in newest.items()],
        order=["domain", "field", "name"],
        tail=f"ON CONFLICT (domain_id, field, name) DO UPDATE SET last_seen = excluded.last_seen "
        f"WHERE {q(ArchivedName._meta.db_table)}.last_seen < excluded.last_seen",
    )


def params_add(*, domain_id: int, records: list[tuple[Inserted, str]]) -> None:
    """Index the push parameters new records carry (archive/pushparams.py), each once per
    app, stream and value, widening when it was first and last seen."""
    seen: dict[tuple[str, str, str, str], tuple[dt.datetime, dt.datetime]] = {}
    for record, content in records:
        when = record.notify_time
        for key, value in push_params(record.notify_type, content):
            cell = (key, value, record.app_name, record.stream_name)
            first, last = seen.get(cell, (when, when))
            seen[cell] = (min(first, when), max(last, when))
    if not seen:
        return
    table = q(ArchivedPushParam._meta.db_table)
    widen = "{c} = CASE WHEN excluded.{c} {op} {t}.{c} THEN excluded.{c} ELSE {t}.{c} END"
    key = ["key", "value", "domain", "app_name", "stream_name"]
    rows_insert(
        ArchivedPushParam,
        [*key, "first_seen", "last_seen"],
        [(k, v, domain_id, app, stream, *seen) for (k, v, app, stream), seen in seen.items()],
        order=key,
        tail=f"ON CONFLICT ({q('key')}, {q('value')}, domain_id, app_name, stream_name) "
        "DO UPDATE SET "
        + widen.format(c="first_seen", op="<", t=table)
        + ", "
        + widen.format(c="last_seen", op=">", t=table),
    )
