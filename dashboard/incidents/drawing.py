"""What the charts draw: geometry, links and labels worked out once, in Python; the markup is
the templates' (`incidents/_chart.html`, `incidents/_spark.html`), escaped by them.

A chart is bars (delivered below, failed stacked on top) and config-change markers in a
1000 × 180 box the page scales to its width, the list of changes under it and the numbers as
a table. On a domain's page (`domain` given) its links stay on that domain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.translation import gettext

from dashboard.archive.models import failure_name
from dashboard.domains.templatetags.dashboard import percent
from dashboard.periods import local_iso

from .selectors import Chart, DayRate

WIDTH, HEIGHT = 1000, 180
SPARK_WIDTH, SPARK_HEIGHT = 70, 18


@dataclass(frozen=True)
class Bar:
    href: str
    title: str
    x: float
    width: float
    ok_y: float
    ok_height: float
    bad_y: float
    bad_height: float
    partial: bool = False  # the period going on now: its bar is not complete yet


@dataclass(frozen=True)
class Flag:
    """A config change: its line on the chart, and its item in the list under it."""

    pk: int
    x: float
    title: str
    href: str  # the change on its domain's page
    iso: str
    when: str
    domain_name: str  # shown when the chart is of every domain
    who: str
    what: str
    before: str
    after: str
    audit_href: str  # for leads
    restore_href: str  # for editors, on the domain's own page


@dataclass(frozen=True)
class TableRow:
    start: str
    delivered: str
    failed: str
    rate: str


@dataclass(frozen=True)
class Drawing:
    bars: list[Bar]
    flags: list[Flag]
    rows: list[TableRow]
    ticks: list[str]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def in_progress(self) -> bool:
        """Whether a bar is of the period going on now (the legend says what it looks like)."""
        return any(bar.partial for bar in self.bars)


@dataclass(frozen=True)
class Spark:
    """A 7-point failure-rate line, 70 × 18, with the numbers as its text alternative. Its
    height is the domain's own: 0 at the foot, `top` (its worst day, at least SPARK_FLOOR) at
    the head, so that 1% becoming 8% is a line that climbs — on a 0–100% scale every line
    below 20% lay flat on the floor."""

    points: str
    numbers: str
    top: str = ""


SPARK_FLOOR = 0.05  # a line of days under 5% is drawn low: a tenth of a percent is no storm


def spark(days: list[DayRate] | None) -> Spark:
    """The line of `days` (failure_sparklines'), its text each day's date and rate."""
    rates = [d.rate for d in days or ()]
    seen = [rate for rate in rates if rate is not None]
    if not seen:
        return Spark("", "")
    top = min(max(*seen, SPARK_FLOOR), 1)
    step = SPARK_WIDTH / max(len(rates) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{SPARK_HEIGHT - 1 - (SPARK_HEIGHT - 2) * min(rate / top, 1):.1f}"
        for index, rate in enumerate(rates)
        if rate is not None
    )
    numbers = ", ".join(f"{d.day:%m-%d} {percent(d.rate)}" for d in days)
    return Spark(points, numbers, percent(top))


def chart_drawing(chart: Chart, *, domain=None, can_edit=False, user_is_lead=False) -> Drawing:
    count = _counter()
    urls: dict = {}
    # five times under the axis (HTML, so the text is not stretched with the bars)
    fmt = {"24h": "%H:%M", "7d": "%m-%d %H:%M"}.get(chart.period, "%m-%d")
    return Drawing(
        bars=_bars(chart, domain, count),
        flags=_flags(chart, domain, urls, can_edit=can_edit, user_is_lead=user_is_lead),
        rows=[
            TableRow(
                _local(b.start, "%Y-%m-%d %H:%M"),
                count(b.success),
                count(b.failed),
                percent(b.rate),
            )
            for b in chart.buckets
            if b.total
        ],
        ticks=_ticks(chart, fmt),
        peak=max(chart.peak, 1),
    )


def _ticks(chart: Chart, fmt: str) -> list[str]:
    """Five times under the axis, each the time where it stands. The bars are of equal width
    (the last, the period going on now, too), so a quarter of the way across is a quarter of
    the bars: the start of the bar there — a whole hour or day, where a quarter of the time
    span gave 23:06 — and, at the right end, now."""
    n = len(chart.buckets)
    if not n:
        return [_local(chart.start, fmt)] * 4 + [_local(chart.end, fmt)]
    starts = [chart.buckets[min(round(i * n / 4), n - 1)].start for i in range(4)]
    return [_local(moment, fmt) for moment in starts] + [_local(chart.end, fmt)]


def _local(moment: dt.datetime, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt)


def _until(bucket) -> str:
    """A bar's end in its title: the time, and the date too where it is another day (a day's
    bar read "2026-12-02 00:00 – 00:00")."""
    start, end = timezone.localtime(bucket.start), timezone.localtime(bucket.end)
    return end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")


def _window_end(moment: dt.datetime) -> str:
    """A bar's start or end as the records page's custom window reads it: with its offset (the
    night clocks go back, 01:00 without one was the second 01:00, and a bar of the first
    opened both hours) and to the second, rounded up (the last bar ends now: to the minute it
    left out the seconds of its last minute, and in an hour's first minute it ended where it
    began — a 400)."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + dt.timedelta(seconds=1)
    return quote(local_iso(moment, "seconds" if moment.second else "minutes"))


