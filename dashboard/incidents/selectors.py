"""Reading incidents, and the charts' data: deliveries per hour or day, config-change markers."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    DateTimeField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from dashboard.archive.models import (
    ArchivedRecord,
    DomainHourlyTotal,
    HourlyRollup,
    TotalHourlyRollup,
)
from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import config_changes
from dashboard.domains.models import Domain
from dashboard.periods import CHART_STEPS, SPANS

from .models import Incident


def in_state(state: str, now: dt.datetime) -> Q:
    """Incidents in `state` as people see it (Incident.effective_state): one muted until a time
    that has passed is open again, though its row says muted until its next failure."""
    ran_out = Q(state=Incident.State.MUTED, muted_until__lte=now)
    if state == Incident.State.OPEN:
        return Q(state=state) | ran_out
    if state == Incident.State.MUTED:
        return Q(state=state) & (Q(muted_until__gt=now) | Q(muted_until__isnull=True))
    return Q(state=state)


def incidents_list(now: dt.datetime | None = None) -> QuerySet[Incident]:
    """Open first (a mute that ran out by `now` is open), then acknowledged, muted and
    resolved; newest activity first."""
    now = now or timezone.now()
    order = Case(
        When(in_state(Incident.State.OPEN, now), then=Value(0)),
        When(state=Incident.State.ACKNOWLEDGED, then=Value(1)),
        When(state=Incident.State.MUTED, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        Incident.objects.select_related("domain", "domain__team", "acknowledged_by")
        .annotate(state_order=order)
        .order_by("state_order", "-last_seen", "-pk")
    )


def domain_open_incidents(*, domain: Domain) -> list[Incident]:
    return list(incidents_list().filter(domain=domain).exclude(state=Incident.State.RESOLVED))


def incident_samples(*, incident: Incident) -> list[ArchivedRecord]:
    found = {r.pk: r for r in ArchivedRecord.objects.filter(pk__in=incident.sample_ids)}
    return [found[pk] for pk in incident.sample_ids if pk in found]


def open_incident_counts(*, domain_ids: list[int]) -> dict[int, int]:
    rows = (
        Incident.objects.filter(domain_id__in=domain_ids)
        .exclude(state=Incident.State.RESOLVED)
        .values_list("domain_id")
        .order_by()
    )
    counts: dict[int, int] = {}
    for (domain_id,) in rows:
        counts[domain_id] = counts.get(domain_id, 0) + 1
    return counts


# --- charts ---------------------------------------------------------------------------------

PERIODS = {name: (SPANS[name], step) for name, step in CHART_STEPS.items()}
DEFAULT_PERIOD = "7d"


def chart_period(value: str | None) -> str:
    """The chart period asked for in the URL, or the default for anything else."""
    return value if value in PERIODS else DEFAULT_PERIOD


@dataclass
class Bucket:
    start: dt.datetime
    end: dt.datetime
    success: int = 0
    failed: int = 0
    classes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.success + self.failed

    @property
    def rate(self) -> float | None:
        return self.failed / self.total if self.total else None


@dataclass
class Marker:
    at: dt.datetime
    entry: AuditEntry


@dataclass
class Chart:
    period: str
    start: dt.datetime
    end: dt.datetime
    buckets: list[Bucket]
    markers: list[Marker]

    @property
    def peak(self) -> int:
        return max((b.total for b in self.buckets), default=0)


def _bucket_starts(start: dt.datetime, end: dt.datetime, step: dt.timedelta, zone) -> list:
    """Bucket boundaries: whole hours (UTC), or days where the reader is — each from the first
    whole hour (UTC) at or after its midnight, since the archive counts by the hour: midnight in
    Shanghai or New York; 00:30 in India, 00:45 in Nepal (a bar's title says when it runs)."""
    if step >= dt.timedelta(days=1):
        day = timezone.localtime(start, zone).replace(hour=0, minute=0, second=0, microsecond=0)
        points = []
        while (point := _hour_at_or_after(day)) < end:
            points.append(point)
            day = (day + dt.timedelta(days=1, hours=2)).replace(hour=0)  # DST-proof
        return points
    hour = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    points = []
    while hour < end:
        points.append(hour)
        hour += step
    return points


def _hour_at_or_after(moment: dt.datetime) -> dt.datetime:
    hour = moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return hour if hour == moment else hour + dt.timedelta(hours=1)


class BucketStart(Func):
    """The start of the bucket an hour's row falls in: the last of `starts` (sorted) at or
    before it. PostgreSQL sums each bucket's rows itself (`width_bucket` over the starts, no
    time zone name: the reader's zone need not be one the database knows); elsewhere the
    hour itself, and the chart puts it in its bucket."""

    output_field = DateTimeField()

    def __init__(self, expression, starts: list[dt.datetime]):
        super().__init__(expression)
        self.starts = [s.astimezone(dt.UTC) for s in starts]

    def as_sql(self, compiler, connection, **extra):
        return compiler.compile(self.source_expressions[0])

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        sql = f"(%s::timestamptz[])[width_bucket({sql}, %s::timestamptz[])]"
        return sql, (self.starts, *params, self.starts)


def domain_chart(*, domain: Domain | None, period: str, now: dt.datetime | None = None) -> Chart:
    """Deliveries per bucket (success / failed, failed by class) from the hourly rollups, and
    every recording/snapshot config change of the period (drift included) as a marker."""
    now = now or timezone.now()
    span, step = PERIODS[period]
    zone = timezone.get_current_timezone()
    end = now
    starts = _bucket_starts(now - span, now, step, zone)
    start = starts[0]
    buckets = [
        Bucket(start=s, end=(starts[i + 1] if i + 1 < len(starts) else end))
        for i, s in enumerate(starts)
    ]
    if domain is not None:
        cells = HourlyRollup.objects.filter(domain=domain)
    else:
        cells = TotalHourlyRollup.objects.all()  # every domain's, summed as they were archived
    cells = cells.filter(hour__gte=start.astimezone(dt.UTC), hour__lt=end)
    rows = (
        cells.annotate(slot=BucketStart("hour", starts))
        .values("slot", "notify_result", "failure_class")
        .annotate(n=Sum("count"))
        .order_by("slot")
    )
    index = 0
    for row in rows:
        while index + 1 < len(buckets) and row["slot"] >= buckets[index + 1].start:
            index += 1
        bucket = buckets[index]
        if row["notify_result"] == "success":
            bucket.success += row["n"]
        else:
            bucket.failed += row["n"]
            name = row["failure_class"] or "other"
            bucket.classes[name] = bucket.classes.get(name, 0) + row["n"]
    changes = config_changes(start=start, end=end, domain=domain, limit=200)
    markers = [Marker(at=e.created_at, entry=e) for e in changes]
    return Chart(period=period, start=start, end=end, buckets=buckets, markers=markers)


@dataclass(frozen=True)
class DayRate:
    """One day of the reader's zone (from the first whole UTC hour at or after its midnight,
    as the charts' day bars) and its failure rate (None: no deliveries)."""

    day: dt.date
    rate: float | None


def failure_sparklines(
    *, domain_ids: list[int] | None, days: int = 7, now: dt.datetime | None = None
) -> dict[int, list[DayRate]]:
    """Each domain's failure rate per day over the last `days` days where the reader is, today
    (so far) the last, from the hourly totals. `domain_ids=None`: every domain with deliveries
    in those days (a list of ids: only those, each even without deliveries)."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    starts = [_hour_at_or_after(dt.datetime.combine(d, dt.time(), tzinfo=zone)) for d in dates]
    totals: dict[int, list[list[int]]] = {
        d: [[0, 0] for _ in range(days)] for d in domain_ids or ()
    }
    rows = DomainHourlyTotal.objects.filter(hour__gte=starts[0], hour__lt=now)
    if domain_ids is not None:
        rows = rows.filter(domain_id__in=domain_ids)
    rows = (
        rows.annotate(slot=BucketStart("hour", starts))
        .values_list("domain_id", "slot")
        .annotate(n=Sum("deliveries"), failed=Sum("failed"))
        .order_by()
    )
    for domain_id, slot, n, failed in rows:
        if domain_id not in totals:
            totals[domain_id] = [[0, 0] for _ in range(days)]
        cell = totals[domain_id][bisect_right(starts, slot) - 1]
        cell[0] += n
        cell[1] += failed
    return {
        domain_id: [
            DayRate(day, failed / total if total else None)
            for day, (total, failed) in zip(dates, cells, strict=True)
        ]
        for domain_id, cells in totals.items()
    }
