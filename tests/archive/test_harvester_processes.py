"""Harvesters as real processes: two at once, one killed mid-window and started again, and one
that keeps going (`--follow`) while its PostgreSQL restarts."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from dashboard.archive.models import (
    ArchivedName,
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HarvestWindow,
    HourlyRollup,
    NameDailyRollup,
    TotalHourlyRollup,
)
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from dashboard.sandbox.models import SandboxDomain, SandboxNotifyRecord
from tests.archive.test_harvest import (
    counted_rollups,
    recounted,
    rollups,
    states,
    summed_hourly,
    totals,
)
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, process_env
from tests.pgcluster import PostgresCluster

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
ROOT = Path(__file__).resolve().parents[2]
QUIET = "cdn.webinar-hub.com"


def harvester(*args: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "harvest_records", *args],
        cwd=ROOT,
        env=process_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_from_nothing() -> None:
    for model in (
        ArchivedRecord,
        HourlyRollup,
        DailyRollup,
        TotalHourlyRollup,
        ArchivedName,
        DomainHourlyTotal,
        NameDailyRollup,
        Incident,
        HarvestWindow,
        HarvestCursor,
    ):
        model.objects.all().delete()


def test_two_harvester_processes_share_the_windows_and_store_each_record_once(synced):
    start_from_nothing()
    # Each page answered 0.1 s late: the ~300 windows take the first harvester 15 s or more.
    # The second starts once the first holds a window: started together, the second could
    # plan nothing (the first holds every cursor while it plans), find no window yet committed
    # and end its pass with none — what a following harvester's next pass makes up for, but
    # not what this test is about.
    slow = ";".join(
        f"{action}:latency=0.1"
        for action in ("DescribeLiveRecordNotifyRecords", "DescribeLiveStreamsNotifyRecords")
    )
    env = {"ARCHIVE_HARVEST_WORKERS": "2", "LIVE_SANDBOX_FAULTS": slow}
    procs = [harvester("-v", "2", **env)]
    working = HarvestWindow.objects.exclude(lease_owner="")
    assert wait_for(working.exists, 120, pause=0.05), output_of(procs[0])
    procs.append(harvester("-v", "2", **env))
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    windows = [set(re.findall(r"✓ ([\w.-]+ [\d-]+ [\d:]+)–", out)) for out, _ in outputs]
    assert windows[0] and windows[1], "both harvesters took windows"
    assert not windows[0] & windows[1], "two harvesters fetched the same window"
    # every domain: streaming ones' recording callbacks, ingest ones' stream callbacks
    upstream = set(Domain.objects.filter(gone_at__isnull=True).values_list("name", flat=True))
    assert {w.split()[0] for w in windows[0] | windows[1]} == upstream
    assert all(c.harvested_until and c.backfilled for c in HarvestCursor.objects.all())
    # Every record the Live API holds (up to the seconds at the 7-day edge), once.
    served = SandboxNotifyRecord.objects.filter(
        notify_time__gte=timezone.now() - dt.timedelta(days=7) + dt.timedelta(minutes=5)
    ).count()
    assert served - 5 <= ArchivedRecord.objects.count() <= served + 5
    twice = ArchivedRecord.objects.values("fingerprint", "notify_time").annotate(n=Count("pk"))
    assert not twice.filter(n__gt=1).exists()
    assert HourlyRollup.objects.aggregate(n=Sum("count"))["n"] == ArchivedRecord.objects.count()
    # several harvesters added to the same all-domains rows at once: none of it lost
    assert totals() == summed_hourly()
    for domain in Domain.objects.filter(archived_records__isnull=False).distinct():
        assert rollups(domain) == counted_rollups(domain), domain.name
        assert states(domain) == recounted(domain), domain.name


def busy_upstream(name: str, n: int = 3000) -> int:
    """`n` records of `name` within one window (a day), failures and deliveries to two
    receivers mixed: several pages, several stored batches, incidents that open and resolve."""
    SandboxNotifyRecord.objects.filter(domain_name=name).delete()
    SandboxDomain.objects.filter(name=name).update(
        records_generated_until=timezone.now() + dt.timedelta(days=3650)
    )
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=5)
    rows = []
    for i in range(n):
        failing = (i // 250) % 2 == 0  # runs of 250 failures, then 250 deliveries
        rows.append(
            SandboxNotifyRecord(
                domain_name=name,
                app_name="live",
                stream_name=f"s{i % 11}",
                notify_type="record_started",
                notify_url=f"https://{'ab'[i % 2]}.kill.example.org/cb",
                notify_content="{}",
                notify_result="failed" if failing else "success",
                description="HTTP 502 Bad Gateway" if failing else "success",
                notify_time=start + dt.timedelta(seconds=i * 5),
            )
        )
    SandboxNotifyRecord.objects.bulk_create(rows)
    return n


def test_a_harvester_killed_mid_window_loses_nothing_and_stores_nothing_twice(synced):
    start_from_nothing()
    HarvestCursor.objects.bulk_create(
        [
            HarvestCursor(domain=d, next_run_at=timezone.now() + dt.timedelta(hours=1))
            for d in Domain.objects.filter(domain_type="liveVideo").exclude(name=QUIET)
        ]
    )
    expected = busy_upstream(QUIET)
    domain = Domain.objects.get(name=QUIET)
    # pages slowed down and stored 500 rows at a time: the window is half stored for a while
    slow = {
        "ARCHIVE_STORE_BATCH": "500",
        "ARCHIVE_HARVEST_WORKERS": "1",
        "LIVE_SANDBOX_FAULTS": "DescribeLiveRecordNotifyRecords:latency=0.4",
    }
    victim = harvester(**slow)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stored = ArchivedRecord.objects.filter(domain=domain).count()
        if 0 < stored < expected:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    stored = ArchivedRecord.objects.filter(domain=domain).count()
    assert 0 < stored < expected, "killed with part of a window stored"
    held = HarvestWindow.objects.filter(domain=domain, state=HarvestWindow.State.PENDING)
    assert held.exclude(lease_owner="").exists()  # the window it was storing, still pending
    # the dead harvester's lease runs out (as time would have it), and another starts
    HarvestWindow.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    again = harvester(ARCHIVE_STORE_BATCH="500", ARCHIVE_HARVEST_WORKERS="1")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert ArchivedRecord.objects.filter(domain=domain).count() == expected
    twice = ArchivedRecord.objects.values("fingerprint", "notify_time").annotate(n=Count("pk"))
    assert not twice.filter(n__gt=1).exists()
    assert rollups(domain) == counted_rollups(domain)
    assert states(domain) == recounted(domain)
    # 6 runs of failures, each to two receivers, each followed by 250 deliveries: 12
    # incidents, every one resolved
    incidents = Incident.objects.filter(domain=domain)
    assert incidents.count() == 6 * 2
    assert incidents.exclude(state=Incident.State.RESOLVED).count() == 0
    cursor = HarvestCursor.objects.get(domain=domain)
    assert cursor.backfilled and cursor.harvested_until == cursor.planned_until


@pytest.fixture
def own_postgres():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.remove()


def manage(*args: str, env: dict) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def archived_on(url: str, stream: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as db:
        return db.execute(
            "SELECT count(*) FROM archive_archivedrecord WHERE stream_name = %s", [stream]
        ).fetchone()[0]


def leased_on(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=5) as db:
        return (
            db.execute(
                "SELECT count(*) FROM archive_harvestwindow WHERE lease_owner <> ''"
            ).fetchone()[0]
            > 0
        )


def wait_for(check, seconds: float = 90.0, pause: float = 0.3) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except psycopg.Error:
            pass
        time.sleep(pause)
    return False


def output_of(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.stdout.read()[-5000:]


NOT_DUE_BUT_TEAM_DOMAIN = f"""
import datetime as dt
from django.utils import timezone
from dashboard.archive.models import HarvestCursor
from dashboard.domains.models import Domain
later = timezone.now() + dt.timedelta(hours=1)
for domain in Domain.objects.exclude(name={TEAM_DOMAIN!r}):
    HarvestCursor.objects.create(domain=domain, next_run_at=later)
