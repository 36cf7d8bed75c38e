"""The harvester: every record once, late records, errors mid-run, a vanished domain, leases,
retention, rollups that equal a direct count, and two harvester processes at once."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db.models import Count, F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.archive import harvest
from dashboard.archive.harvest import archive_purge, archive_row, records_insert
from dashboard.archive.models import (
    ArchivedName,
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HourlyRollup,
    TotalHourlyRollup,
)
from dashboard.archive.selectors import records_search
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.live import NotifyRecord
from dashboard.sandbox.models import SandboxDomain, SandboxNotifyRecord
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record, database_url, harvest_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ROOT = Path(__file__).resolve().parents[2]


def count_archived(domain: str = TEAM_DOMAIN) -> int:
    return ArchivedRecord.objects.filter(domain_name=domain).count()


def backfill_again(domain) -> None:
    """The domain's records and rollups gone and its cursor reset: the next pass backfills it
    (and only it: the other domains are not due for an hour)."""
    ArchivedRecord.objects.filter(domain=domain).delete()
    for rollup in (HourlyRollup, DailyRollup, DomainHourlyTotal):
        rollup.objects.filter(domain=domain).delete()
    harvest._totals_rebuild(timezone.now() - dt.timedelta(days=8), timezone.now())
    HarvestCursor.objects.filter(domain=domain).update(
        harvested_until=None, backfilled=False, next_run_at=None
    )
    HarvestCursor.objects.exclude(domain=domain).update(
        next_run_at=timezone.now() + dt.timedelta(hours=1)
    )


def failing_on_page(number: int, picks, request_id: str):
    """fetch_slice, raising Throttling on page `number` of the windows `picks(start, end)`
    chooses (called once per window, as it starts)."""
    real = harvest.fetch_slice

    def fetch(name, start, end, **kwargs):
        chosen = picks(start, end)
        for n, page in enumerate(real(name, start, end, **kwargs), start=1):
            if chosen and n == number:
                raise UpstreamError(code="Throttling", message="slow down", request_id=request_id)
            yield page

    return fetch


# what the archive holds: records, names and every rollup (tests that start from nothing)
ARCHIVE_TABLES = (
    ArchivedRecord,
    HourlyRollup,
    DailyRollup,
    TotalHourlyRollup,
    ArchivedName,
    DomainHourlyTotal,
)


def rollup_total(domain: str = TEAM_DOMAIN) -> int:
    return HourlyRollup.objects.filter(domain__name=domain).aggregate(n=Sum("count"))["n"] or 0


def test_a_second_pass_stores_nothing_twice(archived):
    # One record inside the overlap for certain (the seeded traffic is sparse, and whether
    # any of it falls in the last 15 minutes depends on the minute the suite started).
    add_record(stream_name="overlap", notify_time=timezone.now() - dt.timedelta(minutes=5))
    assert harvest_now().inserted == 1
    before = ArchivedRecord.objects.count()
    report = harvest_now()
    assert report.fetched > 0 and report.inserted == 0  # the overlap was read again
    assert ArchivedRecord.objects.count() == before
    assert rollup_total() == count_archived()  # the rollups counted each record once


def test_a_late_record_inside_the_overlap_is_picked_up(archived):
    before = count_archived()
    add_record(stream_name="late", notify_time=timezone.now() - dt.timedelta(minutes=12))
    harvest_now()
    assert count_archived() == before + 1 and rollup_total() == before + 1


def test_an_upstream_error_mid_backfill_resumes_from_the_cursor(archived, monkeypatch):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    expected = count_archived()
    ArchivedRecord.objects.filter(domain=domain).delete()
    HourlyRollup.objects.filter(domain=domain).delete()
    HarvestCursor.objects.filter(domain=domain).update(
        harvested_until=None, backfilled=False, next_run_at=None
    )
    real = harvest.fetch_slice
    calls = []

    def failing_on_the_fifth_slice(name, start, end, **kwargs):
        calls.append(end)
        if name == TEAM_DOMAIN and len(calls) == 5:
            raise UpstreamError(code="ServiceUnavailable", message="down", request_id="RID-5")
        return real(name, start, end, **kwargs)

    monkeypatch.setattr(harvest, "fetch_slice", failing_on_the_fifth_slice)
    HarvestCursor.objects.exclude(domain=domain).update(
        next_run_at=timezone.now() + dt.timedelta(hours=1)
    )
    harvest.harvest_pass()
    cursor = HarvestCursor.objects.get(domain=domain)
    assert "ServiceUnavailable" in cursor.last_error and "RID-5" in cursor.last_error
    assert cursor.harvested_until == calls[3]  # the end of the last slice that worked
    assert cursor.next_run_at > timezone.now() and not cursor.lease_owner
    partial = count_archived()
    assert 0 < partial < expected
    monkeypatch.setattr(harvest, "fetch_slice", real)
    harvest_now()
    assert count_archived() == expected and rollup_total() == expected
    assert HarvestCursor.objects.get(domain=domain).last_error == ""


def test_a_domain_that_vanishes_keeps_its_archive_and_the_others_go_on(archived):
    gone = "pull.gamearena.net"
    kept = count_archived(gone)
    assert kept > 0
    SandboxDomain.objects.filter(name=gone).delete()
    add_record(stream_name="still-harvested")
    report = harvest_now()
    failed = {d.domain: d.error for d in report.failed}
    assert "InvalidDomain.NotFound" in failed[gone]
    assert count_archived(gone) == kept  # nothing archived is lost
    assert ArchivedRecord.objects.filter(stream_name="still-harvested").count() == 1
    # Once sync marks it gone, the harvester no longer asks for it.
    from dashboard.domains.sync import domains_sync_all

    domains_sync_all(workers=1)
    assert gone not in {d.domain for d in harvest_now().domains}


def test_a_lease_is_taken_once_and_a_crashed_harvesters_lease_runs_out(archived):
    now = timezone.now()
    HarvestCursor.objects.update(next_run_at=None, lease_owner="", lease_until=None)
    first = harvest.cursor_claim(owner="one", now=now)
    second = harvest.cursor_claim(owner="two", now=now)
    assert first and second and first.pk != second.pk
    HarvestCursor.objects.exclude(pk=first.pk).update(
        lease_owner="x", lease_until=now + dt.timedelta(minutes=5)
    )
    assert harvest.cursor_claim(owner="three", now=now) is None  # every domain is leased
    HarvestCursor.objects.filter(pk=first.pk).update(lease_until=now - dt.timedelta(seconds=1))
    again = harvest.cursor_claim(owner="three", now=now)
    assert again.pk == first.pk and again.lease_owner == "three"


def test_retention_purges_in_batches_and_keeps_the_rest(archived, monkeypatch, settings):
    settings.ARCHIVE_RETENTION_DAYS = 30
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    old = timezone.now() - dt.timedelta(days=40)
    rows = [
        archive_row(domain, _record(stream=f"old-{i}", when=old + dt.timedelta(minutes=i)), old)
        for i in range(7)
    ]
    records_insert(rows)
    assert ArchivedRecord.objects.filter(notify_time__lt=old + dt.timedelta(hours=1)).count() == 7
    monkeypatch.setattr(harvest, "PURGE_BATCH", 3)
    before = ArchivedRecord.objects.count()
    assert archive_purge(now=timezone.now()) == 7
    assert ArchivedRecord.objects.count() == before - 7
    assert not HourlyRollup.objects.filter(hour__lt=old + dt.timedelta(hours=2)).exists()
    # the names of purged records went with them; the others stay
    assert not ArchivedName.objects.filter(name__startswith="old-").exists()
    assert not TotalHourlyRollup.objects.filter(hour__lt=old + dt.timedelta(hours=2)).exists()
    assert not DomainHourlyTotal.objects.filter(hour__lt=old + dt.timedelta(hours=2)).exists()
    assert archived_names(domain) == direct_names(domain)


def _record(
    *,
    stream="s",
    when=None,
    result="success",
    kind="file_created",
    app="live",
    url="https://h.example.com/cb",
    description="success",
):
    return NotifyRecord(
        app_name=app,
        domain_name=TEAM_DOMAIN,
        stream_name=stream,
        notify_type=kind,
        notify_url=url,
        notify_content="{}",
        notify_header="",
        notify_response="",
        notify_result=result,
        notify_time=when or timezone.now(),
        description=description,
        storage_type="oss",
    )


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=72 * 3600),  # seconds back
            st.sampled_from(["file_created", "record_started", "record_error"]),
            st.sampled_from(
                [("success", "success"), ("failed", "HTTP 404 Not Found"), ("failed", "timeout")]
            ),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=60,
    ),
    batch=st.integers(min_value=1, max_value=25),
)
def test_rollups_equal_a_direct_count(synced, records, batch):
    """However records arrive — in batches, again and again — the rollups count each once."""
    domain = Domain.objects.get(name="cdn.webinar-hub.com")
    for model in ARCHIVE_TABLES:
        model.objects.all().delete()
    now = timezone.now().replace(microsecond=0)
    rows = [
        archive_row(
            domain,
            _record(
                stream=stream,
                when=now - dt.timedelta(seconds=back),
                kind=kind,
                result=result,
                description=description,
            ),
            now,
        )
        for back, kind, (result, description), stream in records
    ]
    for _ in range(2):  # the overlap: every record arrives twice
        for start in range(0, len(rows), batch):
            records_insert(rows[start : start + batch])
    direct = {
        (row["notify_type"], row["notify_result"], row["failure_class"]): row["n"]
        for row in ArchivedRecord.objects.filter(domain=domain)
        .values("notify_type", "notify_result", "failure_class")
        .annotate(n=Count("pk"))
    }
    rolled = {
        (row["notify_type"], row["notify_result"], row["failure_class"]): row["n"]
        for row in HourlyRollup.objects.filter(domain=domain)
        .values("notify_type", "notify_result", "failure_class")
        .annotate(n=Sum("count"))
    }
    assert rolled == direct
    by_hour = HourlyRollup.objects.filter(domain=domain).values_list("hour", flat=True)
    assert all(h.minute == 0 and h.second == 0 for h in by_hour)
    # ... and the daily rollups equal a direct count per UTC day
    per_day: dict = {}
    for record in ArchivedRecord.objects.filter(domain=domain):
        key = (
            record.notify_time.astimezone(dt.UTC).date(),
            record.notify_result,
            record.failure_class,
        )
        per_day[key] = per_day.get(key, 0) + 1
    daily = {
        (row.day, row.notify_result, row.failure_class): row.count
        for row in DailyRollup.objects.filter(domain=domain)
    }
    assert daily == per_day
    assert archived_names(domain) == direct_names(domain)
    # ... and the all-domains rollups equal the hourly ones summed
    assert totals() == summed_hourly()
    # ... and each domain's hourly totals equal a direct count of its records per hour
    assert hourly_totals() == counted_hourly_totals()


def hourly_totals() -> dict:
    """DomainHourlyTotal as {(domain, hour): (deliveries, failed)}."""
    return {
        (t.domain_id, t.hour): (t.deliveries, t.failed)
        for t in DomainHourlyTotal.objects.all()
        if t.deliveries
    }


def counted_hourly_totals() -> dict:
    """The same, counted from the archived records themselves."""
    counted: dict = {}
    for domain_id, when, result in ArchivedRecord.objects.values_list(
        "domain_id", "notify_time", "notify_result"
    ):
        key = (domain_id, when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0))
        deliveries, failed = counted.get(key, (0, 0))
        counted[key] = (deliveries + 1, failed + (result != "success"))
    return counted


def totals() -> dict:
    return {
        (t.hour, t.notify_result, t.failure_class): t.count
        for t in TotalHourlyRollup.objects.all()
        if t.count
    }


def summed_hourly() -> dict:
    """Every domain's hourly rollups, summed over the domains."""
    return {
        (row["hour"], row["notify_result"], row["failure_class"]): row["n"]
        for row in HourlyRollup.objects.values("hour", "notify_result", "failure_class")
        .annotate(n=Sum("count"))
        .order_by()
        if row["n"]
    }


def direct_names(domain) -> dict:
    """Each app and stream name of the domain's records, with its newest record's time."""
    names: dict = {}
    for record in ArchivedRecord.objects.filter(domain=domain):
        for key in (("app", record.app_name), ("stream", record.stream_name)):
            names[key] = max(names.get(key, record.notify_time), record.notify_time)
    return names


def archived_names(domain) -> dict:
    """ArchivedName's names of the domain, where each last_seen is checked against the newest
    record of the name: never after it, and behind it by at most NAME_SLACK."""
    stored = {(n.field, n.name): n.last_seen for n in ArchivedName.objects.filter(domain=domain)}
    direct = direct_names(domain)
    for key, last_seen in stored.items():
        if key in direct:
            assert direct[key] - harvest.NAME_SLACK <= last_seen <= direct[key], key
            stored[key] = direct[key]
    return stored


@pytest.mark.parametrize("text", ["a", "B", "str", "EAM-1", "x", "am-1"])
def test_a_name_search_finds_what_a_substring_match_of_the_records_finds(archived, text):
    """The explorer finds names in ArchivedName first: the result is the records whose app or
    stream contains the text in any case — nothing more, nothing less."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    records_insert(
        [
            archive_row(domain, _record(stream=stream, app=app, when=now), now)
            for stream, app in [("Stream-1", "A"), ("stream-10", "live"), ("ab", "xbox")]
        ]
    )
    window = {"start": now - dt.timedelta(days=7), "end": now + dt.timedelta(minutes=1)}
    records = ArchivedRecord.objects.filter(notify_time__gte=window["start"])
    for field in ("stream", "app"):
        for scope in ({}, {"domain_id": domain.pk}):
            found = set(
                records_search(filters={**window, **scope, field: text}).values_list(
                    "pk", flat=True
                )
            )
            direct = records.filter(
                **{f"{field}_name__icontains": text}, **({"domain": domain} if scope else {})
            )
            assert found == set(direct.values_list("pk", flat=True)), (field, scope)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_two_harvester_processes_share_the_domains_and_store_each_record_once(synced):
    HarvestCursor.objects.all().delete()
    for model in ARCHIVE_TABLES:
        model.objects.all().delete()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings_test",
        "DATABASE_URL": database_url("default"),
        "SANDBOX_DATABASE_URL": database_url("sandbox"),
        "ARCHIVE_HARVEST_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [sys.executable, "manage.py", "harvest_records", "-v", "2"]
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    harvested = [set(re.findall(r"✓ ([\w.-]+):", out)) for out, _ in outputs]
    streaming = set(
        Domain.objects.filter(domain_type="liveVideo", gone_at__isnull=True).values_list(
            "name", flat=True
        )
    )
    assert harvested[0] | harvested[1] == streaming
    assert not harvested[0] & harvested[1], "two harvesters fetched the same domain"
    assert all(c.harvested_until for c in HarvestCursor.objects.all())
    # Every record the Live API holds (up to the seconds it shares with another), once.
    upstream = SandboxNotifyRecord.objects.filter(
        notify_time__gte=timezone.now() - dt.timedelta(days=7) + dt.timedelta(minutes=5)
    ).count()
    assert upstream - 5 <= ArchivedRecord.objects.count() <= upstream + 5
    assert HourlyRollup.objects.aggregate(n=Sum("count"))["n"] == ArchivedRecord.objects.count()
    for domain in Domain.objects.filter(archived_records__isnull=False).distinct():
        assert archived_names(domain) == direct_names(domain), domain.name
    # four harvesters added to the same all-domains rows at once: none of it lost
    assert totals() == summed_hourly()
    assert hourly_totals() == counted_hourly_totals()


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"status": "failed"},
        {"type": "file_created"},
        {"failure": "timeout"},
        {"domain": True},
        {"domain": True, "status": "failed", "failure": "http_5xx"},
    ],
)
@pytest.mark.parametrize(
    "span",
    [
        dt.timedelta(minutes=40),
        dt.timedelta(hours=5, minutes=17),
        dt.timedelta(days=3),  # whole days: from the daily rollups
        dt.timedelta(days=6, hours=11),
    ],
)
def test_counts_from_the_rollups_equal_counting_the_records(archived, extra, span):
    """The counts above the table come from the daily and hourly rollups plus the two partial
    edge hours, and equal counting the records."""
    from dashboard.archive.selectors import records_counts, records_search

    end = timezone.now() - dt.timedelta(minutes=7, seconds=13)
    filters = {"start": end - span, "end": end, **extra}
    if filters.pop("domain", None):
        filters["domain_id"] = Domain.objects.get(name=TEAM_DOMAIN).pk
    rows = records_search(filters=filters)
    fast = records_counts(rows, filters=filters)
    slow = records_counts(rows)
    assert (fast.total, fast.success, fast.failed, fast.classes) == (
        slow.total,
        slow.success,
        slow.failed,
        slow.classes,
    )
    assert fast.total > 0 or extra or span < dt.timedelta(hours=1)  # not vacuous


def _cells(domain):
    hourly = sorted(
        HourlyRollup.objects.filter(domain=domain).values_list(
            "hour", "notify_type", "notify_result", "failure_class", "count"
        )
    )
    daily = sorted(
        DailyRollup.objects.filter(domain=domain).values_list(
            "day", "notify_result", "failure_class", "count"
        )
    )
    lean = sorted(
        DomainHourlyTotal.objects.filter(domain=domain).values_list("hour", "deliveries", "failed")
    )
    return hourly, daily, lean


def test_rebuild_rollups_recounts_a_range_and_leaves_a_busy_domain_alone(archived):
    from django.core.management import call_command

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    before = _cells(domain)
    assert before[0] and before[1] and before[2]
    # damage: counts doubled, a cell deleted (as a restore or a hand edit could leave them)
    HourlyRollup.objects.filter(domain=domain).update(count=F("count") * 2)
    DailyRollup.objects.filter(domain=domain).first().delete()
    DomainHourlyTotal.objects.filter(domain=domain).update(failed=F("failed") + 1)
    DomainHourlyTotal.objects.filter(domain=domain).last().delete()
    since = (timezone.now() - dt.timedelta(days=8)).date().isoformat()
    call_command("rebuild_rollups", since=since, domain=[TEAM_DOMAIN], verbosity=0)
    assert _cells(domain) == before
    # the all-domains rollups, damaged too, are the sums of the hourly ones again
    TotalHourlyRollup.objects.update(count=F("count") + 5)
    call_command("rebuild_rollups", since=since, verbosity=0)
    assert totals() == summed_hourly() and sum(totals().values()) == ArchivedRecord.objects.count()

    # a domain a harvester holds right now is reported, and not touched
    HarvestCursor.objects.filter(domain=domain).update(
        lease_owner="other-host:1", lease_until=timezone.now() + dt.timedelta(minutes=1)
    )
    HourlyRollup.objects.filter(domain=domain).update(count=F("count") * 3)
    err = io.StringIO()
    call_command("rebuild_rollups", since=since, domain=[TEAM_DOMAIN], stderr=err, verbosity=0)
    assert TEAM_DOMAIN in err.getvalue()
    assert _cells(domain)[0] != before[0]


def test_rebuild_rollups_refuses_nonsense():
    from django.core.management import CommandError, call_command

    for kwargs in (
        {"since": "yesterday"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"since": "2026-11-01", "domain": ["nope.example.com"]},
    ):
        with pytest.raises(CommandError):
            call_command("rebuild_rollups", **kwargs)


def test_a_domain_with_archived_records_cannot_be_deleted(archived):
    """The records' foreign key has no constraint in the database (its per-record check cost
    7% of the insert rate): the ORM's PROTECT is what keeps a record's domain."""
    from django.db.models import ProtectedError

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    assert ArchivedRecord.objects.filter(domain=domain).exists()
    with pytest.raises(ProtectedError):
        domain.delete()
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_an_error_mid_window_keeps_the_stored_pages_and_the_cursor_before_the_window(
    archived, monkeypatch
):
    """Pages are stored as they arrive (in batches of STORE_BATCH rows), but the cursor moves
    only past whole windows: after an error on a window's third page its first pages are in
    the archive, the cursor is at the window's start, and the next pass stores the rest with
    no record twice."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    expected = count_archived()
    real = harvest.fetch_slice
    backfill_again(domain)
    monkeypatch.setattr(harvest, "RECORDS_PAGE_SIZE_MAX", 10)  # a window is many pages
    monkeypatch.setattr(harvest, "STORE_BATCH", 20)  # two pages a batch
    windows = []

    def the_third_window(start, end):
        windows.append((start, end))
        return len(windows) == 3

    monkeypatch.setattr(harvest, "fetch_slice", failing_on_page(5, the_third_window, "RID-P5"))
    report = harvest.harvest_pass()
    assert "Throttling" in report.failed[0].error
    cursor = HarvestCursor.objects.get(domain=domain)
    assert cursor.harvested_until == windows[2][0]  # the failing window's start
    before_window = ArchivedRecord.objects.filter(
        domain=domain, notify_time__lt=windows[2][0]
    ).count()
    assert count_archived() >= before_window + 40  # its first four pages were stored
    monkeypatch.setattr(harvest, "fetch_slice", real)
    harvest_now()
    assert count_archived() == expected and rollup_total() == expected


