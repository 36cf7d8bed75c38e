"""Deliveries and failures in a window (`delivery_counts`: the failure overview's last hour,
the failure-rate and silence alerts) are exact whatever the window's edges: a partial hour is
read from its records, or from its hour's total less the records outside it, and both give
what counting the records one by one gives — records after "now" included."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.archive.models import ArchivedRecord
from dashboard.archive.selectors import Totals, delivery_counts
from dashboard.domains.models import Domain
from tests.conftest import archive

pytestmark = pytest.mark.django_db

# The moment the counts are asked at: 37 minutes into an hour, a few hours ago (the records
# stored after it stand for records stamped ahead of the reader's clock).
NOW = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(minute=37, second=0, microsecond=0)
SPAN = dt.timedelta(hours=4)  # records from NOW - SPAN to NOW + 1 hour


@pytest.fixture
def domains(db):
    """Two domains with a record every 7 or 11 minutes, every third one failed."""
    made = []
    for n, step in enumerate((7, 11)):
        domain = Domain.objects.create(
            name=f"counts-{n}.example.com", domain_type="liveVideo", status="online"
        )
        events = []
        moment = NOW - SPAN + dt.timedelta(seconds=13 * n)
        i = 0
        while moment < NOW + dt.timedelta(hours=1):
            events.append(("failed" if i % 3 == 0 else "success", moment))
            moment += dt.timedelta(minutes=step, seconds=17)
            i += 1
        archive(domain, *events)
        made.append(domain)
    return made


def counted(domain: Domain, start: dt.datetime, end: dt.datetime) -> Totals:
    rows = ArchivedRecord.objects.filter(domain=domain, notify_time__gte=start, notify_time__lt=end)
    return Totals(rows.count(), rows.exclude(notify_result="success").count())


def test_the_last_hour_as_the_overview_reads_it(domains):
    # 37 minutes into the hour: the current hour's part is its total less the records after
    # NOW; the previous hour's 23 minutes are read as records
    got = delivery_counts(
        domain_ids=[d.pk for d in domains], start=NOW - dt.timedelta(hours=1), end=NOW, now=NOW
    )
    for domain in domains:
        assert got[domain.pk] == counted(domain, NOW - dt.timedelta(hours=1), NOW)
        assert got[domain.pk].total > 0 and got[domain.pk].failed > 0


minutes = st.integers(min_value=0, max_value=int(SPAN.total_seconds() // 60) + 59)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=minutes, length=st.integers(min_value=0, max_value=150), seconds=st.integers(0, 59))
def test_any_window_counts_what_its_records_count(domains, first, length, seconds):
    start = NOW - SPAN + dt.timedelta(minutes=first, seconds=seconds)
    end = start + dt.timedelta(minutes=length, seconds=seconds)
    got = delivery_counts(domain_ids=[d.pk for d in domains], start=start, end=end, now=NOW)
    for domain in domains:
        assert got[domain.pk] == counted(domain, start, end), (start, end)


def test_a_window_of_whole_hours_and_no_records(domains):
    hour = NOW.replace(minute=0)
    got = delivery_counts(
        domain_ids=[domains[0].pk], start=hour - dt.timedelta(hours=2), end=hour, now=NOW
    )
    assert got[domains[0].pk] == counted(domains[0], hour - dt.timedelta(hours=2), hour)
    empty = delivery_counts(
        domain_ids=[domains[0].pk],
        start=NOW - SPAN - dt.timedelta(hours=5),
        end=NOW - SPAN - dt.timedelta(minutes=1),
        now=NOW,
    )
    assert empty[domains[0].pk] == Totals(0, 0)
