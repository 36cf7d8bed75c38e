"""The archive's rollups: deliveries counted per domain by hour (× type × result × class) and
by day, per domain by hour without types or classes, every domain together by hour, and per
app and stream name by day (NameDailyRollup: the counts of a search by part of a name).

`rollups_add` counts new records in as they are stored (sums: batches in any order give the
same; on PostgreSQL the same sums are made by the database, `rollups_add_sql`, in the statement
that inserts the records); `rollups_rebuild` recounts whole hours from the records themselves
(`manage.py rebuild_rollups`), idempotently.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Trunc, TruncDate
from django.utils import timezone

from dashboard.bulk import q, rows_insert, staged_insert, staging_table
from dashboard.domains.models import Domain

from .models import (
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HarvestWindow,
    HourlyRollup,
    NameDailyRollup,
    TotalHourlyRollup,
)

if TYPE_CHECKING:
    from .store import Inserted


def _upsert(model, keys: list[str], counts: dict, adds: list[str]) -> None:
    """Add `counts` ({key tuple: (values…)}) to `model`'s rows."""
    table = q(model._meta.db_table)
    conflict = ", ".join(q(model._meta.get_field(k).column) for k in keys)
    sums = ", ".join(f"{q(a)} = {table}.{q(a)} + excluded.{q(a)}" for a in adds)
    rows_insert(
        model,
        [*keys, *adds],
        [(*key, *values) for key, values in counts.items()],
        order=keys,
        tail=f"ON CONFLICT ({conflict}) DO UPDATE SET {sums}",
    )


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def rollups_add(*, domain_id: int, records: list[Inserted]) -> None:
    """Count new records into the four rollups (sums: any order of batches gives the same)."""
    cells = Counter(
        (hour_of(r.notify_time), r.notify_type, r.notify_result, r.failure_class) for r in records
    )
    hourly, daily, totals, lean = Counter(), Counter(), Counter(), {}
    for (hour, kind, result, failure), n in cells.items():
        hourly[(domain_id, hour, kind, result, failure)] += n
        daily[(domain_id, hour.date(), result, failure)] += n
        totals[(hour, result, failure)] += n
        deliveries, failed = lean.get((hour, domain_id), (0, 0))
        lean[(hour, domain_id)] = (deliveries + n, failed + (n if result != "success" else 0))
    keys = ["domain", "hour", "notify_type", "notify_result", "failure_class"]
    _upsert(HourlyRollup, keys, {k: (n,) for k, n in hourly.items()}, ["count"])
    keys = ["domain", "day", "notify_result", "failure_class"]
    _upsert(DailyRollup, keys, {k: (n,) for k, n in daily.items()}, ["count"])
    keys = ["hour", "notify_result", "failure_class"]
    _upsert(TotalHourlyRollup, keys, {k: (n,) for k, n in totals.items()}, ["count"])
    _upsert(DomainHourlyTotal, ["hour", "domain"], lean, ["deliveries", "failed"])
    # the names' days (the records' times are UTC here)
    named = Counter(
        (r.app_name, r.stream_name, r.notify_time.date(), r.notify_result, r.failure_class)
        for r in records
    )
    names: Counter = Counter()
    for (app, stream, day, result, failure), n in named.items():
        names[("app", app, day, domain_id, result, failure)] += n
        names[("stream", stream, day, domain_id, result, failure)] += n
    keys = ["field", "name", "day", "domain", "notify_result", "failure_class"]
    _upsert(NameDailyRollup, keys, {k: (n,) for k, n in names.items()}, ["count"])


