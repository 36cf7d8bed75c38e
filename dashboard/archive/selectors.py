"""Reading the archive: the explorer's search, counts, one record, freshness, failure totals."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Case, Count, Max, Min, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from psycopg.types.datetime import TimestamptzLoader

from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import config_state_at
from dashboard.domains.models import Domain
from dashboard.domains.selectors import domain_family
from dashboard.invisible import INVISIBLE_RANGES, visible_text
from dashboard.ops.budget import heavy_search, time_limit
from dashboard.periods import TOTALS, spans, totals_end

from .filters import EXACT, RECORD_ONLY, exact, quoted
from .models import (
    NAME_SLACK,
    ArchivedName,
    ArchivedPushParam,
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HourlyRollup,
    NameDailyRollup,
    PushedSession,
    TotalHourlyRollup,
)
from .pushparams import parse_param

# At most this many names found by a substring are written into a search's query as a list.
NAMES_LISTED = 1_000


def names_matching(field: str, part: str, filters: dict) -> list[str] | QuerySet:
    """The app or stream names holding `part` (any case) seen since the window's start, of the
    filtered domain if there is one. The names first (thousands, trigram-indexed), then their
    records by exact name: written into the query as a list when there are not too many,
    PostgreSQL probes each day's index with the list itself (a subquery is joined to every
    partition, ninety times for ninety days). In quotes (`"cam1"`), that name exactly, in
    its case: the records of cam1 without cam10's."""
    name = quoted(part)
    if name is not None:
        return [name]
    held = _names_holding(field, part, filters)
    return names_reading_as(field, part, filters) if _holds_none(held) else held


def names_either(part: str, filters: dict) -> tuple[list[str] | QuerySet, list[str] | QuerySet]:
    """The header search's "any part of an app or stream": (apps, streams) as names_matching
    finds them, but the names reading as `part` (names_reading_as) only when neither an app
    nor a stream holds it as typed: `livetest` typed for the stream livetest does not bring
    the app `live<U+200B>test` with it (nor ask for it)."""
    name = quoted(part)
    if name is not None:
        return [name], [name]
    apps = _names_holding("app", part, filters)
    streams = _names_holding("stream", part, filters)
    if _holds_none(apps) and _holds_none(streams):
        return names_reading_as("app", part, filters), names_reading_as("stream", part, filters)
    return apps, streams


def _names_holding(field: str, part: str, filters: dict) -> list[str] | QuerySet:
    """The names holding `part` as typed (any case): a list, or a subquery past NAMES_LISTED."""
    found = ArchivedName.objects.filter(
        field=field, name__icontains=part, last_seen__gte=filters["start"] - NAME_SLACK
    )
    if filters.get("domain_id"):
        found = found.filter(domain_id=filters["domain_id"])
    distinct = found.order_by().values_list("name", flat=True).distinct()
    listed = list(distinct[: NAMES_LISTED + 1])
    return listed if len(listed) <= NAMES_LISTED else found.values("name")


def _holds_none(held: list[str] | QuerySet) -> bool:
    return isinstance(held, list) and not held


def names_reading_as(field: str, part: str, filters: dict) -> list[str]:
    """The names that hold `part` once their characters that draw nothing are left out: the
    stream `live<U+200B>test` for `livetest`, as a reader sees it (and a customer writes it
    in a ticket). Asked only when no name holds `part` as typed; few names have such
    characters, and the index cannot find them, so this reads the names that do."""
    wanted = part.casefold()
    hidden = ArchivedName.objects.filter(
        field=field,
        name__regex=f"[{INVISIBLE_RANGES}]",
        last_seen__gte=filters["start"] - NAME_SLACK,
    )
    if filters.get("domain_id"):
        hidden = hidden.filter(domain_id=filters["domain_id"])
    names = hidden.order_by().values_list("name", flat=True).distinct()[:NAMES_LISTED]
    return sorted(n for n in names if wanted in visible_text(n).casefold())


def records_search(*, filters: dict) -> QuerySet[ArchivedRecord]:
    """Archived records matching the explorer's filters, newest first.

    Every filter is optional except the window. App and stream match any part of the name in
    any case (trigram indexes on PostgreSQL), or in quotes the name exactly; `q` looks in
    NotifyUrl, NotifyContent and NotifyResponse.
    """
    rows = ArchivedRecord.objects.filter(
        notify_time__gte=filters["start"], notify_time__lt=filters["end"]
    )
    rows = rows.filter(**exact(filters))
    if filters.get("archived_upto") is not None:  # a page read as of its first page
        rows = rows.filter(pk__lte=filters["archived_upto"])

    for field in ("app", "stream"):
        if filters.get(field):
            found = names_matching(field, filters[field], filters)
            rows = rows.filter(**{f"{field}_name__in": found})
    if filters.get("name"):  # either: the header search's "any part of an app or stream"
        apps, streams = names_either(filters["name"], filters)
        rows = rows.filter(Q(app_name__in=apps) | Q(stream_name__in=streams))
    if filters.get("param"):
        rows = rows.filter(param_match(filters["param"]))
    if filters.get("q"):
        text = filters["q"]
        rows = rows.filter(
            Q(notify_url__icontains=text)
            | Q(notify_content__icontains=text)
            | Q(notify_response__icontains=text)
        )
    return rows.order_by("-notify_time", "-id")


