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
import uuid
from typing import NamedTuple
from urllib.parse import urlsplit

from django.db import connection, transaction

from dashboard.bulk import q, rows_insert
from dashboard.contract.text import without_nul
from dashboard.domains.models import Domain
from dashboard.live import NotifyRecord

from .classify import classify
from .models import NAME_SLACK, ArchivedName, ArchivedPushParam, ArchivedRecord, HarvestCursor
from .partitions import partitions_ensure
from .pushparams import CARRIERS, push_params
from .rollups import rollups_add


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


_FIELDS = [f.attname for f in ArchivedRecord._meta.concrete_fields if not f.primary_key]
_VALUES = operator.itemgetter(*_FIELDS)
# What the INSERT hands back of each new record: an Inserted, and the content of the callback
# types that carry push parameters (no other content crosses back).
_RETURNING = (
    "RETURNING "
    + ", ".join(Inserted._fields)
    + ", CASE WHEN notify_type IN ("
    + ", ".join(f"'{t}'" for t in sorted(CARRIERS))
    + ") THEN notify_content ELSE '' END"
)


def records_insert(rows: list[dict]) -> list[Inserted]:
    """Store what is new among `rows` (one domain's), skip what the archive holds; add the new
    ones to the rollups, names and push parameters, all in one transaction. Returns the new
    records, in no particular order. On PostgreSQL the domain's cursor is held shared
    meanwhile: a recount of its rollups (which holds it exclusively) never sees a batch half
    counted."""
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
        stored = rows_insert(
            ArchivedRecord,
            _FIELDS,
            [_VALUES(row) for row in rows],
            order=["fingerprint"],
            tail=f"ON CONFLICT (fingerprint, notify_time) DO NOTHING {_RETURNING}",
        )
        if connection.vendor != "postgresql":  # SQLite gives the time back as text
            stored = [(r[0], _aware(r[1]), *r[2:]) for r in stored]
        new = [Inserted(*r[:-1]) for r in stored]
        rollups_add(domain_id=domain_id, records=new)
        names_add(domain_id=domain_id, records=new)
        carried = [(n, r[-1]) for n, r in zip(new, stored, strict=True) if r[-1]]
        params_add(domain_id=domain_id, records=carried)
    return new


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