def rollups_add_sql(new: str) -> list[str]:
    """On PostgreSQL, the sums `rollups_add` makes, as data-modifying CTEs of the statement that
    inserts the records: grouped from `new` (the CTE of the records just inserted, with their
    domain_id, notify_time, notify_type, notify_result, failure_class, app_name and
    stream_name) and added to the rollups in key order. The database groups 5,000 records in a
    few milliseconds of its own CPU, where counting them in Python was a tenth of the
    harvester's. Makes the all-domains rollup's staging table if the connection has none."""
    hour = "date_trunc('hour', notify_time, 'UTC')"
    day = "(notify_time AT TIME ZONE 'UTC')::date"
    failed = "count(*) FILTER (WHERE notify_result <> 'success')"
    names = (
        f"(SELECT domain_id, f.field, f.name, {day} AS day, notify_result, failure_class "  # noqa: S608
        f"FROM {new} CROSS JOIN LATERAL (VALUES ('app', app_name), ('stream', stream_name)) "
        "AS f (field, name))"
    )
    cells = [
        (HourlyRollup, ["domain", "hour", "notify_type", "notify_result", "failure_class"],
         ["domain_id", hour, "notify_type", "notify_result", "failure_class"],
         {"count": "count(*)"}, new),
        (DailyRollup, ["domain", "day", "notify_result", "failure_class"],
         ["domain_id", day, "notify_result", "failure_class"], {"count": "count(*)"}, new),
        (DomainHourlyTotal, ["hour", "domain"], [hour, "domain_id"],
         {"deliveries": "count(*)", "failed": failed}, new),
        (NameDailyRollup, ["field", "name", "day", "domain", "notify_result", "failure_class"],
         ["field", "name", "day", "domain_id", "notify_result", "failure_class"],
         {"count": "count(*)"}, f"{names} AS named"),
    ]  # fmt: skip
    # Every domain's batches add to the same rows of the all-domains rollup: its cells go to
    # the staging table here and into the table last of all (rollups_totals_add), so its rows
    # are locked only from the transaction's last statement to its commit.
    ctes = [
        f"add_totals AS (INSERT INTO {staging_table(TotalHourlyRollup)} "  # noqa: S608
        f"(hour, notify_result, failure_class, count) SELECT {hour}, notify_result, "
        f"failure_class, count(*) FROM {new} GROUP BY 1, 2, 3)"
    ]
    for model, keys, exprs, adds, source in cells:
        table = q(model._meta.db_table)
        columns = ", ".join(q(model._meta.get_field(k).column) for k in keys)
        positions = ", ".join(str(n) for n in range(1, len(keys) + 1))
        sums = ", ".join(f"{q(a)} = {table}.{q(a)} + excluded.{q(a)}" for a in adds)
        ctes.append(
            f"{q('add_' + model._meta.model_name)} AS (INSERT INTO {table} ({columns}, "  # noqa: S608
            f"{', '.join(q(a) for a in adds)}) SELECT {', '.join(exprs)}, "
            f"{', '.join(adds.values())} FROM {source} GROUP BY {positions} "
            f"ORDER BY {positions} ON CONFLICT ({columns}) DO UPDATE SET {sums})"
        )
    return ctes


def rollups_totals_add() -> None:
    """PostgreSQL: add the all-domains cells rollups_add_sql staged to the table (call it
    last in the transaction)."""
    table = q(TotalHourlyRollup._meta.db_table)
    keys = ["hour", "notify_result", "failure_class"]
    staged_insert(
        TotalHourlyRollup,
        [*keys, "count"],
        order=keys,
        tail=f"ON CONFLICT (hour, notify_result, failure_class) DO UPDATE SET "
        f"count = {table}.count + excluded.count",
    )


def rollups_rebuild(
    *, start: dt.datetime, end: dt.datetime, domains: list[Domain], now: dt.datetime | None = None
) -> tuple[int, list[str]]:
    """Recount the rollups of whole hours from `start` to `end` from the archived records.

    Each domain is recounted in one transaction holding its harvest cursor exclusively (a
    batch being stored holds it shared: it waits, or the recount waits for it); a domain with
    a window leased right now is left for later. The all-domains rollups of the range are then
    summed again from the hourly ones. Returns (cells written, names of the domains skipped)."""
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
            held = cursor is None and HarvestCursor.objects.filter(domain=domain).exists()
            leased = HarvestWindow.objects.filter(domain=domain, lease_until__gt=now).exists()
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
            last_day = (stop - dt.timedelta(hours=1)).date()
            written += _daily_rebuild(domain, first.date(), last_day)
            written += _names_rebuild(domain, first.date(), last_day)
    written += _totals_rebuild(first, stop)  # sums of the hourly ones, busy domains included
    return written, busy


def _hourly_totals_rebuild(domain: Domain, first: dt.datetime, stop: dt.datetime) -> int:
    """The domain's hourly totals of [first, stop) again, from its hourly rollups."""
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
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = q(TotalHourlyRollup._meta.db_table)
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


def _names_rebuild(domain: Domain, first_day: dt.date, last_day: dt.date) -> int:
    """The names' daily counts of [first_day, last_day] again, from the records of those whole
    days."""
    NameDailyRollup.objects.filter(domain=domain, day__gte=first_day, day__lte=last_day).delete()
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    records = ArchivedRecord.objects.filter(
        domain=domain, notify_time__gte=start, notify_time__lt=end
    ).annotate(day=TruncDate("notify_time", tzinfo=dt.UTC))
    rows = [
        NameDailyRollup(
            domain=domain,
            field=field,
            name=c[column],
            day=c["day"],
            notify_result=c["notify_result"],
            failure_class=c["failure_class"],
            count=c["n"],
        )
        for field, column in (("app", "app_name"), ("stream", "stream_name"))
        for c in records.values(column, "day", "notify_result", "failure_class")
        .annotate(n=Count("id"))
        .order_by()
    ]
    NameDailyRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rollups_purge(*, horizon: dt.datetime) -> None:
    """Drop the rollups of the hours and days before `horizon`."""
    HourlyRollup.objects.filter(hour__lt=hour_of(horizon)).delete()
    DailyRollup.objects.filter(day__lt=horizon.astimezone(dt.UTC).date()).delete()
    NameDailyRollup.objects.filter(day__lt=horizon.astimezone(dt.UTC).date()).delete()
    TotalHourlyRollup.objects.filter(hour__lt=hour_of(horizon)).delete()
    DomainHourlyTotal.objects.filter(hour__lt=hour_of(horizon)).delete()