def newest_record_id() -> int:
    """The number of the newest record archived (0 for none): what a redelivery run reads up
    to. Every record visible now has a number up to it; one committed later may have a
    smaller one too."""
    return ArchivedRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def record_number_now() -> int:
    """At least the number of every record visible now (0 for none), at once: for a records
    list's pages after the first, which leave out what is numbered above it. On PostgreSQL
    the records' sequence, 0.8 ms (the newest record by its number asks each day's partition:
    10.5 ms at 95 days; benchmarks/paging_pin.py). A record numbered below it and committed
    later is read by those pages too, above it never."""
    alias = router.db_for_read(ArchivedRecord)
    if connections[alias].vendor != "postgresql":
        return newest_record_id()
    table = ArchivedRecord._meta.db_table
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))", [f'"{table}"']
        )
        (number,) = cursor.fetchone()
    # none drawn since the sequence was set (migration 0011 sets it past the records it moved)
    return newest_record_id() if number is None else number


# Filters no index answers: the records of the window are read one by one.
HEAVY_FILTERS = ("q", "http", "receiver")


@contextmanager
def bounded_search(user, filters: dict) -> Iterator[None]:
    """Around a search's queries: for a search that reads records one by one (free text, an
    HTTP status) one of a few places shared by everyone and a time limit on its SQL
    (SEARCH_TIMEOUT); the limit alone for a long window across every domain. Raises
    ops.budget.Busy or TooSlow."""
    if any(filters.get(name) for name in HEAVY_FILTERS):
        with heavy_search(user):
            yield
    elif _long_without_domain(filters):
        with time_limit(settings.SEARCH_TIMEOUT):
            yield
    else:  # one domain, or a short window: the indexes answer it in milliseconds
        yield


def _long_without_domain(filters: dict) -> bool:
    span = filters["end"] - filters["start"]
    return not filters.get("domain_id") and span > dt.timedelta(days=1)


@dataclass(frozen=True)
class Counts:
    total: int
    capped: bool  # more than `total` match: the count stopped there
    success: int
    failed: int
    classes: list[tuple[str, int]]  # failure class, count; most first


COUNT_CAP = 100_000


# A page is looked for in the newest day first, then the newest week, then the whole window.
RECENT_FIRST = (dt.timedelta(days=1), dt.timedelta(days=7))


def _page_keys(rows: QuerySet, start: int, stop: int) -> list[tuple[int, dt.datetime]]:
    """(pk, notify_time) of rows[start:stop], newest first. The records since a recent moment
    are a prefix of that order, so when they fill the page they are the page: a search whose
    matches are spread over 90 days of partitions reads a day or two of them, not all to sort
    them (each day's index has the names in order, not their times)."""
    keys = rows.values_list("pk", "notify_time")
    now = timezone.now()
    for recent in RECENT_FIRST:
        found = list(keys.filter(notify_time__gte=now - recent)[start:stop])
        if len(found) == stop - start:
            return found
    return list(keys[start:stop])


def records_slice(rows: QuerySet, start: int, stop: int) -> list[ArchivedRecord]:
    """rows[start:stop], ids first: the sort and the slice are answered from an index alone,
    then only the page's own rows are read (not every match's, to sort them)."""
    keys = _page_keys(rows, start, stop)
    if not keys:
        return []
    times = [when for _, when in keys]
    # the page's own time span too: only its days' partitions are read (PostgreSQL)
    found = ArchivedRecord.objects.filter(
        notify_time__gte=min(times), notify_time__lte=max(times)
    ).in_bulk([pk for pk, _ in keys])
    return [found[pk] for pk, _ in keys if pk in found]