def test_fetching_threads_hand_over_batches_in_order_and_then_their_error():
    """_pump runs in a fetching thread, _drain in the storing one: the batches arrive in
    order, and an error raised mid-window is raised again where the batches are consumed."""
    import threading
    from queue import Queue

    def two_batches_then_an_error(domain, window, now, *, threaded):
        yield [{"n": 1}]
        yield [{"n": 2}]
        raise UpstreamError(code="ServiceUnavailable", message="down", request_id="RID-T")

    out, waiting = Queue(), harvest._Waiting()
    original = harvest.window_rows
    harvest.window_rows = two_batches_then_an_error
    try:
        worker = threading.Thread(
            target=harvest._pump, args=(None, (None, None), None, out, waiting)
        )
        worker.start()
        worker.join(timeout=10)
    finally:
        harvest.window_rows = original
    assert not worker.is_alive()
    seen = []
    with pytest.raises(UpstreamError) as raised:
        for batch in harvest._drain(out):
            seen.append(batch)
    assert raised.value.request_id == "RID-T"
    assert seen == [[{"n": 1}], [{"n": 2}]]
    assert waiting.rows == 2  # handed over, to be taken off as they are stored


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_threads_fetch_and_store_windows_at_once_and_the_cursor_waits_for_the_earlier_ones(
    archived, settings, monkeypatch
):
    """The harvest as deployed: fetching threads, and on PostgreSQL several storing threads
    (each window on its own connection). A window failing on its fifth page leaves the cursor
    at its start even when later windows were stored meanwhile; the next pass completes the
    archive with every record once, its rollups and hourly totals equal to a direct count."""
    settings.ARCHIVE_HARVEST_WORKERS = 3
    settings.ARCHIVE_STORE_THREADS = 3
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    expected = count_archived()
    real = harvest.fetch_slice
    backfill_again(domain)
    monkeypatch.setattr(harvest, "RECORDS_PAGE_SIZE_MAX", 10)
    monkeypatch.setattr(harvest, "STORE_BATCH", 20)
    moment = timezone.now() - dt.timedelta(days=4, hours=5)  # inside the 3rd or 4th window
    failing = []

    def the_window_of_the_moment(start, end):
        if start <= moment < end:
            failing.append(start)
            return True
        return False

    monkeypatch.setattr(
        harvest, "fetch_slice", failing_on_page(5, the_window_of_the_moment, "RID-W")
    )
    report = harvest.harvest_pass()
    assert "RID-W" in report.failed[0].error
    cursor = HarvestCursor.objects.get(domain=domain)
    assert cursor.harvested_until == failing[0]  # never past the failing window
    assert (
        count_archived()
        > ArchivedRecord.objects.filter(domain=domain, notify_time__lt=failing[0]).count()
    )  # pages of it (and perhaps of later windows) were stored meanwhile
    monkeypatch.setattr(harvest, "fetch_slice", real)
    harvest_now()
    assert count_archived() == expected and rollup_total() == expected
    assert hourly_totals() == counted_hourly_totals()
    assert totals() == summed_hourly()
    assert archived_names(domain) == direct_names(domain)


