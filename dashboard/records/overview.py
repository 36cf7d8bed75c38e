"""The failure overview's rows, ready to render: every domain ranked by the database (which
sums, orders and pages them), then the rows of the page shown formatted and linked here, so
the template only places them (50 rows × a dozen cells, of however many domains).

"Failing now" comes first: a domain three minutes into 100% failures once ranked fourth by
its 24-hour rate. The default order is the last hour's failure rate, then the day's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils.translation import ngettext

from dashboard.archive.selectors import (
    DomainRanking,
    Ranked,
    Totals,
    delivery_counts,
    failure_totals,
)
from dashboard.domains.models import Domain
from dashboard.domains.templatetags.dashboard import percent, rate_class
from dashboard.incidents.drawing import Spark, spark
from dashboard.incidents.selectors import failure_sparklines, open_incident_counts
from dashboard.periods import TOTALS, totals_window

# sort key: (period, measure); "now" is the last 60 minutes
SORTS = {
    "now": ("now", "rate"),
    "rate24": ("24h", "rate"),
    "rate7": ("7d", "rate"),
    "rate30": ("30d", "rate"),
    "failed24": ("24h", "failed"),
    "total24": ("24h", "total"),
    "name": (None, None),
}
DEFAULT_SORT = "-now"
NOW_MIN_DELIVERIES = 10  # fewer in the last hour: ranked after the domains with enough


@dataclass(frozen=True)
class Cell:
    text: str
    css: str = ""  # a rate's badge: good / warn / bad / muted
    href: str = ""
    title: str = ""  # why it is where it is, when that is not plain


@dataclass(frozen=True)
class OverviewRow:
    domain: Domain
    page: str
    now: Cell
    total24: Cell
    failed24: Cell
    rate24: Cell
    rate7: Cell
    rate30: Cell
    spark: Spark
    incidents: int
    incidents_href: str
    sort_values: dict


def _rate(totals: Totals | None, href: str) -> Cell:
    rate = totals.rate if totals else None
    if rate is None:
        return Cell("—", "muted", href)
    return Cell(percent(rate), rate_class(rate), href)


def _now(hour: Totals | None, href: str) -> Cell:
    """The last hour's rate; on too few deliveries to rank by, said so (they come after the
    domains with enough, whatever their rate)."""
    cell = _rate(hour, href)
    if hour is None or hour.total >= NOW_MIN_DELIVERIES:
        return cell
    title = ngettext(
        "Only %(n)s delivery in the last hour: ranked after the domains with at least %(min)s.",
        "Only %(n)s deliveries in the last hour: ranked after the domains with at least %(min)s.",
        hour.total,
    ) % {"n": hour.total, "min": NOW_MIN_DELIVERIES}
    return Cell(cell.text, f"{cell.css} few", href, title)


def overview_order(*, sort: str, now: dt.datetime) -> DomainRanking:
    """Every current domain (streaming and ingest) in the order `sort` asks for, read a page
    at a time: the database ranks them, so a page of 50 of 1,000 domains reads 50 rows."""
    period, measure = SORTS[sort.lstrip("-")]
    return DomainRanking(
        period=period,
        measure=measure,
        descending=sort.startswith("-"),
        now=now,
        min_deliveries=NOW_MIN_DELIVERIES,
    )


def _numbers(ids: list[int], *, needed: set[str], now: dt.datetime):
    """domain id → period → Totals | None, for the `needed` periods ("now": the last hour)."""
    totals = failure_totals(domain_ids=ids, now=now, periods=needed)
    hour = {}
    if "now" in needed:
        hour = delivery_counts(domain_ids=ids, start=now - dt.timedelta(hours=1), end=now, now=now)
    numbers = {}
    for pk in ids:
        mine = totals.get(pk, {})
        numbers[pk] = {p: mine.get(p) for p in needed if p != "now"}
        if "now" in needed:
            numbers[pk]["now"] = hour[pk] if hour.get(pk) and hour[pk].total else None
    return numbers


def overview_rows(page: list[Ranked], *, now: dt.datetime) -> list[OverviewRow]:
    """The rows of the page shown: the rest of its domains' numbers read (those the order
    was read from are shown as they are), formatted and linked."""
    ids = [ranked.pk for ranked in page]
    domains = Domain.objects.select_related("team", "record_config", "stream_config").in_bulk(ids)
    known = set(page[0].totals) if page else set()
    numbers = _numbers(ids, needed={"now", "24h", "7d", "30d"} - known, now=now)
    sparklines = failure_sparklines(domain_ids=ids, now=now)
    incidents = open_incident_counts(domain_ids=ids)
    records, incident_list = reverse("records"), reverse("incidents")
    # each number opens the records it counted (whole hours: not "Last 24 hours")
    since = {period: totals_window(period, now) for period in TOTALS}
    rows = []
    for ranked in page:
        domain = domains.get(ranked.pk)
        values = {**ranked.totals, **numbers[ranked.pk]}
        if domain is None:
            continue  # deleted meanwhile
        day, week, month = values["24h"], values["7d"], values["30d"]
        name = quote(domain.name, safe="")
        where = f"{records}?domain={name}"
        day_href = f"{where}&{since['24h']}"
        rows.append(
            OverviewRow(
                domain=domain,
                page=reverse("domain_detail", kwargs={"name": domain.name}),
                now=_now(values["now"], f"{where}&window=1h"),
                total24=Cell(intcomma(day.total if day else 0), href=day_href),
                failed24=Cell(intcomma(day.failed if day else 0), href=f"{day_href}&status=failed"),
                rate24=_rate(day, f"{day_href}&status=failed"),
                rate7=_rate(week, f"{where}&{since['7d']}&status=failed"),
                rate30=_rate(month, f"{where}&{since['30d']}&status=failed"),
                spark=spark(sparklines.get(domain.pk)),
                incidents=incidents.get(domain.pk, 0),
                incidents_href=f"{incident_list}?domain={name}&state=open",
                sort_values=values,
            )
        )
    return rows


def checked_sort(requested: str | None) -> str:
    sort = requested or DEFAULT_SORT
    return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT
