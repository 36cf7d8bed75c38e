"""The failure overview's order comes from the database (DomainRanking sums, orders and pages
every domain in one statement). Whatever the sort and direction, and read a page at a time, it
is the order the overview's rules give when each domain's numbers are read one by one:

- by a period's rate, failures or deliveries; a domain with no deliveries in the period
  comes below every domain with some (below 0%, below 0 failures);
- "failing now" (the last hour): a domain with fewer than 10 deliveries ranks after those
  with enough; among equal rates, more failures first;
- ties by the last 24 hours' rate, then by name A to Z whichever the direction;
- domains that are gone are left out.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.archive.selectors import DomainRanking, Totals, delivery_counts, failure_totals
from dashboard.domains.models import Domain
from dashboard.records.overview import NOW_MIN_DELIVERIES, SORTS
from tests.conftest import ALL_DATABASES, archive

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(params=[13, 47], ids=["13 minutes into the hour", "47 minutes into it"])
def now(archived, request):
    """The demo account's domains, and beside them domains made to tie and to be quiet; the
    ranking asked a while ago, some minutes into an hour (the last hour's two partial hours
    are read from their records or from the hour's total less the others, by their length;
    the demo's later records stand for records stamped after the reader's clock)."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    now = hour + dt.timedelta(minutes=request.param, seconds=30)

    def domain(name: str, *events, gone: bool = False) -> None:
        made = Domain.objects.create(
            name=name, domain_type="liveVideo", gone_at=now if gone else None
        )
        archive(made, *events)

    def minutes_ago(result: str, *minutes: int):
        return [(result, now - dt.timedelta(minutes=m)) for m in minutes]

    # 50% in the last hour, equal counts: the 24 hours' rate decides
    domain(
        "tie-a.example.net",
        *minutes_ago("failed", *range(1, 6)),
        *minutes_ago("success", *range(6, 11)),
    )
    domain(
        "tie-b.example.net",
        *minutes_ago("failed", *range(1, 6)),
        *minutes_ago("success", *range(6, 11)),
        *minutes_ago("failed", 200, 201, 202),
    )
    # 50% too, but twice the failures: first among the 50%
    domain(
        "tie-c.example.net",
        *minutes_ago("failed", *range(1, 11)),
        *minutes_ago("success", *range(11, 21)),
    )
    # 100% of 3: too few to rank by, after every domain with enough
    domain("few.example.net", *minutes_ago("failed", 2, 3, 4))
    # nothing in the last hour; the 7 and 30 days only
    domain("old.example.net", *[("failed", now - dt.timedelta(days=d)) for d in (3, 10, 20)])
    domain("empty.example.net")
    # one delivery in the last hour, delivered, in the hour before this one: 0%, not "no rate"
    domain("edge-only.example.net", *minutes_ago("success", 55), *minutes_ago("failed", 300))
    domain("gone.example.net", *minutes_ago("failed", *range(1, 30)), gone=True)
    # names that tie on every number: A to Z
    for name in ("same-b.example.net", "same-a.example.net"):
        domain(name, *minutes_ago("success", 30))
    return now


def expected(sort: str, now: dt.datetime) -> list[str]:
    """The overview's rules, applied to each domain's numbers read one by one."""
    period, measure = SORTS[sort.lstrip("-")]
    descending = sort.startswith("-")
    domains = list(Domain.objects.filter(gone_at__isnull=True).order_by("name"))
    if period is None:
        names = [d.name for d in domains]
        return names[::-1] if descending else names
    ids = [d.pk for d in domains]
    totals = failure_totals(domain_ids=ids, now=now)
    hour = delivery_counts(domain_ids=ids, start=now - dt.timedelta(hours=1), end=now, now=now)

    def number(found, what: str) -> float:
        # no deliveries (no row, or a row of none): below every domain with some
        value = getattr(found, what, None) if found and found.total else None
        return -1 if value is None else value

    def key(d: Domain) -> tuple:
        day_rate = number(totals.get(d.pk, {}).get("24h"), "rate")
        if period == "now":
            found = hour[d.pk] if hour[d.pk].total else None
            enough = bool(found and found.total >= NOW_MIN_DELIVERIES)
            return (enough, number(found, "rate"), found.failed if found else 0, day_rate)
        found = totals.get(d.pk, {}).get(period)
        return (number(found, measure),) + (() if period == "24h" else (day_rate,))

    # a stable sort: ties keep the names' order, reversed or not
    return [d.name for d in sorted(domains, key=key, reverse=descending)]


@pytest.mark.parametrize("sort", [s for key in SORTS for s in (key, f"-{key}")])
def test_every_order_read_page_by_page_is_the_rules_order(now, sort):
    period, measure = SORTS[sort.lstrip("-")]
    ranking = DomainRanking(
        period=period,
        measure=measure,
        descending=sort.startswith("-"),
        now=now,
        min_deliveries=NOW_MIN_DELIVERIES,
    )
    everyone = ranking.count()
    assert everyone == Domain.objects.filter(gone_at__isnull=True).count() > 10
    pages = [ranking[start : start + 7] for start in range(0, everyone, 7)]
    names = [r.name for page in pages for r in page]
    assert names == expected(sort, now)
    assert "gone.example.net" not in names and ranking[everyone : everyone + 7] == []


def test_failing_now_puts_the_ties_and_the_quiet_where_a_reader_expects(now):
    ranking = DomainRanking(
        period="now", measure="rate", descending=True, now=now, min_deliveries=10
    )
    names = [r.name for r in ranking[: ranking.count()]]
    assert names.index("tie-c.example.net") < names.index("tie-b.example.net")
    assert names.index("tie-b.example.net") < names.index("tie-a.example.net")
    assert names.index("few.example.net") > names.index("tie-a.example.net")
    assert names.index("same-a.example.net") + 1 == names.index("same-b.example.net")
    shown = {r.name: r.totals for r in ranking[: ranking.count()]}
    assert shown["tie-c.example.net"]["now"].total == 20
    assert shown["tie-c.example.net"]["now"].failed == 10
    assert shown["tie-b.example.net"]["24h"].failed == 8
    assert shown["empty.example.net"] == {"now": None, "24h": None}
    assert shown["edge-only.example.net"]["now"] == Totals(1, 0)
    # among the quiet (under 10 deliveries), 0% ranks above the domains with no deliveries
    assert names.index("edge-only.example.net") < names.index("empty.example.net")


def test_only_known_periods_and_measures_are_ranked_by():
    with pytest.raises(ValueError):
        DomainRanking(
            period="now; DROP TABLE x", measure="rate", descending=True, now=timezone.now()
        )
    with pytest.raises(ValueError):
        DomainRanking(period="24h", measure="id", descending=True, now=timezone.now())