def test_storing_threads_never_move_the_cursor_past_a_window_not_yet_stored(monkeypatch, settings):
    """Three storing threads take windows 0, 1, 2; 1 and 2 are stored while 0 is still being
    fetched, then 0 fails. The cursor must stay before window 0 — the later windows' records
    are in the archive, but a cursor past them would skip window 0's for good."""
    import threading
    from types import SimpleNamespace

    settings.ARCHIVE_STORE_THREADS = 3
    monkeypatch.setattr(harvest, "connection", SimpleNamespace(vendor="postgresql"))
    monkeypatch.setattr(harvest.connections, "close_all", lambda: None)
    stored_batches = []
    later_stored = threading.Event()

    def fake_insert(rows):
        stored_batches.append(rows)
        if len(stored_batches) == 2:
            later_stored.set()
        return []

    moves = []
    monkeypatch.setattr(harvest, "records_insert", fake_insert)
    monkeypatch.setattr(
        harvest, "_still_mine", lambda cursor, owner, **fields: moves.append(fields) or True
    )

    def window_zero():
        assert later_stored.wait(timeout=10), "windows 1 and 2 were not stored meanwhile"
        raise UpstreamError(code="ServiceUnavailable", message="down", request_id="RID-0")
        yield  # a generator, like the real batches

    def one_batch(n):
        yield [{"window": n}]

    t = [timezone.now() - dt.timedelta(days=3 - n) for n in range(4)]
    job = harvest._Job(
        cursor=SimpleNamespace(pk=1, domain=SimpleNamespace(name="x.example.com")),
        now=t[3],
        slices=[(t[0], t[1]), (t[1], t[2]), (t[2], t[3])],
        results=iter([window_zero(), one_batch(1), one_batch(2)]),
        threaded=True,
    )
    outcome = harvest._finish(job, "me", None)
    assert "RID-0" in outcome.error
    assert len(stored_batches) == 2  # the later windows were stored …
    assert moves == []  # … and the cursor stayed where it was