def _counter():
    """intcomma for whole numbers, its locale's separator looked up once per chart rather
    than once per number (a 90-bar chart and its table show ~500 numbers)."""
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    if not separator or not grouping:
        return str  # e.g. Chinese: no separator
    if grouping == 3:
        return lambda n: f"{n:,}".replace(",", separator)
    return intcomma


def _bars(chart: Chart, domain, count) -> list[Bar]:
    slot = WIDTH / max(len(chart.buckets), 1)
    peak = max(chart.peak, 1)
    # a bar's records: never before the archive's horizon (the records page refuses that)
    horizon = (
        chart.end - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS) + dt.timedelta(minutes=1)
    )
    records = reverse("records")
    scope = f"domain={quote(domain.name, safe='/')}&" if domain is not None else ""
    delivered_failed = gettext("%(ok)s delivered, %(bad)s failed")
    so_far = gettext("so far: this period is not over")
    last = len(chart.buckets) - 1
    bars = []
    for index, bucket in enumerate(chart.buckets):
        if not bucket.total:
            continue
        # the last bar ends now, part way through its period: a short bar, not a drop
        partial = index == last
        ok_height = HEIGHT * bucket.success / peak
        bad_height = HEIGHT * bucket.failed / peak
        classes = "".join(
            f" · {failure_name(name)} {count(n)}"
            for name, n in sorted(bucket.classes.items(), key=lambda item: -item[1])
        )
        bars.append(
            Bar(
                href=(
                    f"{records}?{scope}window=custom"
                    f"&start={_window_end(max(bucket.start, horizon))}"
                    f"&end={_window_end(bucket.end)}"
                    f"{'&status=failed' if bucket.failed else ''}"
                ),
                title=(
                    f"{_local(bucket.start, '%Y-%m-%d %H:%M')} – {_until(bucket)}: "
                    + delivered_failed % {"ok": count(bucket.success), "bad": count(bucket.failed)}
                    + classes
                    + (f" ({so_far})" if partial else "")
                ),
                x=round(index * slot + slot * 0.1, 2),
                width=round(slot * 0.8, 2),
                ok_y=round(HEIGHT - ok_height, 2),
                ok_height=round(ok_height, 2),
                bad_y=round(HEIGHT - ok_height - bad_height, 2),
                bad_height=round(bad_height, 2),
                partial=partial,
            )
        )
    return bars


def _flags(chart: Chart, domain, urls: dict, *, can_edit: bool, user_is_lead: bool) -> list[Flag]:
    span = (chart.end - chart.start).total_seconds() or 1
    audit = reverse("audit")
    flags = []
    for marker in chart.markers:
        entry = marker.entry
        who, what, before, after = _what(entry)
        page = f"{_url(urls, 'domain_detail', entry.domain_name)}?period={chart.period}"
        moment = timezone.localtime(entry.created_at)
        where = "" if domain is not None else f"{entry.domain_name} · "
        restorable = domain is not None and can_edit and entry.restorable
        flags.append(
            Flag(
                pk=entry.pk,
                x=round(WIDTH * (marker.at - chart.start).total_seconds() / span, 2),
                title=(
                    f"{_local(marker.at, '%Y-%m-%d %H:%M')} {where}{who}: {what} — "
                    f"{before} → {after}"
                ),
                href=f"{page}#change-{entry.pk}",
                iso=moment.isoformat(),
                when=f"{moment:%Y-%m-%d %H:%M}",
                domain_name=entry.domain_name if domain is None else "",
                who=who,
                what=what,
                before=before,
                after=after,
                audit_href=f"{audit}?entry={entry.pk}#audit-{entry.pk}" if user_is_lead else "",
                restore_href=(
                    f"{_url(urls, 'config_edit', entry.domain_name, entry.kind)}?restore={entry.pk}"
                    if restorable
                    else ""
                ),
            )
        )
    return flags


def _what(entry) -> tuple[str, str, str, str]:
    """Who, what and how, before and after: the words a marker and its list item share.
    (Labels straight from the choices enums: `get_FOO_display()` hashes every lazy label of
    the field's choices on each call, a few thousand translations for a hundred markers.)"""
    kind = str(entry.Kind(entry.kind).label) if entry.kind in entry.Kind else entry.kind
    action = str(entry.Action(entry.action).label) if entry.action in entry.Action else entry.action
    return (
        entry.actor_name or gettext("sync"),
        f"{kind} · {action}",
        (entry.before or {}).get("notify_url") or "—",
        (entry.after or {}).get("notify_url") or "—",
    )


def _url(cache: dict, name: str, *args) -> str:
    """reverse(), once per page for each set of arguments (a hundred markers share a few)."""
    key = (name, *args)
    if key not in cache:
        cache[key] = reverse(name, args=args)
    return cache[key]