def records_count(rows: QuerySet, *, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most `cap` (a bounded scan, even for huge matches)."""
    counted = rows.order_by().values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


# Filters the hourly rollups can answer (they have these dimensions); the others need records.
ROLLUP_FILTERS = {"domain_id", "status", "type", "failure"}


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


def _whole_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The whole UTC days inside [start, end), as (first midnight, last midnight), or None."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += dt.timedelta(days=1)
    last = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return (first, last) if first < last else None


def _rollup_groups(filters: dict) -> list[dict] | None:
    """(result, class, n) groups for `filters` from the rollups plus the partial hours at the
    window's two edges from the records: exact, and O(hours). None when a filter needs the
    records themselves."""
    if any(filters.get(name) for name in RECORD_ONLY):
        return None
    whole, edges = split_hours(filters["start"], filters["end"])
    if filters.get("domain_id") or filters.get("type"):
        cells = HourlyRollup.objects.all()
    else:
        cells = TotalHourlyRollup.objects.all()  # every domain at once, already summed
    cells = cells.filter(**exact(filters, ("domain_id", "status", "type", "failure")))
    groups: list[dict] = []
    if whole:
        hours = [whole]
        # Whole days from the daily rollups for one domain (they have no type); every domain
        # at once is fewer rows summed from the hourly totals (24 an hour-day against one a
        # domain-day: 1,000 domains make the daily rows the larger).
        by_day = filters.get("domain_id") and not filters.get("type")
        days = _whole_days(*whole) if by_day else None
        if days is not None:
            # whole UTC days from the daily rollups, the hours around them from the hourly
            daily = DailyRollup.objects.filter(
                day__gte=days[0].date(),
                day__lt=days[1].date(),
                **exact(filters, ("domain_id", "status", "failure")),
            )
            groups += list(
                daily.values("notify_result", "failure_class").annotate(n=Sum("count")).order_by()
            )
            hours = [(whole[0], days[0]), (days[1], whole[1])]
        for first, last in hours:
            if first < last:
                groups += list(
                    cells.filter(hour__gte=first, hour__lt=last)
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


# The filters a name's daily counts answer besides the name itself (one of app or stream).
NAME_ROLLUP_FILTERS = {"domain_id", "status", "failure"}


def _name_rollup_groups(filters: dict) -> list[dict] | None:
    """(result, class, n) groups of a search by part of one app or stream name: its whole UTC
    days from the names' daily counts (NameDailyRollup), the partial days at the window's two
    edges from the records — exact, and a few rows a name and day instead of every matching
    record in every day's partition. None when another filter needs the records."""
    fields = [f for f in ("app", "stream") if filters.get(f)]
    others = {k for k in (*EXACT, *RECORD_ONLY) if filters.get(k)} - set(fields)
    days = _whole_days(filters["start"].astimezone(dt.UTC), filters["end"].astimezone(dt.UTC))
    if len(fields) != 1 or others - NAME_ROLLUP_FILTERS or days is None:
        return None
    field = fields[0]
    names = names_matching(field, filters[field], filters)  # once: the edges' names are among them
    same = exact(filters, tuple(NAME_ROLLUP_FILTERS))
    cells = NameDailyRollup.objects.filter(
        field=field, name__in=names, day__gte=days[0].date(), day__lt=days[1].date(), **same
    )
    groups = list(
        cells.values("notify_result", "failure_class").annotate(n=Sum("count")).order_by()
    )
    for edge_start, edge_end in ((filters["start"], days[0]), (days[1], filters["end"])):
        if edge_start < edge_end:
            rows = ArchivedRecord.objects.filter(
                notify_time__gte=edge_start,
                notify_time__lt=edge_end,
                **{f"{field}_name__in": names},
                **same,
            )
            groups += list(
                rows.order_by().values("notify_result", "failure_class").annotate(n=Count("pk"))
            )
    return groups


def _capped_groups(rows: QuerySet) -> list[dict]:
    """(result, class, n) of at most COUNT_CAP + 1 matching records, in one scan: the total
    and the groups together (a bounded scan, even for huge matches)."""
    sample = rows.order_by().values_list("notify_result", "failure_class")[: COUNT_CAP + 1]
    try:
        sql, params = sample.query.sql_with_params()
    except EmptyResultSet:  # nothing can match (a name search that found no names)
        return []
    with connections[rows.db].cursor() as cursor:
        cursor.execute(
            f"SELECT notify_result, failure_class, COUNT(*) FROM ({sql}) AS matched "  # noqa: S608
            "GROUP BY notify_result, failure_class",
            params,
        )
        return [{"notify_result": r, "failure_class": c, "n": n} for r, c, n in cursor.fetchall()]


def records_counts(rows: QuerySet, *, filters: dict | None = None) -> Counts:
    """Counts by result and failure class for the current filters (above the table)."""
    groups = None
    if filters is not None:
        # the rollups count what is archived now; a page read as the archive was at its
        # first page (archived_upto) takes away what was archived since
        now_filters = {**filters, "archived_upto": None}
        groups = _rollup_groups(now_filters)
        if groups is None:
            groups = _name_rollup_groups(now_filters)
        if groups is not None and filters.get("archived_upto") is not None:
            groups += _archived_since(filters)
    if groups is None:  # counted from `rows`, which are read as the page is
        groups = _capped_groups(rows)
        total = sum(g["n"] for g in groups)
        if total > COUNT_CAP:
            return Counts(total=COUNT_CAP, capped=True, success=0, failed=0, classes=[])
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
        classes=sorted(
            ((name, n) for name, n in classes.items() if n > 0),
            key=lambda item: (-item[1], item[0]),
        ),
    )