def test_a_storing_threads_database_error_reaches_the_harvest(monkeypatch, settings):
    """An error while a storing thread moves the cursor reaches the harvest of the domain (as
    on one thread), said on the domain, not lost with the thread."""
    from types import SimpleNamespace

    settings.ARCHIVE_STORE_THREADS = 2
    monkeypatch.setattr(harvest, "connection", SimpleNamespace(vendor="postgresql"))
    monkeypatch.setattr(harvest.connections, "close_all", lambda: None)
    monkeypatch.setattr(harvest, "records_insert", lambda rows: [])

    def broken_cursor(cursor, owner, **fields):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(harvest, "_still_mine", broken_cursor)
    t = [timezone.now() - dt.timedelta(days=2 - n) for n in range(3)]
    job = harvest._Job(
        cursor=SimpleNamespace(pk=1, domain=SimpleNamespace(name="x.example.com")),
        now=t[2],
        slices=[(t[0], t[1]), (t[1], t[2])],
        results=iter([iter([[{"window": 0}]]), iter([[{"window": 1}]])]),
        threaded=True,
    )
    outcome = harvest._finish(job, "me", None)
    assert "went away" in outcome.error


def start_over() -> None:
    """An empty archive and every domain due: the next pass backfills them all."""
    for model in ARCHIVE_TABLES:
        model.objects.all().delete()
    HarvestCursor.objects.update(
        harvested_until=None, backfilled=False, next_run_at=None, lease_owner="", lease_until=None
    )


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_threaded_pass_fetches_domains_ahead_while_one_is_stored(synced, settings, monkeypatch):
    """While the first domain is being stored, the next FETCH_AHEAD domains are fetched (with
    one ahead, the lane sat idle behind a busy domain's storing); their leases are renewed as
    they wait; the pass still stores every record once."""
    import threading

    start_over()
    harvest_now()  # what a pass stores on one thread, fetching nothing ahead
    expected = ArchivedRecord.objects.count()
    monkeypatch.setattr(harvest, "FETCH_AHEAD", 2)
    monkeypatch.setattr(harvest, "STORE_DOMAINS", 1)  # one domain stored at a time
    real_fetch, real_finish = harvest.fetch_slice, harvest._finish
    fetched_domains: list[str] = []
    first_domain: list[str] = []
    two_ahead = threading.Event()

    def fetch(name, start, end, **kwargs):
        fetched_domains.append(name)
        if first_domain and len(set(fetched_domains) - set(first_domain)) >= 2:
            two_ahead.set()
        yield from real_fetch(name, start, end, **kwargs)

    leases: list[dict] = []

    def finish(job, owner, on_new):
        leases.append(
            dict(
                HarvestCursor.objects.filter(lease_owner=owner).values_list(
                    "domain__name", "lease_until"
                )
            )
        )
        if not first_domain:
            first_domain.append(job.cursor.domain.name)
            fetched_domains.append(job.cursor.domain.name)
            assert two_ahead.wait(timeout=20), "no two domains were fetched ahead"
        return real_finish(job, owner, on_new)

    monkeypatch.setattr(harvest, "fetch_slice", fetch)
    monkeypatch.setattr(harvest, "_finish", finish)
    start_over()
    settings.ARCHIVE_HARVEST_WORKERS = 3
    report = harvest.harvest_pass()
    assert not report.failed and len(report.domains) > 3
    assert ArchivedRecord.objects.count() == expected > 0
    assert hourly_totals() == counted_hourly_totals()
    # a domain still waiting when the first was done had its lease renewed meanwhile
    waiting = set(leases[0]) & set(leases[1]) - set(first_domain)
    assert waiting
    assert all(leases[1][name] > leases[0][name] for name in waiting)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_pass_that_fails_frees_the_domains_it_had_claimed_ahead(synced, settings, monkeypatch):
    """An unexpected error while storing one domain releases the leases of the domains claimed
    ahead of it: another harvester may take them at once, not after the lease runs out."""
    settings.ARCHIVE_HARVEST_WORKERS = 3
    monkeypatch.setattr(harvest, "FETCH_AHEAD", 2)
    monkeypatch.setattr(harvest, "STORE_DOMAINS", 1)

    def broken(job, owner, on_new):
        raise RuntimeError("disk full")

    monkeypatch.setattr(harvest, "_finish", broken)
    start_over()
    with pytest.raises(RuntimeError, match="disk full"):
        harvest.harvest_pass(owner="me")
    # the failing domain's lease runs out as a crashed harvester's would; the others are free
    assert HarvestCursor.objects.filter(lease_owner="me").count() == 1
    assert HarvestCursor.objects.filter(lease_owner="", lease_until=None).count() >= 2


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_postgresql_stores_two_domains_at_once_and_a_failure_leaves_the_other_released(
    synced, settings, monkeypatch
):
    """On PostgreSQL two domains are stored at once (SQLite, one writer, stores one at a
    time). When one of them fails, the other is still finished and released as usual, the
    domains waiting their turn are freed, and the error reaches the caller."""
    import threading

    from django.db import connection

    settings.ARCHIVE_HARVEST_WORKERS = 3
    monkeypatch.setattr(harvest, "FETCH_AHEAD", 3)
    monkeypatch.setattr(harvest, "STORE_DOMAINS", 2)
    start_over()
    real_finish = harvest._finish
    started: list[str] = []
    lock = threading.Lock()
    second_started = threading.Event()
    overlapped: list[bool] = []

    def finish(job, owner, on_new):
        with lock:
            started.append(job.cursor.domain.name)
            first = len(started) == 1
            if len(started) == 2:
                second_started.set()
        if first:
            # on PostgreSQL the second domain starts meanwhile; on SQLite it cannot
            overlapped.append(second_started.wait(timeout=3))
            raise RuntimeError("disk full")
        return real_finish(job, owner, on_new)

    monkeypatch.setattr(harvest, "_finish", finish)
    with pytest.raises(RuntimeError, match="disk full"):
        harvest.harvest_pass(owner="me")
    failed = HarvestCursor.objects.get(domain__name=started[0])
    assert failed.lease_owner == "me"  # runs out, as a crashed harvester's would
    if connection.vendor == "postgresql":
        assert overlapped == [True]
        other = HarvestCursor.objects.get(domain__name=started[1])
        assert other.lease_owner == "" and other.backfilled and other.next_run_at is not None
        assert ArchivedRecord.objects.filter(domain_name=started[1]).exists()
    else:
        assert overlapped == [False] and len(started) == 1
    assert HarvestCursor.objects.filter(lease_owner="me").count() == 1


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_no_further_domain_is_claimed_while_too_many_fetched_rows_wait(
    synced, settings, monkeypatch
):
    """Memory stays bounded: once MAX_WAITING rows are fetched and not yet stored, the pass
    claims no further domain until they are (the first ones are claimed before any row has
    arrived)."""
    settings.ARCHIVE_HARVEST_WORKERS = 3
    monkeypatch.setattr(harvest, "FETCH_AHEAD", 1)
    monkeypatch.setattr(harvest, "STORE_DOMAINS", 1)
    monkeypatch.setattr(harvest, "MAX_WAITING", 1)
    start_over()
    jobs, released = [], set()
    real_start, real_claim, real_release = (
        harvest._start,
        harvest.cursor_claim,
        harvest._release_after,
    )
    waiting_at_claims = []

    def start(cursor, now, pool):
        jobs.append(real_start(cursor, now, pool))
        return jobs[-1]

    def claim(**kwargs):
        open_jobs = [j for j in jobs if j.cursor.pk not in released]
        waiting_at_claims.append(sum(j.waiting.rows for j in open_jobs))
        return real_claim(**kwargs)

    def release(cursor, owner, outcome, interval):
        released.add(cursor.pk)
        return real_release(cursor, owner, outcome, interval)

    def finish(job, owner, on_new):
        if job is jobs[0]:  # the second domain's rows arrive while the first is stored
            deadline = time.monotonic() + 20
            while jobs[1].waiting.rows == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert jobs[1].waiting.rows > 0
        return real_finish(job, owner, on_new)

    real_finish = harvest._finish
    monkeypatch.setattr(harvest, "_finish", finish)
    monkeypatch.setattr(harvest, "_start", start)
    monkeypatch.setattr(harvest, "cursor_claim", claim)
    monkeypatch.setattr(harvest, "_release_after", release)
    report = harvest.harvest_pass()
    assert len(report.domains) > 3 and not report.failed
    assert waiting_at_claims[:2] == [0, 0]  # before anything was fetched
    assert all(rows == 0 for rows in waiting_at_claims[2:]), waiting_at_claims