"""


@pytest.mark.own_cluster
def test_a_following_harvester_carries_on_when_its_postgresql_restarts(synced, own_postgres):
    url = own_postgres.createdb("dashboard")
    # One domain harvested, each page slowed down: the follower is nearly always mid-window,
    # so the restart cuts one off; a lease it would wait out (10 minutes) fails the test.
    env = process_env(
        DATABASE_URL=url,
        ARCHIVE_HARVEST_INTERVAL="1",
        ARCHIVE_HARVEST_WORKERS="2",
        ARCHIVE_HARVEST_LEASE="600",
        LIVE_SANDBOX_FAULTS="DescribeLiveRecordNotifyRecords:latency=1.5",
    )
    manage("migrate", "-v", "0", env=env)
    manage("sync_domains", "-v", "0", env=env)
    manage("shell", "-c", NOT_DUE_BUT_TEAM_DOMAIN, env=env)
    follower = subprocess.Popen(
        [sys.executable, "manage.py", "harvest_records", "--follow", "--idle", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        from tests.conftest import add_record

        before = timezone.now() - dt.timedelta(seconds=30)
        add_record(stream_name="before-restart", notify_time=before)
        assert wait_for(lambda: archived_on(url, "before-restart") == 1, 180), output_of(follower)
        # restarted while a window is being fetched: every connection the harvester holds is
        # cut, and the window it holds is left leased to it
        assert wait_for(lambda: leased_on(url), 60, pause=0.02), output_of(follower)
        own_postgres.restart()
        add_record(
            stream_name="after-restart", notify_time=timezone.now() - dt.timedelta(seconds=5)
        )
        assert wait_for(lambda: archived_on(url, "after-restart") == 1), output_of(follower)
        assert follower.poll() is None, "the harvester exited"
    finally:
        follower.send_signal(signal.SIGTERM)
        try:
            output, _ = follower.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            follower.kill()
            output, _ = follower.communicate()
    assert follower.returncode == 0, output[-2000:]  # SIGTERM: it finished its pass and left
