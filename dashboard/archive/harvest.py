"""Harvest: copy every streaming domain's delivery records into the archive, continuously.

A pass claims the domains that are due, one lease at a time, pages
DescribeLiveRecordNotifyRecords from each domain's cursor (minus an overlap, because records
can appear late) within the harvest lane of the client's rate budget, classifies each record,
inserts it once (its fingerprint is unique: a record seen twice is stored once) together with
the hourly rollups, and moves the cursor on. Upstream pages are fetched on worker threads,
a few domains ahead; on PostgreSQL storing threads write them (two domains at a time, several
windows of each, each thread on its own connection), elsewhere the calling thread does. Every
write is a short transaction, in key order, never open while a network call is outstanding.

Several harvesters, in one process or on several hosts, share the work: a domain is leased
to one of them at a time and the lease is renewed page by page; a crashed harvester's lease
runs out and the domain is picked up again from its cursor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import operator
import os
import re
import socket
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue
from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from dashboard.contract.api import RECORDS_PAGE_SIZE_MAX, RECORDS_WINDOW
from dashboard.contract.text import without_nul
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.live import HARVEST_LANE, NotifyRecord
from dashboard.upstream import get_client, upstream_errors

from .classify import classify
from .models import (
    ArchivedName,
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HourlyRollup,
    TotalHourlyRollup,
)
from .signals import records_archived

logger = logging.getLogger(__name__)

# A backfill asks for the window in slices this long: each one a stable set to page through,
# and a point to resume from after an error.
SLICE = dt.timedelta(hours=24)
# Start of a backfill: just inside the API's 7 days, so the edge never slides out mid-run.
EDGE_MARGIN = dt.timedelta(minutes=2)


class _Inline:
    """A stand-in for a thread pool that fetches on the calling thread (workers=1): what a
    test's own transaction can see, and what a single-threaded deployment wants."""

    def map(self, function, items):
        return map(function, items)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# --- one record -----------------------------------------------------------------------------


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
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return uuid.UUID(bytes=digest[:16])


def receiver_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "")[:253]
    except ValueError:
        return ""


def archive_row(domain: Domain, record: NotifyRecord, now: dt.datetime) -> dict:
    """The archive's columns for one record (a plain dict: building 27,000 model instances a
    second would cost more than the database does). Text is made storable: a NUL in any
    field — PostgreSQL refuses it — becomes U+FFFD (same length, and visible)."""
    clean = without_nul
    failure, status = classify(
        result=record.notify_result,
        description=record.description,
        response=record.notify_response,
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


# --- inserting: each record once, rollups with it ----------------------------------------------

_FIELDS = [f for f in ArchivedRecord._meta.concrete_fields if not f.primary_key]
INSERT_BATCH = 500


def _adapters() -> list:
    """Per column, how a Python value becomes a parameter of this database (UUIDs and
    datetimes differ between PostgreSQL and SQLite); computed once per column, not per cell."""
    adapters = []
    for f in _FIELDS:
        if f.get_internal_type() == "UUIDField" and not connection.features.has_native_uuid_field:
            adapters.append(lambda v: v.hex)
        elif f.get_internal_type() == "DateTimeField":
            adapters.append(connection.ops.adapt_datetimefield_value)
        else:
            adapters.append(None)
    return adapters


class Inserted(NamedTuple):
    """A record that was new to the archive (what the rollups and incidents count); a named
    tuple, because the harvest makes one per new record."""

    id: int
    notify_time: dt.datetime
    notify_type: str
    notify_result: str
    failure_class: str
    receiver_host: str
    http_status: int | None
    app_name: str
    stream_name: str


def records_insert(rows: list[dict]) -> list[Inserted]:
    """Insert what is new (rows from `archive_row`), skip what the archive holds already;
    update the hourly rollups of the new ones in the same transaction. Returns the new rows,
    in no particular order."""
    if not rows:
        return []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            inserted = _insert_by_copy(rows)
        else:
            inserted = _insert_by_values(rows)
        rollups_add(domain_id=rows[0]["domain_id"], records=inserted)
        names_add(domain_id=rows[0]["domain_id"], records=inserted)
    return inserted


def _insert_by_values(rows: list[dict]) -> list[Inserted]:
    """SQLite: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING, INSERT_BATCH rows a time."""
    names = [f.attname for f in _FIELDS]
    adapters = list(zip(names, _adapters(), strict=True))
    quote = connection.ops.quote_name
    table = quote(ArchivedRecord._meta.db_table)
    columns = ", ".join(quote(f.column) for f in _FIELDS)
    returning = ", ".join(Inserted._fields)
    inserted: list[Inserted] = []
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), INSERT_BATCH):
            batch = rows[offset : offset + INSERT_BATCH]
            marks = ", ".join(["(" + ", ".join(["%s"] * len(_FIELDS)) + ")"] * len(batch))
            params = [
                adapt(row[name]) if adapt else row[name]
                for row in batch
                for name, adapt in adapters
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {marks} "  # noqa: S608 - names from the model
                f"ON CONFLICT (fingerprint) DO NOTHING RETURNING {returning}",
                params,
            )
            for row in cursor.fetchall():
                when = row[1]
                if isinstance(when, str):  # SQLite hands back text
                    when = dt.datetime.fromisoformat(when)
                if timezone.is_naive(when):
                    when = when.replace(tzinfo=dt.UTC)
                inserted.append(Inserted(row[0], when, *row[2:]))
    return inserted


