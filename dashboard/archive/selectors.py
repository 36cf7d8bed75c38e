"""Reading the archive: the explorer's search, counts, one record, freshness, failure totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from dashboard.domains.models import AuditEntry, Domain
from dashboard.domains.selectors import CONFIG_ACTIONS

from .models import ArchivedRecord, HarvestCursor, HourlyRollup


def records_search(*, filters: dict) -> QuerySet[ArchivedRecord]:
    """Archived records matching the explorer's filters, newest first.

    Every filter is optional except the window. App and stream match any part of the name in
    any case (trigram indexes on PostgreSQL); `q` looks in NotifyUrl, NotifyContent and
    NotifyResponse.
    """
    rows = ArchivedRecord.objects.filter(
        notify_time__gte=filters["start"], notify_time__lt=filters["end"]
    )
    if filters.get("domain_id"):
        rows = rows.filter(domain_id=filters["domain_id"])
    if filters.get("app"):
        rows = rows.filter(app_name__icontains=filters["app"])
    if filters.get("stream"):
        rows = rows.filter(stream_name__icontains=filters["stream"])
    if filters.get("status"):
        rows = rows.filter(notify_result=filters["status"])
    if filters.get("type"):
        rows = rows.filter(notify_type=filters["type"])
    if filters.get("failure"):
        rows = rows.filter(failure_class=filters["failure"])
    if filters.get("http"):
        rows = rows.filter(http_status=filters["http"])
    if filters.get("q"):
        text = filters["q"]
        rows = rows.filter(
            Q(notify_url__icontains=text)
            | Q(notify_content__icontains=text)
            | Q(notify_response__icontains=text)
        )
    return rows.order_by("-notify_time", "-id")


@dataclass(frozen=True)
class Counts:
    total: int
    capped: bool  # more than `total` match: the count stopped there
    success: int
    failed: int
    classes: list[tuple[str, int]]  # failure class, count; most first


COUNT_CAP = 100_000


def records_count(rows: QuerySet, *, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most `cap` (a bounded scan, even for huge matches)."""
    counted = rows.order_by().values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


# Filters the hourly rollups can answer (they have these dimensions); the others need records.
ROLLUP_FILTERS = {"domain_id", "status", "type", "failure"}
RECORD_ONLY_FILTERS = ("app", "stream", "http", "q")


def _floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def split_hours(
    start: dt.datetime, end: dt.datetime
) -> tuple[tuple[dt.datetime, dt.datetime] | None, list[tuple[dt.datetime, dt.datetime]]]:
    """[start, end) as its whole hours (for the rollups; None when there are none) and the
    partial hours at its edges (for the records)."""
    first_whole = _floor_hour(start)
    if first_whole < start:
        first_whole += dt.timedelta(hours=1)
    last_whole = _floor_hour(end)
    if first_whole >= last_whole:
        return None, [(start, end)]
    edges = [(start, first_whole), (last_whole, end)]
    return (first_whole, last_whole), [(a, b) for a, b in edges if a < b]


def _rollup_groups(filters: dict) -> list[dict] | None:
    """(result, class, n) groups for `filters` from the rollups plus the partial hours at the
    window's two edges from the records: exact, and O(hours). None when a filter needs the
    records themselves."""
    if any(filters.get(name) for name in RECORD_ONLY_FILTERS):
        return None
    whole, edges = split_hours(filters["start"], filters["end"])
    cells = HourlyRollup.objects.all()
    if filters.get("domain_id"):
        cells = cells.filter(domain_id=filters["domain_id"])
    if filters.get("status"):
        cells = cells.filter(notify_result=filters["status"])
    if filters.get("type"):
        cells = cells.filter(notify_type=filters["type"])
    if filters.get("failure"):
        cells = cells.filter(failure_class=filters["failure"])
    groups: list[dict] = []
    if whole:
        groups += list(
            cells.filter(hour__gte=whole[0], hour__lt=whole[1])
            .values("notify_result", "failure_class")
            .annotate(n=Sum("count"))
            .order_by()
        )
    for edge_start, edge_end in edges:
        rows = records_search(filters={**filters, "start": edge_start, "end": edge_end})
        groups += list(
            rows.order_by().values("notify_result", "failure_class").annotate(n=Count("pk"))
        )
    return groups


def records_counts(rows: QuerySet, *, filters: dict | None = None) -> Counts:
    """Counts by result and failure class for the current filters (above the table)."""
    groups = _rollup_groups(filters) if filters is not None else None
    if groups is None:
        total, capped = records_count(rows)
        if capped:
            return Counts(total=total, capped=True, success=0, failed=0, classes=[])
        groups = list(
            rows.order_by().values("notify_result", "failure_class").annotate(n=Count("pk"))
        )
    else:
        total = sum(g["n"] for g in groups)
    success = sum(g["n"] for g in groups if g["notify_result"] == "success")
    classes: dict[str, int] = {}
    for g in groups:
        if g["notify_result"] != "success":
            classes[g["failure_class"] or "other"] = (
                classes.get(g["failure_class"] or "other", 0) + g["n"]
            )
    return Counts(
        total=total,
        capped=False,
        success=success,
        failed=total - success,
        classes=sorted(classes.items(), key=lambda item: (-item[1], item[0])),
    )