def _archived_since(filters: dict) -> list[dict]:
    """For a page read as the archive was at its first page (`archived_upto`): the groups
    counted now and not on the page — the records archived since — as negative counts. Few
    (minutes of callbacks), read by their numbers: the counts and the number of pages then
    agree with the rows (a third page was empty once the new callbacks were counted)."""
    since = records_search(filters={**filters, "archived_upto": None}).filter(
        pk__gt=filters["archived_upto"]
    )
    groups = since.order_by().values("notify_result", "failure_class").annotate(n=Count("pk"))
    return [{**group, "n": -group["n"]} for group in groups]


def record_get(*, pk: int) -> ArchivedRecord | None:
    return ArchivedRecord.objects.select_related("domain").filter(pk=pk).first()


def config_at(*, record: ArchivedRecord) -> tuple[dict | None, AuditEntry | None]:
    """The domain's recording-callback config when the record was sent, from the audit log:
    the state after the latest change before that moment. (None, None) when no change is
    recorded before it."""
    return config_state_at(domain_id=record.domain_id, kind="record", moment=record.notify_time)


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


FRESHNESS_SECONDS = 10  # pages say how fresh the archive is: to within these seconds


def archive_freshness(*, now: dt.datetime | None = None) -> Freshness:
    """How complete the archive is. Cached for a few seconds: every records page shows it,
    and it changes with each harvest (every 30 s) anyway."""
    if now is not None:
        return _freshness(now)
    return cache.get_or_set(
        "archive-freshness", lambda: _freshness(timezone.now()), FRESHNESS_SECONDS
    )