_COPY_VALUES = operator.itemgetter(*(f.attname for f in _FIELDS))
_INSERTED_FROM_ROW = operator.itemgetter(*Inserted._fields[1:])


def _copy_types() -> list[str]:
    """The PostgreSQL type of each column, for a binary COPY ("varchar(253)" → "varchar")."""
    return [re.sub(r"\(.*\)", "", f.db_type(connection)) for f in _FIELDS]


def _insert_by_copy(rows: list[dict]) -> list[Inserted]:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT
    DO NOTHING RETURNING — several times faster than a multi-row VALUES statement. The COPY is
    binary (no values formatted as text and parsed back), and only the new rows' ids come
    back: everything else the rollups and incidents need is in `rows` already."""
    quote = connection.ops.quote_name
    table = quote(ArchivedRecord._meta.db_table)
    columns = ", ".join(quote(f.column) for f in _FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS archive_incoming ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        copy_sql = f"COPY archive_incoming ({columns}) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(_copy_types())
            for row in rows:
                copy.write_row(_COPY_VALUES(row))
        cursor.execute(
            # in fingerprint order: two transactions meeting the same records (a window's
            # edge second is in both windows) take their locks in one order, never crosswise
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM archive_incoming "  # noqa: S608
            "ORDER BY fingerprint ON CONFLICT (fingerprint) DO NOTHING RETURNING id, fingerprint"
        )
        new = cursor.fetchall()
        # emptied for a next batch in the same transaction (the commit empties it anyway):
        # DELETE, because a TRUNCATE swaps the table's files — 1.6 ms against 0.3
        cursor.execute("DELETE FROM archive_incoming")
    by_fingerprint = {row["fingerprint"].int: row for row in rows}
    # tuple.__new__ rather than Inserted(...): the named tuple's own __new__ is a Python
    # function call per record
    make = tuple.__new__
    return [make(Inserted, (pk, *_INSERTED_FROM_ROW(by_fingerprint[key.int]))) for pk, key in new]


# ArchivedName.last_seen may lag a name's newest record by up to this much (it is rewritten at
# most once a NAME_SLACK per name); the purge keeps names that much longer to match.
NAME_SLACK = dt.timedelta(days=1)


def names_add(*, domain_id: int, records: list[Inserted]) -> None:
    """Record the app and stream names of new records (ArchivedName), with the newest time
    each was seen. Rows go in name order, so two writers never lock them in opposite
    orders."""
    newest: dict[tuple[str, str], dt.datetime] = {}
    for r in records:
        for key in (("app", r.app_name), ("stream", r.stream_name)):
            if key not in newest or r.notify_time > newest[key]:
                newest[key] = r.notify_time
    if not newest:
        return
    # Most batches bring names the table knows: those seen within NAME_SLACK of this batch's
    # time are left alone (a read through the unique index instead of an upsert per name).
    for kind, name, last_seen in _names_known(domain_id, newest):
        when = newest.get((kind, name))
        if when is not None and last_seen >= when - NAME_SLACK:
            del newest[(kind, name)]
    if not newest:
        return
    quote = connection.ops.quote_name
    table = quote(ArchivedName._meta.db_table)
    seen_field = ArchivedName._meta.get_field("last_seen")
    cells = sorted(newest.items())
    with connection.cursor() as cursor:
        for offset in range(0, len(cells), 500):
            batch = cells[offset : offset + 500]
            values = []
            for (field, name), when in batch:
                values += [domain_id, field, name, seen_field.get_db_prep_save(when, connection)]
            cursor.execute(
                f"INSERT INTO {table} (domain_id, field, name, last_seen) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s)"] * len(batch))
                + " ON CONFLICT (domain_id, field, name) DO UPDATE SET last_seen = "
                f"excluded.last_seen WHERE {table}.last_seen < excluded.last_seen",
                values,
            )


def _names_known(domain_id: int, newest: dict[tuple[str, str], dt.datetime]) -> list[tuple]:
    """(field, name, last_seen) of the batch's names the table holds, seen recently enough to
    matter. On PostgreSQL the names go as one array parameter: a batch of 500 new streams as
    500 placeholders cost more to build and parse than the lookup itself."""
    names = sorted({name for _field, name in newest})
    since = min(newest.values()) - NAME_SLACK
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ArchivedName._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT field, name, last_seen FROM {table} WHERE domain_id = %s "  # noqa: S608
                "AND name = ANY(%s) AND last_seen >= %s",
                [domain_id, names, since],
            )
            return cursor.fetchall()
    return list(
        ArchivedName.objects.filter(
            domain_id=domain_id, name__in=names, last_seen__gte=since
        ).values_list("field", "name", "last_seen")
    )


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def rollups_add(*, domain_id: int, records: list[Inserted]) -> None:
    """Add new records to the rollups: one upsert per (hour, type, result, class) of the
    domain's hourly ones, per (day, result, class) of its daily ones, per hour of its hourly
    totals, and per (hour, result, class) of the all-domains ones."""
    cells = Counter(
        (hour_of(r.notify_time), r.notify_type, r.notify_result, r.failure_class) for r in records
    )
    if not cells:
        return
    quote = connection.ops.quote_name
    table = quote(HourlyRollup._meta.db_table)
    hour_field = HourlyRollup._meta.get_field("hour")
    values = []
    # every table's rows in key order: two transactions adding to the same rows (two storing
    # threads, or harvesters of several domains on the all-domains rows) lock them in one
    # order, never crosswise
    for (hour, notify_type, result, failure), count in sorted(cells.items()):
        values += [
            domain_id,
            hour_field.get_db_prep_save(hour, connection),
            notify_type,
            result,
            failure,
            count,
        ]
    marks = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(cells))
    days = Counter()
    for (hour, _type, result, failure), count in cells.items():
        days[(hour.date(), result, failure)] += count
    daily = quote(DailyRollup._meta.db_table)
    day_field = DailyRollup._meta.get_field("day")
    day_values = []
    for (day, result, failure), count in sorted(days.items()):
        day_values += [
            domain_id,
            day_field.get_db_prep_save(day, connection),
            result,
            failure,
            count,
        ]
    day_marks = ", ".join(["(%s, %s, %s, %s, %s)"] * len(days))
    totals = Counter()
    for (hour, _type, result, failure), count in cells.items():
        totals[(hour, result, failure)] += count
    total = quote(TotalHourlyRollup._meta.db_table)
    total_values = []
    for (hour, result, failure), count in sorted(totals.items()):
        total_values += [hour_field.get_db_prep_save(hour, connection), result, failure, count]
    total_marks = ", ".join(["(%s, %s, %s, %s)"] * len(totals))
    by_hour: dict[dt.datetime, list[int]] = {}
    for (hour, _type, result, _failure), count in cells.items():
        sums = by_hour.setdefault(hour, [0, 0])
        sums[0] += count
        if result != "success":
            sums[1] += count
    lean = quote(DomainHourlyTotal._meta.db_table)
    lean_values = []
    for hour, (deliveries, failed) in sorted(by_hour.items()):
        lean_values += [hour_field.get_db_prep_save(hour, connection), domain_id]
        lean_values += [deliveries, failed]
    lean_marks = ", ".join(["(%s, %s, %s, %s)"] * len(by_hour))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (domain_id, hour, notify_type, notify_result, failure_class, "  # noqa: S608
            f"count) VALUES {marks} ON CONFLICT (domain_id, hour, notify_type, notify_result, "
            f"failure_class) DO UPDATE SET count = {table}.count + excluded.count",
            values,
        )
        cursor.execute(
            f"INSERT INTO {daily} (domain_id, day, notify_result, failure_class, count) "  # noqa: S608
            f"VALUES {day_marks} ON CONFLICT (domain_id, day, notify_result, failure_class) "
            f"DO UPDATE SET count = {daily}.count + excluded.count",
            day_values,
        )
        cursor.execute(
            f"INSERT INTO {total} (hour, notify_result, failure_class, count) "  # noqa: S608
            f"VALUES {total_marks} ON CONFLICT (hour, notify_result, failure_class) "
            f"DO UPDATE SET count = {total}.count + excluded.count",
            total_values,
        )
        cursor.execute(
            f"INSERT INTO {lean} (hour, domain_id, deliveries, failed) "  # noqa: S608
            f"VALUES {lean_marks} ON CONFLICT (hour, domain_id) DO UPDATE SET "
            f"deliveries = {lean}.deliveries + excluded.deliveries, "
            f"failed = {lean}.failed + excluded.failed",
            lean_values,
        )


def rollups_rebuild(
    *, start: dt.datetime, end: dt.datetime, domains: list[Domain], now: dt.datetime | None = None
) -> tuple[int, list[str]]:
    """Recount the rollups of whole hours from `start` to `end` from the archived records.

    Each domain is recounted in one transaction holding its harvest cursor, so no harvester
    adds to its rollups meanwhile; a domain a harvester holds right now is left for later.
    The all-domains rollups of the range are then summed again from the hourly ones.
    Returns (cells written, names of the domains skipped as busy)."""
    from django.db.models import Count
    from django.db.models.functions import Trunc

    now = now or timezone.now()
    first = hour_of(start)
    stop = hour_of(end)
    if stop < end:
        stop += dt.timedelta(hours=1)
    written, busy = 0, []
    for domain in domains:
        with transaction.atomic():
            cursor = (
                HarvestCursor.objects.select_for_update(skip_locked=True)
                .filter(domain=domain)
                .first()
            )
            held = HarvestCursor.objects.filter(domain=domain).exists() and cursor is None
            leased = bool(cursor and cursor.lease_until and cursor.lease_until > now)
            if held or leased:
                busy.append(domain.name)
                continue
            HourlyRollup.objects.filter(domain=domain, hour__gte=first, hour__lt=stop).delete()
            cells = (
                ArchivedRecord.objects.filter(
                    domain=domain, notify_time__gte=first, notify_time__lt=stop
                )
                .annotate(cell=Trunc("notify_time", "hour", tzinfo=dt.UTC))
                .values("cell", "notify_type", "notify_result", "failure_class")
                .annotate(n=Count("id"))
                .order_by()
            )
            rows = [
                HourlyRollup(
                    domain=domain,
                    hour=c["cell"],
                    notify_type=c["notify_type"],
                    notify_result=c["notify_result"],
                    failure_class=c["failure_class"],
                    count=c["n"],
                )
                for c in cells
            ]
            HourlyRollup.objects.bulk_create(rows, batch_size=1000)
            written += len(rows)
            written += _hourly_totals_rebuild(domain, first, stop)
            written += _daily_rebuild(domain, first.date(), (stop - dt.timedelta(hours=1)).date())
    written += _totals_rebuild(first, stop)  # sums of the hourly ones, busy domains included
    return written, busy


def _hourly_totals_rebuild(domain: Domain, first: dt.datetime, stop: dt.datetime) -> int:
    """The domain's hourly totals of [first, stop) again, from its hourly rollups."""
    from django.db.models import Sum

    DomainHourlyTotal.objects.filter(domain=domain, hour__gte=first, hour__lt=stop).delete()
    cells = (
        HourlyRollup.objects.filter(domain=domain, hour__gte=first, hour__lt=stop)
        .values("hour")
        .annotate(
            deliveries=Sum("count"),
            failed=Sum("count", filter=~Q(notify_result="success"), default=0),
        )
        .order_by()
    )
    rows = [DomainHourlyTotal(domain=domain, **cell) for cell in cells]
    DomainHourlyTotal.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _totals_rebuild(first: dt.datetime, stop: dt.datetime) -> int:
    """The all-domains rollups of [first, stop) again, from the hourly ones. On PostgreSQL the
    table is locked against harvesters' additions meanwhile (they wait a moment): a sum taken
    while one adds would lose its addition."""
    from django.db.models import Sum

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(TotalHourlyRollup._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        TotalHourlyRollup.objects.filter(hour__gte=first, hour__lt=stop).delete()
        cells = (
            HourlyRollup.objects.filter(hour__gte=first, hour__lt=stop)
            .values("hour", "notify_result", "failure_class")
            .annotate(n=Sum("count"))
            .order_by()
        )
        rows = [
            TotalHourlyRollup(
                hour=c["hour"],
                notify_result=c["notify_result"],
                failure_class=c["failure_class"],
                count=c["n"],
            )
            for c in cells
        ]
        TotalHourlyRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _daily_rebuild(domain: Domain, first_day: dt.date, last_day: dt.date) -> int:
    """The daily rollups of [first_day, last_day] again, from the hourly ones."""
    from django.db.models import Sum
    from django.db.models.functions import TruncDate

    DailyRollup.objects.filter(domain=domain, day__gte=first_day, day__lte=last_day).delete()
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    cells = (
        HourlyRollup.objects.filter(domain=domain, hour__gte=start, hour__lt=end)
        .annotate(cell=TruncDate("hour", tzinfo=dt.UTC))
        .values("cell", "notify_result", "failure_class")
        .annotate(n=Sum("count"))
        .order_by()
    )
    rows = [
        DailyRollup(
            domain=domain,
            day=c["cell"],
            notify_result=c["notify_result"],
            failure_class=c["failure_class"],
            count=c["n"],
        )
        for c in cells
    ]
    DailyRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- leases ----------------------------------------------------------------------------------


def cursors_ensure() -> None:
    """A cursor for every streaming domain that is still upstream."""
    have = set(HarvestCursor.objects.values_list("domain_id", flat=True))
    wanted = Domain.objects.filter(gone_at__isnull=True, domain_type=Domain.Type.STREAMING).exclude(
        pk__in=have
    )
    HarvestCursor.objects.bulk_create(
        [HarvestCursor(domain=d) for d in wanted], ignore_conflicts=True
    )


def cursor_claim(*, owner: str, now: dt.datetime) -> HarvestCursor | None:
    """Lease the domain that has waited longest, if any is due. Atomic: of any number of
    harvesters asking at once, exactly one gets each domain."""
    lease = dt.timedelta(seconds=settings.ARCHIVE_HARVEST_LEASE)
    due = (
        HarvestCursor.objects.filter(
            domain__gone_at__isnull=True, domain__domain_type=Domain.Type.STREAMING
        )
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by(F("next_run_at").asc(nulls_first=True), "pk")
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = list(due.select_for_update(skip_locked=True, of=("self",))[:1])
        else:
            candidates = list(due[:5])
        for candidate in candidates:
            taken = (
                HarvestCursor.objects.filter(pk=candidate.pk)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .update(lease_owner=owner, lease_until=now + lease)
            )
            if taken:
                return HarvestCursor.objects.select_related("domain").get(pk=candidate.pk)
    return None


def _still_mine(cursor: HarvestCursor, owner: str, **fields) -> bool:
    """Write `fields` (and renew the lease) only while the lease is ours."""
    lease = dt.timedelta(seconds=settings.ARCHIVE_HARVEST_LEASE)
    return bool(
        HarvestCursor.objects.filter(pk=cursor.pk, lease_owner=owner).update(
            lease_until=timezone.now() + lease, **fields
        )
    )


def cursor_release(cursor: HarvestCursor, owner: str, **fields) -> None:
    HarvestCursor.objects.filter(pk=cursor.pk, lease_owner=owner).update(
        lease_owner="", lease_until=None, **fields
    )


# --- one domain ------------------------------------------------------------------------------


def _slices(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    slices = []
    while start < end:
        stop = min(start + SLICE, end)
        slices.append((start, stop))
        start = stop
    return slices


def fetch_slice(
    domain_name: str, start: dt.datetime, end: dt.datetime, *, threaded: bool = True
) -> Iterator[list[NotifyRecord]]:
    """Every record of one window, page after page, each page as it arrives. Raises
    UpstreamError."""
    client = get_client()
    page_number = 1
    try:
        while True:
            with upstream_errors():
                page = client.describe_notify_records(
                    domain_name,
                    start=start,
                    end=end,
                    page_number=page_number,
                    page_size=RECORDS_PAGE_SIZE_MAX,
                    lane=HARVEST_LANE,
                    deadline=120.0,
                )
            yield page.records
            if page_number >= page.total_page or not page.records:
                return
            page_number += 1
    finally:
        if threaded:
            connections.close_all()  # the embedded sandbox opened this thread's connections


# Pages are stored as they arrive, a few together: storing starts with a window's first pages
# rather than after its last (a day of a busy domain is ~60 pages), and a transaction still
# carries enough rows to keep the rollup and incident upserts few.
STORE_BATCH = 5000


def window_rows(
    domain: Domain, window: tuple[dt.datetime, dt.datetime], now: dt.datetime, *, threaded: bool
) -> Iterator[list[dict]]:
    """One window's records as archive rows (classified, fingerprinted), in batches of about
    STORE_BATCH — built by the thread that fetched them."""
    batch: list[dict] = []
    for records in fetch_slice(domain.name, *window, threaded=threaded):
        batch += [archive_row(domain, r, now) for r in records if r.notify_time]
        if len(batch) >= STORE_BATCH:
            yield batch
            batch = []
    yield batch


_END = object()


class _Waiting:
    """Rows a domain's fetching threads have handed over and its storing has not yet taken:
    what a pass holds in memory for it."""

    def __init__(self) -> None:
        self.rows = 0
        self._lock = threading.Lock()

    def add(self, rows: int) -> None:
        with self._lock:
            self.rows += rows


def _pump(
    domain: Domain,
    window: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    out: Queue,
    waiting: _Waiting,
) -> None:
    """A fetching thread: one window's batches into `out`, then _END — or the error, which
    the storing thread raises where it would have met it."""
    try:
        for batch in window_rows(domain, window, now, threaded=True):
            waiting.add(len(batch))
            out.put(batch)
        out.put(_END)
    except BaseException as failure:  # noqa: BLE001 - handed over to the storing thread
        out.put(failure)


def _drain(out: Queue) -> Iterator[list[dict]]:
    while (item := out.get()) is not _END:
        if isinstance(item, BaseException):
            raise item
        yield item


@dataclass
class DomainHarvest:
    domain: str
    fetched: int = 0
    inserted: int = 0
    error: str = ""


@dataclass
class _Job:
    """One leased domain whose slices are being fetched (possibly while another is stored)."""

    cursor: HarvestCursor
    now: dt.datetime
    slices: list[tuple[dt.datetime, dt.datetime]]
    results: Iterator[Iterator[list[dict]]]  # per window, its batches of rows
    threaded: bool = False
    waiting: _Waiting = field(default_factory=_Waiting)


def _start(cursor: HarvestCursor, now: dt.datetime, pool) -> _Job:
    """Ask for every slice of one domain, from its cursor (minus the overlap) up to `now`."""
    now = now.replace(microsecond=0)  # the API's times are whole seconds
    oldest = now - RECORDS_WINDOW + EDGE_MARGIN
    overlap = dt.timedelta(seconds=settings.ARCHIVE_HARVEST_OVERLAP)
    start = max(cursor.harvested_until - overlap, oldest) if cursor.harvested_until else oldest
    slices = _slices(start, now)
    domain = cursor.domain
    waiting = _Waiting()
    if not isinstance(pool, _Inline):
        queues = [Queue() for _ in slices]
        for window, out in zip(slices, queues, strict=True):
            pool.submit(_pump, domain, window, now, out, waiting)
        results = (_drain(out) for out in queues)
    else:
        results = (window_rows(domain, window, now, threaded=False) for window in slices)
    return _Job(
        cursor=cursor,
        now=now,
        slices=slices,
        results=results,
        threaded=not isinstance(pool, _Inline),
        waiting=waiting,
    )


def _finish(
    job: _Job, owner: str, on_new: Callable[[Domain, list[Inserted]], None] | None
) -> DomainHarvest:
    """Store one domain's windows, moving its cursor past each whole window — never past one
    that is not stored yet (a batch stored before an error is stored again harmlessly, as a
    duplicate, next time). On PostgreSQL with fetching threads, ARCHIVE_STORE_THREADS threads
    store windows at once, each on its own connection (one storing thread was the backfill's
    bottleneck); every table's rows are written in key order, so they never deadlock."""
    domain = job.cursor.domain
    outcome = DomainHarvest(domain=domain.name)
    windows = list(zip(job.slices, job.results, strict=True))
    lock = threading.Lock()
    stored: set[int] = set()
    failures: dict[int, BaseException] = {}
    state = {"next": 0, "prefix": 0, "lost": False}

    def store(batches: Iterator[list[dict]]) -> None:
        for rows in batches:
            new = records_insert(rows)
            if job.threaded:
                job.waiting.add(-len(rows))
            with lock:
                outcome.fetched += len(rows)
                outcome.inserted += len(new)
            if new:
                # Incidents, alerts …: after the insert's transaction, each in its own.
                records_archived.send(sender=ArchivedRecord, domain=domain, records=new)
                if on_new is not None:
                    on_new(domain, new)

    def storer() -> None:
        while True:
            with lock:
                if failures or state["lost"] or state["next"] >= len(windows):
                    return
                index = state["next"]
                state["next"] += 1
            try:
                store(windows[index][1])
                with lock:
                    stored.add(index)
                    prefix = state["prefix"]
                    while prefix in stored:
                        prefix += 1
                    if prefix > state["prefix"]:
                        state["prefix"] = prefix
                        stop = windows[prefix - 1][0][1]
                        if not _still_mine(job.cursor, owner, harvested_until=stop):
                            state["lost"] = True
            except BaseException as failure:  # noqa: BLE001 - reported below, in order
                # (moving the cursor included: a storing thread must not die unheard)
                with lock:
                    failures[index] = failure
                return

    parallel = settings.ARCHIVE_STORE_THREADS > 1 and len(windows) > 1
    if parallel and job.threaded and connection.vendor == "postgresql":

        def in_thread() -> None:
            try:
                storer()
            finally:
                connections.close_all()  # this thread's own connections

        threads = [
            threading.Thread(target=in_thread, name=f"store-{n}")
            for n in range(settings.ARCHIVE_STORE_THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        storer()
    if state["lost"]:
        outcome.error = "lease lost"
        logger.warning("harvest: lease of %s lost mid-run", domain.name)
    elif failures:
        first = failures[min(failures)]  # the earliest window's: the cursor stopped there
        if isinstance(first, UpstreamError):
            outcome.error = first.describe()
        else:
            # a bug or a database refusal: said on the domain, logged with its traceback;
            # the pass goes on with the other domains
            logger.error(
                "harvest: %s failed",
                domain.name,
                exc_info=(type(first), first, first.__traceback__),
            )
            outcome.error = f"internal error: {type(first).__name__}: {first}"[:500]
    return outcome


def harvest_domain(
    *,
    cursor: HarvestCursor,
    owner: str,
    now: dt.datetime,
    pool: ThreadPoolExecutor | _Inline,
    on_new: Callable[[Domain, list[Inserted]], None] | None = None,
) -> DomainHarvest:
    """Harvest one leased domain from its cursor up to `now`."""
    return _finish(_start(cursor, now, pool), owner, on_new)


# --- a pass over every due domain --------------------------------------------------------------


@dataclass
class HarvestReport:
    domains: list[DomainHarvest] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(d.inserted for d in self.domains)

    @property
    def fetched(self) -> int:
        return sum(d.fetched for d in self.domains)

    @property
    def failed(self) -> list[DomainHarvest]:
        return [d for d in self.domains if d.error]


# How many domains a threaded pass fetches ahead of the ones it is storing, and how many it
# stores at once (PostgreSQL: each with ARCHIVE_STORE_THREADS threads of its own).
FETCH_AHEAD = 8
STORE_DOMAINS = 2
MAX_WAITING = 100_000  # rows fetched and not yet stored (~2 KB each in memory)


def _finish_in_thread(
    job: _Job, owner: str, on_new: Callable[[Domain, list[Inserted]], None] | None
) -> DomainHarvest:
    try:
        return _finish(job, owner, on_new)
    finally:
        connections.close_all()  # this thread's own connections


def harvest_pass(
    *,
    owner: str | None = None,
    now: Callable[[], dt.datetime] = timezone.now,
    progress: Callable[[DomainHarvest], None] | None = None,
    on_new: Callable[[Domain, list[Inserted]], None] | None = None,
    max_domains: int | None = None,
) -> HarvestReport:
    """Harvest every domain that is due, once. Safe to run in many processes at once."""
    owner = owner or owner_name()
    report = HarvestReport()
    cursors_ensure()
    interval = dt.timedelta(seconds=settings.ARCHIVE_HARVEST_INTERVAL)
    workers = settings.ARCHIVE_HARVEST_WORKERS
    pool = (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harvest")
        if workers > 1
        else _Inline()
    )
    claimed = 0

    def claim_next() -> _Job | None:
        nonlocal claimed
        if max_domains is not None and claimed >= max_domains:
            return None
        cursor = cursor_claim(owner=owner, now=now())
        if cursor is None:
            return None
        claimed += 1
        return _start(cursor, now(), pool)

    with pool:
        threaded = not isinstance(pool, _Inline)
        # Domains ahead: their pages are fetched while earlier ones are being stored, so the
        # harvest lane's budget is not left idle between domains (with one ahead, the lane
        # sat idle while a busy domain's last windows were stored). Fetched rows wait in
        # memory: no further domain is claimed while MAX_WAITING rows wait to be stored (a
        # domain already claimed is fetched whole); their leases are renewed meanwhile.
        ahead = FETCH_AHEAD if threaded else 0
        # On PostgreSQL, STORE_DOMAINS domains are stored at once: a domain fetched already
        # is stored while a busier one's pages are still arriving.
        at_once = STORE_DOMAINS if threaded and connection.vendor == "postgresql" else 1
        pending: deque[_Job] = deque()
        storing: dict[Future, _Job] = {}
        finishers = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="store-domain")

        def finished(job: _Job, outcome: DomainHarvest) -> None:
            _release_after(job.cursor, owner, outcome, interval)
            report.domains.append(outcome)
            if progress:
                progress(outcome)

        try:
            while True:
                while (
                    len(pending) <= ahead
                    and sum(j.waiting.rows for j in (*pending, *storing.values())) < MAX_WAITING
                    and (job := claim_next()) is not None
                ):
                    pending.append(job)
                if at_once == 1:
                    if not pending:
                        break
                    job = pending.popleft()
                    finished(job, _finish(job, owner, on_new))
                else:
                    while pending and len(storing) < at_once:
                        job = pending.popleft()
                        storing[finishers.submit(_finish_in_thread, job, owner, on_new)] = job
                    if not storing:
                        break
                    done, _ = futures.wait(storing, return_when=futures.FIRST_COMPLETED)
                    for future in done:
                        finished(storing.pop(future), future.result())
                for queued in pending:
                    _still_mine(queued.cursor, owner)
        except BaseException:
            # The domains still being stored are finished and released as usual; the ones
            # waiting their turn are free for another harvester at once.
            for future in futures.as_completed(storing):
                if future.exception() is None:
                    finished(storing[future], future.result())
            for queued in pending:
                cursor_release(queued.cursor, owner)
            raise
        finally:
            finishers.shutdown(wait=True)
    archive_purge(now=now())
    return report


def _release_after(
    cursor: HarvestCursor, owner: str, outcome: DomainHarvest, interval: dt.timedelta
) -> None:
    finished = timezone.now()
    fields = {"last_run_at": finished, "last_records": outcome.inserted}
    if outcome.error:
        fields.update(
            last_error=outcome.error[:500],
            last_error_at=finished,
            # Retry soon, but not in a tight loop against a failing upstream.
            next_run_at=finished + min(interval * 4, dt.timedelta(minutes=5)),
        )
        logger.warning("harvest: %s: %s", cursor.domain.name, outcome.error)
    else:
        fields.update(last_error="", backfilled=True, next_run_at=finished + interval)
    cursor_release(cursor, owner, **fields)


# --- retention -------------------------------------------------------------------------------

PURGE_BATCH = 5000


def archive_purge(*, now: dt.datetime, max_batches: int = 200) -> int:
    """Delete records (and rollups) older than ARCHIVE_RETENTION_DAYS, in small batches so
    no reader waits long on a lock. Returns how many records went."""
    horizon = now - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS)
    removed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(
                ArchivedRecord.objects.filter(notify_time__lt=horizon)
                .order_by()
                .values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                break
            removed += ArchivedRecord.objects.filter(pk__in=ids).delete()[0]
    HourlyRollup.objects.filter(hour__lt=hour_of(horizon)).delete()
    DailyRollup.objects.filter(day__lt=horizon.astimezone(dt.UTC).date()).delete()
    TotalHourlyRollup.objects.filter(hour__lt=hour_of(horizon)).delete()
    DomainHourlyTotal.objects.filter(hour__lt=hour_of(horizon)).delete()
    # no records left of these (last_seen lags by at most NAME_SLACK)
    ArchivedName.objects.filter(last_seen__lt=horizon - NAME_SLACK).delete()
    return removed


def iter_follow(
    *, interval: float, stop: Callable[[], bool], sleep: Callable[[float], None]
) -> Iterator[HarvestReport]:
    """Harvest pass after pass until `stop()`; sleeps when nothing was due."""
    owner = owner_name()
    while not stop():
        try:
            report = harvest_pass(owner=owner)
        except Exception:  # noqa: BLE001 - a harvester that exits harvests nothing again
            logger.exception("harvest: the pass failed; trying again")
            connections.close_all()  # a lost database connection is opened afresh
            sleep(interval)
            continue
        yield report
        if not report.domains:
            sleep(interval)