def record_get(*, pk: int) -> ArchivedRecord | None:
    return ArchivedRecord.objects.select_related("domain").filter(pk=pk).first()


def config_at(*, record: ArchivedRecord) -> tuple[dict | None, AuditEntry | None]:
    """The domain's recording-callback config when the record was sent, from the audit log:
    the state after the latest change before that moment. (None, None) when no change is
    recorded before it."""
    entry = (
        AuditEntry.objects.filter(
            domain_id=record.domain_id,
            kind="record",
            action__in=CONFIG_ACTIONS,
            outcome=AuditEntry.Outcome.SUCCESS,
            created_at__lte=record.notify_time,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if entry is None:
        return None, None
    return entry.after, entry


# --- freshness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    oldest: dt.datetime | None
    newest: dt.datetime | None
    harvested_until: dt.datetime | None  # every domain is complete up to here
    lag: dt.timedelta | None
    domains: int
    pending: list[str]  # not harvested yet (no backfill finished)
    failing: list[tuple[str, str]]  # (domain, last error)


def archive_freshness(*, now: dt.datetime | None = None) -> Freshness:
    now = now or timezone.now()
    cursors = list(
        HarvestCursor.objects.filter(
            domain__gone_at__isnull=True, domain__domain_type=Domain.Type.STREAMING
        ).select_related("domain")
    )
    done = [c.harvested_until for c in cursors if c.harvested_until]
    until = min(done) if done and len(done) == len(cursors) else None
    span = ArchivedRecord.objects.aggregate(oldest=Min("notify_time"), newest=Max("notify_time"))
    return Freshness(
        oldest=span["oldest"],
        newest=span["newest"],
        harvested_until=until,
        lag=(now - until) if until else None,
        domains=len(cursors),
        pending=sorted(c.domain.name for c in cursors if not c.backfilled),
        failing=sorted((c.domain.name, c.last_error) for c in cursors if c.last_error),
    )


def domain_harvested_until(*, domain_id: int) -> dt.datetime | None:
    return (
        HarvestCursor.objects.filter(domain_id=domain_id, backfilled=True)
        .values_list("harvested_until", flat=True)
        .first()
    )


# --- failure totals from the rollups -------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    total: int
    failed: int

    @property
    def rate(self) -> float | None:
        return self.failed / self.total if self.total else None


PERIODS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7), "30d": dt.timedelta(days=30)}


def failure_totals(
    *, domain_ids: list[int] | None = None, now: dt.datetime | None = None
) -> dict[int, dict[str, Totals]]:
    """Deliveries and failures per domain over 24 h, 7 d and 30 d, in one query on the
    rollups (whole hours: the current hour counts as far as it is harvested)."""
    now = now or timezone.now()
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    starts = {name: hour - delta + dt.timedelta(hours=1) for name, delta in PERIODS.items()}
    rows = HourlyRollup.objects.filter(hour__gte=min(starts.values()))
    if domain_ids is not None:
        rows = rows.filter(domain_id__in=domain_ids)
    aggregates = {}
    for name, start in starts.items():
        aggregates[f"{name}_total"] = Sum("count", filter=Q(hour__gte=start))
        aggregates[f"{name}_failed"] = Sum(
            "count", filter=Q(hour__gte=start, notify_result="failed")
        )
    result: dict[int, dict[str, Totals]] = {}
    for row in rows.values("domain_id").annotate(**aggregates).order_by():
        result[row["domain_id"]] = {
            name: Totals(row[f"{name}_total"] or 0, row[f"{name}_failed"] or 0) for name in PERIODS
        }
    return result


def delivery_counts(
    *, domain_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[int, Totals]:
    """Deliveries and failures per domain in [start, end): the whole hours from the rollups,
    the partial hours at the two edges from the records. Exact, and O(hours + edge records)."""
    counts: dict[int, list[int]] = {d: [0, 0] for d in domain_ids}
    whole, edges = split_hours(start, end)
    queries = []
    if whole:
        queries.append(
            HourlyRollup.objects.filter(
                domain_id__in=domain_ids, hour__gte=whole[0], hour__lt=whole[1]
            )
            .values("domain_id", "notify_result")
            .annotate(n=Sum("count"))
        )
    for edge_start, edge_end in edges:
        queries.append(
            ArchivedRecord.objects.filter(
                domain_id__in=domain_ids, notify_time__gte=edge_start, notify_time__lt=edge_end
            )
            .values("domain_id", "notify_result")
            .annotate(n=Count("pk"))
        )
    for query in queries:
        for row in query.order_by():
            counts[row["domain_id"]][0] += row["n"]
            if row["notify_result"] != "success":
                counts[row["domain_id"]][1] += row["n"]
    return {d: Totals(total, failed) for d, (total, failed) in counts.items()}


def harvested_until_by_domain(*, domain_ids: list[int]) -> dict[int, dt.datetime]:
    """How far each domain's archive is complete (backfilled domains only)."""
    return dict(
        HarvestCursor.objects.filter(
            domain_id__in=domain_ids, backfilled=True, harvested_until__isnull=False
        ).values_list("domain_id", "harvested_until")
    )