def _freshness(now: dt.datetime) -> Freshness:
    cursors = list(
        HarvestCursor.objects.filter(domain__gone_at__isnull=True).select_related("domain")
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


PERIODS = spans(TOTALS)


def _period_ranges(delta: dt.timedelta, end: dt.datetime) -> tuple[Q, tuple | None]:
    """The last `delta` up to `end` (a whole hour) as the hourly totals' hours (a Q) and the
    whole UTC days inside it for the daily rollups ((first, last) dates, or None)."""
    start = end - delta
    days = _whole_days(start, end)
    if days is None:
        return Q(hour__gte=start, hour__lt=end), None
    hours = Q(hour__gte=start, hour__lt=days[0]) | Q(hour__gte=days[1], hour__lt=end)
    return hours, (days[0].date(), days[1].date())


def _totals_end(now: dt.datetime) -> dt.datetime:
    """The end of the totals' periods: the current hour counts as far as it is harvested."""
    return totals_end(now)


def failure_totals(
    *,
    domain_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    periods: Iterable[str] = PERIODS,
) -> dict[int, dict[str, Totals]]:
    """Deliveries and failures per domain over 24 h, 7 d and 30 d (`periods`: some of them;
    whole hours: the current hour counts as far as it is harvested). Whole UTC days come from
    the daily rollups and only the hours around them from the hourly totals (one row per
    domain and hour): a few thousand rows for 200 domains, not millions."""
    end = _totals_end(now or timezone.now())
    wanted = set(periods)
    periods = [name for name in PERIODS if name in wanted]
    if not periods:
        return {}
    hour_ranges: dict[str, Q] = {}
    day_ranges: dict[str, Q] = {}
    first_day = last_day = None  # the whole days of every period: one range of the index
    for name in periods:
        hour_ranges[name], days = _period_ranges(PERIODS[name], end)
        if days is not None:
            day_ranges[name] = Q(day__gte=days[0], day__lt=days[1])
            first_day = min(first_day or days[0], days[0])
            last_day = max(last_day or days[1], days[1])
    counts: dict[int, dict[str, list[int]]] = {}

    def add(rows, ranges) -> None:
        for row in rows:
            mine = counts.setdefault(row["domain_id"], {p: [0, 0] for p in periods})
            for name in ranges:
                mine[name][0] += row[f"{name}_total"] or 0
                mine[name][1] += row[f"{name}_failed"] or 0

    # the hours: one row per domain and hour (DomainHourlyTotal)
    hours = DomainHourlyTotal.objects.filter(reduce(operator.or_, hour_ranges.values()))
    if domain_ids is not None:
        hours = hours.filter(domain_id__in=domain_ids)
    sums = {}
    for name, q in hour_ranges.items():
        sums[f"{name}_total"] = Sum("deliveries", filter=q)
        sums[f"{name}_failed"] = Sum("failed", filter=q)
    add(hours.values("domain_id").annotate(**sums).order_by(), hour_ranges)
    if day_ranges:
        # the whole UTC days: by result and class (DailyRollup)
        daily = DailyRollup.objects.filter(day__gte=first_day, day__lt=last_day)
        if domain_ids is not None:
            daily = daily.filter(domain_id__in=domain_ids)
        sums = {}
        for name, q in day_ranges.items():
            sums[f"{name}_total"] = Sum("count", filter=q)
            sums[f"{name}_failed"] = Sum("count", filter=q & ~Q(notify_result="success"))
        add(daily.values("domain_id").annotate(**sums).order_by(), day_ranges)
    return {
        domain_id: {name: Totals(total, failed) for name, (total, failed) in mine.items()}
        for domain_id, mine in counts.items()
    }


def _partial_hours(
    start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> tuple[list[dt.datetime], list[tuple[dt.datetime, dt.datetime]], list[tuple]]:
    """[start, end) as hours whose totals are added, and ranges of records added and taken
    away: a whole hour is its total; a partial hour is its records, or (when that reads
    fewer: it covers more than half the hour) the hour's total less the records outside it.
    Time after `now` holds no records to read."""
    whole, edges = split_hours(start, end)
    hours, plus, minus = [], [], []
    if whole:
        hour = whole[0]
        while hour < whole[1]:
            hours.append(hour)
            hour += dt.timedelta(hours=1)

    def cost(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        return max(min(b, now) - a, dt.timedelta(0))

    for edge_start, edge_end in edges:
        # an edge may span two hours (start and end in neighbouring hours): each on its own
        hour = _floor_hour(edge_start)
        while hour < edge_end:
            after = hour + dt.timedelta(hours=1)
            a, b = max(edge_start, hour), min(edge_end, after)
            if cost(a, b) > cost(hour, a) + cost(b, after):
                hours.append(hour)
                minus += [(x, y) for x, y in ((hour, a), (b, after)) if x < y]
            else:
                plus.append((a, b))
            hour = after
    return hours, plus, minus


def _counts_parts(
    start: dt.datetime, end: dt.datetime, now: dt.datetime, mine: dict
) -> list[QuerySet]:
    """Querysets of (domain_id, total, failed) rows that add up to the deliveries and failures
    in [start, end) (see delivery_counts); `mine`: the filter of the domains counted."""
    hours, plus, minus = _partial_hours(start, end, now)
    parts = []
    if hours:
        runs = []  # consecutive hours as ranges of the (hour) index
        for hour in sorted(hours):
            if runs and runs[-1][1] == hour:
                runs[-1][1] = hour + dt.timedelta(hours=1)
            else:
                runs.append([hour, hour + dt.timedelta(hours=1)])
        in_hours = reduce(operator.or_, (Q(hour__gte=a, hour__lt=b) for a, b in runs))
        parts.append(
            DomainHourlyTotal.objects.filter(in_hours, **mine)
            .values("domain_id")
            .annotate(total=Sum("deliveries"), failed=Sum("failed"))
            .order_by()
        )
    if plus or minus:

        def within(ranges) -> Q:
            return reduce(
                operator.or_, (Q(notify_time__gte=a, notify_time__lt=b) for a, b in ranges), Q()
            )

        sign = Case(When(within(minus), then=Value(-1)), default=Value(1)) if minus else Value(1)
        parts.append(
            ArchivedRecord.objects.filter(within(plus + minus), **mine)
            .values("domain_id")
            .annotate(total=Sum(sign), failed=Sum(sign, filter=~Q(notify_result="success")))
            .order_by()
        )
    return parts


def _union(parts: list[QuerySet]) -> QuerySet:
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def delivery_counts(
    *,
    domain_ids: list[int],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
) -> dict[int, Totals]:
    """Deliveries and failures per domain in [start, end): whole hours from the hourly totals,
    the partial hours at the two edges from the records (or from their hour's total less the
    records outside them, whichever reads fewer). Exact, and O(hours + edge records): at most
    half an hour of records at each edge. One statement, so one snapshot: a harvest storing
    meanwhile cannot be half subtracted."""
    parts = _counts_parts(start, end, now or timezone.now(), {"domain_id__in": domain_ids})
    counts: dict[int, list[int]] = {d: [0, 0] for d in domain_ids}
    for row in _union(parts) if parts else ():
        if row["domain_id"] in counts:
            counts[row["domain_id"]][0] += row["total"] or 0
            counts[row["domain_id"]][1] += row["failed"] or 0
    return {d: Totals(total, failed) for d, (total, failed) in counts.items()}


def _period_parts(period: str, now: dt.datetime) -> list[QuerySet]:
    """Every domain's (domain_id, total, failed) rows over `period` ("now": the last hour, as
    delivery_counts counts it; "24h", "7d", "30d" as failure_totals does), adding up."""
    if period == "now":
        return _counts_parts(now - dt.timedelta(hours=1), now, now, {})
    hours, days = _period_ranges(PERIODS[period], _totals_end(now))
    parts = [
        DomainHourlyTotal.objects.filter(hours)
        .values("domain_id")
        .annotate(total=Sum("deliveries"), failed=Sum("failed"))
        .order_by()
    ]
    if days is not None:
        parts.append(
            DailyRollup.objects.filter(day__gte=days[0], day__lt=days[1])
            .values("domain_id")
            .annotate(total=Sum("count"), failed=Sum("count", filter=~Q(notify_result="success")))
            .order_by()
        )
    return parts


MEASURES = ("rate", "failed", "total")


class Ranked(NamedTuple):
    pk: int
    name: str
    totals: dict  # period → Totals | None: the numbers it was ranked by


class DomainRanking:
    """Every current domain ranked by its failures over a period, read a page at a time: the
    database sums, orders and pages, so a page of 50 of 1,000 domains reads 50 rows.

    `measure` of `period` ("now", "24h", "7d", "30d"; None: by name): "rate", "failed" or
    "total"; a domain with no deliveries in the period ranks below all with some. Over "now",
    a domain with fewer than `min_deliveries` ranks after those with enough, and among equal
    rates more failures come first. Ties go by the 24 hours' rate, then by name, A to Z
    whichever the direction. A sequence Django's Paginator pages: `count()` and slices.
    """

    def __init__(
        self,
        *,
        period: str | None,
        measure: str | None,
        descending: bool,
        now: dt.datetime,
        min_deliveries: int = 0,
    ):
        if period not in (None, "now", *PERIODS) or measure not in (None, *MEASURES):
            raise ValueError(f"no ranking by {measure} of {period}")
        self.period, self.measure, self.descending = period, measure, descending
        self.now, self.min_deliveries = now, min_deliveries
        self.periods = [] if period is None else list(dict.fromkeys([period, "24h"]))
        self.db = DomainHourlyTotal.objects.all().db  # the archive's reads (a replica's too)

    def count(self) -> int:
        return Domain.objects.using(self.db).filter(gone_at__isnull=True).count()

    def __len__(self) -> int:
        return self.count()

    def _order(self) -> str:
        way = " DESC" if self.descending else ""

        def rate(t: str) -> str:
            return (
                f"CASE WHEN {t}.total > 0 THEN CAST({t}.failed AS DOUBLE PRECISION) / {t}.total "
                "ELSE -1 END"
            )

        keys = []
        if self.period == "now":
            keys += [
                f"CASE WHEN COALESCE(t0.total, 0) >= {int(self.min_deliveries)} THEN 1 ELSE 0 END",
                rate("t0"),
                "COALESCE(t0.failed, 0)",
            ]
        elif self.period is not None:
            number = f"CASE WHEN t0.total > 0 THEN t0.{self.measure} ELSE -1 END"  # checked
            keys.append(rate("t0") if self.measure == "rate" else number)
        if self.period is None:
            return f"d.name{way}, d.id{way}"
        if self.period != "24h":
            keys.append(rate("t1"))
        return ", ".join(f"{key}{way}" for key in keys) + ", d.name, d.id"

    def __getitem__(self, part: slice) -> list[Ranked]:
        if not isinstance(part, slice) or part.step not in (None, 1):
            raise TypeError("DomainRanking reads slices")
        start = part.start or 0
        stop = self.count() if part.stop is None else part.stop
        if stop <= start:
            return []
        domain = Domain._meta.db_table
        joins, columns, params = [], [], []
        for i, period in enumerate(self.periods):
            compiler = _union(_period_parts(period, self.now)).query.get_compiler(using=self.db)
            sql, more = compiler.as_sql()
            # the ORM's own statement (its parameters passed on) inside a join; a part's sum of
            # no failures is NULL: none failed is 0 (or the rate would be NULL, ranked apart)
            summed = (
                "SELECT u.domain_id, COALESCE(SUM(u.total), 0) AS total, "  # noqa: S608
                f"COALESCE(SUM(u.failed), 0) AS failed FROM ({sql}) u"
            )
            joins.append(f"LEFT JOIN ({summed} GROUP BY u.domain_id) t{i} ON t{i}.domain_id = d.id")
            columns += [f"t{i}.total", f"t{i}.failed"]
            params += more
        # names from the model and the checked period and measure; values are parameters
        sql = (
            f"SELECT {', '.join(['d.id', 'd.name', *columns])} FROM {domain} d {' '.join(joins)} "  # noqa: S608
            f"WHERE d.gone_at IS NULL ORDER BY {self._order()} LIMIT %s OFFSET %s"
        )
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, [*params, stop - start, start])
            rows = cursor.fetchall()
        ranked = []
        for pk, name, *numbers in rows:
            totals = {}
            for i, period in enumerate(self.periods):
                total, failed = numbers[2 * i], numbers[2 * i + 1]
                totals[period] = Totals(int(total), int(failed or 0)) if total else None
            ranked.append(Ranked(pk, name, totals))
        return ranked


def harvested_until_by_domain(*, domain_ids: list[int]) -> dict[int, dt.datetime]:
    """How far each domain's archive is complete (backfilled domains only)."""
    return dict(
        HarvestCursor.objects.filter(
            domain_id__in=domain_ids, backfilled=True, harvested_until__isnull=False
        ).values_list("domain_id", "harvested_until")
    )


class Settled(NamedTuple):
    """What derived state reads of a record (incidents), oldest first."""

    id: int
    notify_time: dt.datetime
    notify_result: str
    failure_class: str
    http_status: int | None
    receiver_host: str
    app_name: str
    stream_name: str
    notify_type: str


def records_in_time_order(
    *, domain_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> Iterator[Settled]:
    """A domain's records of [start, end) oldest first; records of the same second in the
    order of their content (the fingerprint), so any insertion order reads back the same."""
    rows = ArchivedRecord.objects.filter(domain_id=domain_id)
    if start is not None:
        rows = rows.filter(notify_time__gte=start)
    if end is not None:
        rows = rows.filter(notify_time__lt=end)
    rows = rows.order_by("notify_time", "fingerprint").values_list(*Settled._fields)
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        yield from map(Settled._make, rows.iterator(5000))
        return
    # The same query read without Django's time loader (a Python call for every time, a
    # tenth of a settle): psycopg's own gives the same aware times, the session being in UTC.
    sql, params = rows.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(5000):
            yield from map(Settled._make, chunk)


# --- the callbacks that never came (archive/pushes.py) ---------------------------------------


def stream_pushes(
    *, app: str, stream: str, start: dt.datetime, end: dt.datetime, domains: list[str] | None
):
    """The pushes of `app`/`stream` in [start, end) that Live's push history has told us of
    (to the `domains` given; None: to any)."""
    pushes = PushedSession.objects.filter(
        app_name=app, stream_name=stream, publish_time__gte=start, publish_time__lt=end
    )
    if domains is not None:
        pushes = pushes.filter(domain__name__in=domains)
    return list(pushes.order_by("publish_time"))


STREAM_DOMAINS_CHECKED = 20  # more domains with both names: listed unchecked (a query each)


def stream_domains(*, app: str, stream: str) -> list[str]:
    """The domains whose archive holds callbacks of an app and of a stream of these names
    (the names each domain's records carry, kept once each: no record is read)."""
    with_stream = ArchivedName.objects.filter(field=ArchivedName.Field.STREAM, name=stream)
    found = sorted(
        ArchivedName.objects.filter(
            field=ArchivedName.Field.APP,
            name=app,
            domain_id__in=with_stream.values("domain_id"),
        ).values_list("domain__name", flat=True)
    )
    if not 2 <= len(found) <= STREAM_DOMAINS_CHECKED:
        return found
    # a domain may carry the app under other streams and the stream under another app
    records = ArchivedRecord.objects.filter(app_name=app, stream_name=stream)
    return [name for name in found if records.filter(domain_name=name).exists()]


def name_seen(field: str, name: str, filters: dict) -> bool:
    """Whether an app or stream of exactly this name was seen since the window's start (of the
    filtered domain, if there is one): from the names, no record is read."""
    found = ArchivedName.objects.filter(
        field=field, name=name, last_seen__gte=filters["start"] - NAME_SLACK
    )
    if filters.get("domain_id"):
        found = found.filter(domain_id=filters["domain_id"])
    return found.exists()


def stream_known(*, app: str, stream: str) -> bool:
    """Whether the archive or the push history knows a stream of these exact names."""
    if stream_domains(app=app, stream=stream):
        return True
    return PushedSession.objects.filter(app_name=app, stream_name=stream).exists()


def pushes_checked_until() -> dt.datetime | None:
    """Up to when every ingest domain's pushes are checked (None: one has never been)."""
    checked = list(
        HarvestCursor.objects.filter(
            domain__domain_type=Domain.Type.INGEST, domain__gone_at__isnull=True
        ).values_list("pushes_checked_until", flat=True)
    )
    return min(checked) if checked and all(checked) else None


def missing_callbacks(
    *, filters: dict, domains: list[str] | None = None
) -> QuerySet[PushedSession]:
    """Pushes with expected callbacks that never came, newest first, under the explorer's
    name, app, stream and window filters, of `domains` (None: of every domain) — for a
    domain, those whose push history tells its pushes (`push_history_domains`)."""
    rows = PushedSession.objects.exclude(missing="").filter(
        publish_time__gte=filters["start"], publish_time__lt=filters["end"]
    )
    if domains is not None:
        rows = rows.filter(domain__name__in=domains)
    # as the records' filters read them: any part in any case, in quotes the name exactly
    for field in ("app", "stream"):
        if filters.get(field):
            rows = rows.filter(_push_name(field, filters[field]))
    if filters.get("name"):
        rows = rows.filter(
            _push_name("app", filters["name"]) | _push_name("stream", filters["name"])
        )
    # `missing` is "publish", "publish_done" or "publish publish_done" (that order)
    if filters.get("type") == "publish":
        rows = rows.filter(Q(missing="publish") | Q(missing__startswith="publish "))
    elif filters.get("type") == "publish_done":
        rows = rows.filter(missing__endswith="publish_done")
    return rows.select_related("domain").order_by("-publish_time", "-pk")


def _push_name(field: str, part: str) -> Q:
    """A push's app or stream holding `part` (any case), or in quotes being it. A push's names
    are read from its own rows: a push whose callbacks never came may have none archived."""
    name = quoted(part)
    if name is not None:
        return Q(**{f"{field}_name": name})
    return Q(**{f"{field}_name__icontains": part})


def missing_counts(*, domain_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """Domain id → how many of its pushes in [start, end) miss an expected callback."""
    rows = (
        PushedSession.objects.exclude(missing="")
        .filter(domain_id__in=domain_ids, publish_time__gte=start, publish_time__lt=end)
        .values("domain_id")
        .annotate(n=Count("pk"))
    )
    return {row["domain_id"]: row["n"] for row in rows}


def missing_in_window(*, domain_id: int, window: dt.timedelta):
    """(where the domain's pushes are checked up to, its pushes that began or ended in the
    `window` before that and miss an expected callback); (None, []) before its first check."""
    end = (
        HarvestCursor.objects.filter(domain_id=domain_id)
        .values_list("pushes_checked_until", flat=True)
        .first()
    )
    if end is None:
        return None, []
    start = end - window
    pushes = PushedSession.objects.filter(domain_id=domain_id).exclude(missing="")
    pushes = pushes.filter(
        Q(publish_time__gte=start, publish_time__lte=end)
        | Q(stop_time__gte=start, stop_time__lte=end)
    )
    return end, list(pushes.order_by("publish_time")[:100])


# --- push parameters (archive/pushparams.py) -------------------------------------------------

# A search by push parameter reads the callbacks of at most this many streams that carried it
# (the most recent), each from a minute before it was first seen to PARAM_TRAIL after the last.
PARAM_STREAMS = 50
PARAM_TRAIL = dt.timedelta(minutes=15)  # the recording file comes after the push's end


def param_hits(text: str) -> list[ArchivedPushParam]:
    """Where the push parameter `key=value` was seen: per domain, app and stream, newest
    first (an exact match, through its index)."""
    parsed = parse_param(text)
    if parsed is None:
        return []
    hits = ArchivedPushParam.objects.filter(key=parsed[0], value=parsed[1])
    return list(hits.select_related("domain").order_by("-last_seen", "pk")[:PARAM_STREAMS])


def param_match(text: str) -> Q:
    """The records of the streams that carried push parameter `text`, around when they did
    (the callbacks of those streams on each one's family of domains — the ingest domain and the
    streaming domain it feeds: the session's recording callbacks carry no parameters
    themselves — not on unrelated domains with a stream of the same name)."""
    hits = param_hits(text)
    if not hits:
        return Q(pk__in=[])
    families = {name: domain_family(name) for name in {hit.domain.name for hit in hits}}
    return reduce(
        operator.or_,
        (
            Q(
                app_name=hit.app_name,
                stream_name=hit.stream_name,
                # the stream's domains, not another team's stream of the same name
                domain_name__in=families[hit.domain.name],
                notify_time__gte=hit.first_seen - dt.timedelta(minutes=1),
                notify_time__lte=hit.last_seen + PARAM_TRAIL,
            )
            for hit in hits
        ),
    )
