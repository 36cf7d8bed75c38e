"""The callback archive on PostgreSQL: backfill, insert rate, steady-state lag, purging an
expired day, and searches over BENCH_RECORDS synthetic records (default 20,000,000; 90 days,
BENCH_DOMAINS domains, default 1,000) in daily partitions, with their query plans and the same
queries on an unpartitioned copy of the table beside them.

Run by `make bench` inside a throwaway PostgreSQL cluster (scripts/with-postgres.sh); alone:
    bash scripts/with-postgres.sh .venv/bin/python benchmarks/archive.py
Parts: `archive.py backfill insert lag purge search analytics timeline api` (default: all).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _bootstrap import setup, summary

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("archive.py needs PostgreSQL: run it through scripts/with-postgres.sh")
os.environ["LIVE_SANDBOX_THROTTLE"] = "true"  # the documented QPS, enforced
# As in production: DEBUG off (its query log alone would cost more than the inserts).
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ["SECURE_SSL_REDIRECT"] = "false"  # the test client speaks plain HTTP
PARTS = sys.argv[1:] or [
    "backfill",
    "insert",
    "lag",
    "purge",
    "search",
    "analytics",
    "timeline",
    "api",
]
RECORDS = int(os.environ.get("BENCH_RECORDS", "20000000"))
DOMAINS = int(os.environ.get("BENCH_DOMAINS", "1000"))
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))  # the backfill by processes too (0: not)
REPLAY = os.environ.get("BENCH_REPLAY", "1") == "1"  # the backfill with a replayed upstream too

# The Live API is a service of its own: the sandbox runs in its own process (throttled at the
# documented QPS), and the dashboard reaches it over HTTP as it would reach Alibaba Cloud.
root = Path(__file__).resolve().parents[1]
SANDBOX = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, *, tries: int = 100, pause: float = 0.1) -> None:
    """Until something listens on `port` (or `tries` are spent)."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(pause)


if {"backfill", "lag"} & set(PARTS):
    port = free_port()
    sandbox_env = {
        **os.environ,
        "DEBUG": "false",  # as deployed: the query log alone cost the emulator a fifth
        "DATABASE_URL": "",
        "SANDBOX_DATABASE_URL": f"sqlite:///{root / 'var' / 'bench' / 'archive-sandbox.sqlite3'}",
        "LIVE_SANDBOX_BIG_DOMAIN_RECORDS": "200000",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    (root / "var" / "bench").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--database", "sandbox", "-v0"],
        cwd=root,
        env=sandbox_env,
        check=True,
    )
    SANDBOX = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{port}"],
        cwd=root,
        env=sandbox_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port, tries=600, pause=0.5)  # seeding 200,000 records takes a while the first time
    os.environ["LIVE_API_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "sandbox"
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "sandbox-secret"

setup("archive", sandbox_db="archive-sandbox.sqlite3", throttle=True, keep_database=True)

from django.conf import settings as _settings  # noqa: E402

# Pages render with plain static URLs (no collectstatic manifest in a benchmark checkout).
_settings.STORAGES = {
    **_settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.archive.harvest import SLICE, archive_settle, harvest_pass  # noqa: E402
from dashboard.archive.models import (  # noqa: E402
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
from dashboard.archive.partitions import (  # noqa: E402
    partitions_ensure,
    records_delete,
    records_purge,
)
from dashboard.archive.rollups import hour_of, rollups_rebuild  # noqa: E402
from dashboard.archive.selectors import archive_freshness  # noqa: E402
from dashboard.archive.store import archive_row, records_insert  # noqa: E402
from dashboard.contract.api import ACTION_QPS, DESCRIBE_RECORDS  # noqa: E402
from dashboard.domains.models import Domain  # noqa: E402
from dashboard.incidents.models import Incident  # noqa: E402
from dashboard.live import NotifyRecord  # noqa: E402
from dashboard.upstream import get_client, reset_client  # noqa: E402

SHARE = ACTION_QPS[DESCRIBE_RECORDS] * settings.LIVE_API_RATE_FRACTION
CEILING = 0.9  # the harvest share whose backfill tells the machine's ceiling


def counted_client(share: float) -> list[float]:
    """A fresh client at `share`; returns the list its records queries append their times to."""
    settings.LIVE_API_HARVEST_SHARE = share
    reset_client()
    client, calls = get_client(), []
    describe = client.describe_notify_records

    def counted(*args, **kwargs):
        calls.append(time.monotonic())
        return describe(*args, **kwargs)

    client.describe_notify_records = counted
    return calls


def print_fifths(calls: list[float], started: float, elapsed: float) -> None:
    fifths = [0] * 5
    for at in calls:
        fifths[min(4, int(5 * (at - started) / elapsed))] += 1
    print(
        "  calls/s in each fifth of the run: "
        + ", ".join(f"{5 * n / elapsed:.0f}" for n in fifths)
        + f"; the last call {elapsed - (calls[-1] - started):.2f} s before the end"
    )


def backfill() -> None:
    print("\n-- backfill of the demo account (runsandbox, throttled; the harvest lane's budget)")
    call_command("sync_domains", verbosity=0)
    # 0.9, the largest share there is, is the machine's ceiling: its lane (81 QPS) hardly ever
    # makes a call wait, so what it reaches is what the harvester, PostgreSQL and the emulator
    # can do at all on these cores; the harvest share's run is set against it
    default = settings.LIVE_API_HARVEST_SHARE
    shares = os.environ.get("BENCH_SHARES", f"{default},{CEILING},0.2")
    reached = {}
    for share in map(float, shares.split(",")):
        calls = counted_client(share)
        _empty_archive()
        started, cpu, sandbox_cpu = time.monotonic(), time.process_time(), _cpu(SANDBOX.pid)
        pg_cpu = _pg_cpu()
        report = harvest_pass()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        sandbox_cpu = _cpu(SANDBOX.pid) - sandbox_cpu
        pg_cpu = _pg_cpu() - pg_cpu
        lane = SHARE * share
        per_record = cpu / max(report.inserted, 1)
        print(
            f"share {share:.0%} ({lane:.0f} QPS), one process, "
            f"{settings.ARCHIVE_HARVEST_WORKERS} threads: {report.inserted:,} records from "
            f"{len(report.domains)} domains in {elapsed:.1f} s = {report.inserted / elapsed:,.0f} "
            f"records/s; {len(calls)} calls, {len(calls) / elapsed:.1f} calls/s = "
            f"{100 * len(calls) / elapsed / lane:.0f}% of the lane; "
            f"{len(report.failed)} domains failed, {Incident.objects.count():,} incidents; "
            "the harvester's own CPU: "
            f"{per_record * 1e6:.0f} µs per record = {1 / per_record:,.0f} records/s "
            f"= {1 / per_record / 500:.0f} full pages/s per core; the sandbox's CPU: "
            f"{sandbox_cpu:.1f} s in {elapsed:.1f} s ({100 * sandbox_cpu / elapsed:.0f}% of one "
            f"core, {1000 * sandbox_cpu / max(len(calls), 1):.0f} ms per page); PostgreSQL's: "
            f"{pg_cpu:.1f} s ({1e6 * pg_cpu / max(report.inserted, 1):.0f} µs per record); "
            f"the machine: {(cpu + sandbox_cpu + pg_cpu) / elapsed:.2f} of its "
            f"{os.cpu_count()} cores busy with these three"
        )
        print_fifths(calls, started, elapsed)
        reached[share] = len(calls) / elapsed
        if share == CEILING and default in reached:
            print(
                f"  the {default:.0%} share's run reached {reached[default]:.1f} calls/s = "
                f"{100 * reached[default] / reached[CEILING]:.0f}% of this ceiling"
            )
        if PROCESSES > 1:
            backfill_processes(share, processes=PROCESSES, threads=2)
    if REPLAY:
        backfill_replayed(default)


def backfill_replayed(share: float) -> None:
    """The same backfill where the upstream costs these cores next to nothing, as where the
    Live API is Alibaba's: one backfill's answers from `runsandbox` recorded (its clock held
    still, so a second backfill asks exactly the same), then served again from memory by
    benchmarks/replay_upstream.py in its own process, paced by the `share` lane as always."""
    import pickle
    import tempfile

    from replay_upstream import replay_key

    moment = timezone.now()
    settings.LIVE_API_HARVEST_SHARE = CEILING
    reset_client()
    client = get_client()
    pages, send = {}, client.http.send

    def recording(request, **kwargs):
        response = send(request, **kwargs)
        pages[replay_key(request.url.params)] = response.content
        return response

    client.http.send = recording
    _empty_archive()
    harvest_pass(now=lambda: moment)
    descriptor, name = tempfile.mkstemp(prefix="bench-replay-", suffix=".pickle")
    with os.fdopen(descriptor, "wb") as out:  # mkstemp's descriptor, closed once written
        pickle.dump(pages, out)
    recorded = Path(name)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(root / "benchmarks" / "replay_upstream.py"), str(port), recorded]
    )
    endpoint = settings.LIVE_API_ENDPOINT
    try:
        wait_for(port)
        settings.LIVE_API_ENDPOINT = f"http://127.0.0.1:{port}"
        calls = counted_client(share)
        _empty_archive()
        started, cpu, pg_cpu = time.monotonic(), time.process_time(), _pg_cpu()
        report = harvest_pass(now=lambda: moment)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        pg_cpu, server_cpu = _pg_cpu() - pg_cpu, _cpu(server.pid)
        lane = SHARE * share
        print(
            f"share {share:.0%} ({lane:.0f} QPS), the emulator's {len(pages)} answers replayed "
            f"from memory: {report.inserted:,} records in {elapsed:.1f} s = "
            f"{report.inserted / elapsed:,.0f} records/s; {len(calls)} calls, "
            f"{len(calls) / elapsed:.1f} calls/s = {100 * len(calls) / elapsed / lane:.0f}% of "
            f"the lane; {len(report.failed)} domains failed; CPU: the harvester "
            f"{1e6 * cpu / max(report.inserted, 1):.0f} µs per record, PostgreSQL "
            f"{1e6 * pg_cpu / max(report.inserted, 1):.0f}, the replaying server "
            f"{server_cpu:.1f} s; {(cpu + pg_cpu + server_cpu) / elapsed:.2f} of the "
            f"{os.cpu_count()} cores busy"
        )
        print_fifths(calls, started, elapsed)
    finally:
        settings.LIVE_API_ENDPOINT = endpoint
        server.terminate()
        server.wait()
        recorded.unlink()


def backfill_processes(share: float, *, processes: int, threads: int) -> None:
    """The same backfill by `processes` harvester processes (`manage.py harvest_records`, as
    deployed: sharing the rate budget through Redis), each with `threads` threads; the calls
    counted by the processes' own metrics (prometheus-client's multiprocess files)."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry, multiprocess

    redis = shutil.which("redis-server")
    if redis is None:
        print("  (no redis-server here: harvester processes cannot share a rate budget)")
        return
    port = free_port()
    server = subprocess.Popen(
        [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    metrics = tempfile.mkdtemp(prefix="bench-metrics-")
    try:
        _empty_archive()
        env = {
            **os.environ,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "PROMETHEUS_MULTIPROC_DIR": metrics,
            "ARCHIVE_HARVEST_WORKERS": str(threads),
            "LIVE_API_HARVEST_SHARE": str(share),
        }
        wait_for(port)
        started = time.monotonic()
        harvesters = [
            subprocess.Popen(
                [sys.executable, "manage.py", "harvest_records", "-v0"],
                cwd=root,
                env=env,
            )
            for _ in range(processes)
        ]
        failed = sum(h.wait() != 0 for h in harvesters)
        elapsed = time.monotonic() - started
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics)
        calls = sum(
            sample.value
            for family in registry.collect()
            if family.name == "dashboard_live_api_calls"
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels.get("operation") == DESCRIBE_RECORDS
        )
        records = ArchivedRecord.objects.count()
        lane = SHARE * share
        print(
            f"share {share:.0%} ({lane:.0f} QPS), {processes} processes × {threads} threads "
            f"(started and stopped in the time): {records:,} records in {elapsed:.1f} s = "
            f"{records / elapsed:,.0f} records/s; {calls:.0f} calls, {calls / elapsed:.1f} "
            f"calls/s = {100 * calls / elapsed / lane:.0f}% of the lane; {failed} processes "
            f"failed, {Incident.objects.count():,} incidents"
        )
    finally:
        server.terminate()
        shutil.rmtree(metrics, ignore_errors=True)


def _empty_archive() -> None:
    """The archive as a first backfill meets it: empty. TRUNCATE, not DELETE: re-inserting
    the very records a DELETE just left behind as dead rows costs PostgreSQL ~7x as much per
    row (each uniqueness check visits the dead copies), which a real first run never meets."""
    tables = [
        model._meta.db_table
        for model in (
            ArchivedRecord,
            ArchivedName,
            HourlyRollup,
            DailyRollup,
            NameDailyRollup,
            DomainHourlyTotal,
            TotalHourlyRollup,
            HarvestCursor,
            HarvestWindow,
            Incident,
        )
    ]
    with connection.cursor() as cursor:
        # CASCADE: the redelivery attempts that point at archived records go with them
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # noqa: S608 - model tables


def _cpu(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of a process (Linux /proc); `children`: and of its children
    that have ended."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[n]) for n in ((11, 12, 13, 14) if children else (11, 12)))
    return ticks / os.sysconf("SC_CLK_TCK")


def _pg_cpu() -> float:
    """CPU seconds PostgreSQL has spent: the postmaster, its ended children, the live ones."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    total = _cpu(postmaster, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def insert() -> None:
    print("\n-- insert rate on PostgreSQL (rows already fetched and classified)")
    domain, _ = Domain.objects.get_or_create(
        name="insert-bench.example.com", defaults={"domain_type": "liveVideo", "status": "online"}
    )
    Domain.objects.filter(pk=domain.pk).update(gone_at=timezone.now())  # never harvested
    ArchivedRecord.objects.filter(domain=domain).delete()
    HarvestCursor.objects.filter(domain=domain).delete()
    now = timezone.now().replace(microsecond=0)
    rows = [archive_row(domain, _record(i, now), now) for i in range(100_000)]
    rows.reverse()  # oldest first, as windows are stored
    # as the harvester stores them: windows of SLICE, each in batches of ARCHIVE_STORE_BATCH
    # rows, then settled (the incidents derived from the window's records, read back in time
    # order); the API hands each window's pages newest first
    windows: dict[dt.datetime, list] = {}
    first = rows[0].notify_time
    for row in rows:
        windows.setdefault(first + SLICE * ((row.notify_time - first) // SLICE), []).append(row)
    batch = settings.ARCHIVE_STORE_BATCH
    started = time.monotonic()
    for start, window in windows.items():
        window.reverse()
        for offset in range(0, len(window), batch):
            records_insert(window[offset : offset + batch])
        archive_settle(domain, until=start + SLICE)
    elapsed = time.monotonic() - started
    again = time.monotonic()
    records_insert(rows[:10_000])  # the overlap: already archived
    print(
        f"100,000 rows in {elapsed:.2f} s = {100_000 / elapsed:,.0f} rows/s "
        f"(daily partitions, rollups, names, incidents derived per {SLICE} window; "
        f"1 in 11 failed; {Incident.objects.filter(domain=domain).count()} incidents); "
        f"10,000 duplicates skipped in {time.monotonic() - again:.2f} s"
    )
    ArchivedRecord.objects.filter(domain=domain).delete()
    HourlyRollup.objects.filter(domain=domain).delete()
    DailyRollup.objects.filter(domain=domain).delete()
    DomainHourlyTotal.objects.filter(domain=domain).delete()
    ArchivedName.objects.filter(domain=domain).delete()
    NameDailyRollup.objects.filter(domain=domain).delete()
    Incident.objects.filter(domain=domain).delete()
    HarvestCursor.objects.filter(domain=domain).delete()
    # the all-domains rollups of those hours: summed again without this domain
    first = now - dt.timedelta(seconds=100_000, hours=1)
    rollups_rebuild(start=hour_of(first), end=hour_of(now) + dt.timedelta(hours=1), domains=[])
    Domain.objects.filter(pk=domain.pk).update(gone_at=timezone.now())  # not upstream


def _record(i: int, now: dt.datetime) -> NotifyRecord:
    failed = i % 11 == 0
    return NotifyRecord(
        app_name="live",
        domain_name="insert-bench.example.com",
        stream_name=f"stream-{i % 997}",
        notify_type="file_created",
        notify_url="https://hooks.example.com/live/record",
        notify_content='{"domain":"insert-bench.example.com","app":"live","stream":"s","uri":'
        f'"live/s/{i}.flv","duration":61.5,"start_time":1,"stop_time":2}}',
        notify_header='{"Content-Type":"application/json"}',
        notify_response="" if failed else '{"Code":0,"Msg":"Success"}',
        notify_result="failed" if failed else "success",
        notify_time=now - dt.timedelta(seconds=i),
        description="timeout: no answer within 5s" if failed else "success",
        storage_type="oss",
    )


def lag() -> None:
    print("\n-- steady-state harvest lag with the demo traffic (90 s)")
    call_command("sync_domains", verbosity=0)
    harvest_pass()  # the backfill, if no part before did it
    samples = []
    ends = time.monotonic() + 90
    while time.monotonic() < ends:
        harvest_pass()
        fresh = archive_freshness()
        if fresh.lag is not None:
            samples.append(fresh.lag.total_seconds())
        time.sleep(5)
    print(
        f"lag samples: max {max(samples):.0f} s, median {sorted(samples)[len(samples) // 2]:.0f} s"
    )


# --- RECORDS synthetic records over 90 days and DOMAINS domains, in daily partitions ------------

LOAD = """
INSERT INTO archive_archivedrecord (fingerprint, domain_id, domain_name, app_name, stream_name,
    notify_type, notify_result, notify_time, notify_url, notify_content, notify_header,
    notify_response, description, storage_type, http_status, failure_class, receiver_host,
    harvested_at)
SELECT md5('bench' || g)::uuid, d.id, d.name,
    (ARRAY['live','edu','sports','shop','music','game'])[1 + (g %% 6)],
    (ARRAY['studio','room','match','class','stage','lobby','keynote','flash-sale'])
        [1 + (g / 7 %% 8)] || '-' || (g %% 5000),
    (ARRAY['file_created','file_created','file_created','record_started','record_paused',
           'record_resumed','record_error'])[1 + (g %% 7)],
    CASE WHEN g %% 13 = 0 THEN 'failed' ELSE 'success' END,
    now() - (g %% 7776000) * interval '1 second',
    'https://hooks.' || d.name || '/live/record',
    '{"domain":"' || d.name || '","stream":"s-' || g || '"}',
    '{"Content-Type":"application/json"}',
    CASE WHEN g %% 13 = 0 THEN '' ELSE '{"Code":0}' END,
    CASE WHEN g %% 13 = 0 THEN (ARRAY['timeout','HTTP 404 Not Found','HTTP 502 Bad Gateway',
        'connection refused'])[1 + (g / 13 %% 4)] ELSE 'success' END,
    'oss',
    CASE WHEN g %% 13 = 0 AND g / 13 %% 4 = 1 THEN 404
         WHEN g %% 13 = 0 AND g / 13 %% 4 = 2 THEN 502 END,
    CASE WHEN g %% 13 = 0 THEN (ARRAY['timeout','http_4xx','http_5xx','refused'])[1 + (g / 13 %% 4)]
        ELSE '' END,
    'hooks.' || d.name,
    now()
FROM generate_series(%s, %s) AS g
JOIN bench_domains d ON d.n = g %% %s
"""
ROLLUP = """
INSERT INTO archive_hourlyrollup
    (domain_id, hour, notify_type, notify_result, failure_class, count)
SELECT domain_id, date_trunc('hour', notify_time), notify_type, notify_result, failure_class,
    count(*)
FROM archive_archivedrecord GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (domain_id, hour, notify_type, notify_result, failure_class)
DO UPDATE SET count = excluded.count
"""
# The daily rollups from the hourly ones (connections are in UTC), as the migration does.
DAILY = """
INSERT INTO archive_dailyrollup (domain_id, day, notify_result, failure_class, count)
SELECT domain_id, DATE(hour), notify_result, failure_class, SUM(count)
FROM archive_hourlyrollup GROUP BY 1, 2, 3, 4
ON CONFLICT (domain_id, day, notify_result, failure_class) DO UPDATE SET count = excluded.count
"""

NAMES = """
INSERT INTO archive_archivedname (domain_id, field, name, last_seen)
SELECT domain_id, 'app', app_name, MAX(notify_time) FROM archive_archivedrecord GROUP BY 1, 3
UNION ALL
SELECT domain_id, 'stream', stream_name, MAX(notify_time) FROM archive_archivedrecord GROUP BY 1, 3
ON CONFLICT (domain_id, field, name) DO UPDATE SET last_seen = excluded.last_seen
"""

# The names' daily counts, as the migration makes them.
NAME_DAILY = """
INSERT INTO archive_namedailyrollup
    (field, name, day, domain_id, notify_result, failure_class, count)
SELECT 'app', app_name, DATE(notify_time), domain_id, notify_result, failure_class, COUNT(*)
FROM archive_archivedrecord GROUP BY 2, 3, 4, 5, 6
UNION ALL
SELECT 'stream', stream_name, DATE(notify_time), domain_id, notify_result, failure_class, COUNT(*)
FROM archive_archivedrecord GROUP BY 2, 3, 4, 5, 6
"""

HOURLY_TOTALS = """
INSERT INTO archive_domainhourlytotal (domain_id, hour, deliveries, failed)
SELECT domain_id, hour, SUM(count), SUM(CASE WHEN notify_result = 'success' THEN 0 ELSE count END)
FROM archive_hourlyrollup GROUP BY 1, 2
ON CONFLICT (hour, domain_id) DO UPDATE SET deliveries = excluded.deliveries,
    failed = excluded.failed
"""

TOTALS = """
INSERT INTO archive_totalhourlyrollup (hour, notify_result, failure_class, count)
SELECT hour, notify_result, failure_class, SUM(count) FROM archive_hourlyrollup GROUP BY 1, 2, 3
ON CONFLICT (hour, notify_result, failure_class) DO UPDATE SET count = excluded.count
"""


def load_archive() -> None:
    """RECORDS records over 90 days, DOMAINS domains, with their rollups and names; loaded
    once per cluster (kept between runs of the benchmark)."""
    if ArchivedRecord.objects.filter(domain_name__startswith="bench-").exists():
        print(f"({RECORDS:,} synthetic records already loaded)")
        # A kept archive does not grow: its last hour empties, and pages that read the last
        # hour (the failure overview) measure faster than they would on a live archive.
        newest = (
            ArchivedRecord.objects.filter(notify_time__gte=timezone.now() - dt.timedelta(days=1))
            .order_by("-notify_time")
            .values_list("notify_time", flat=True)
            .first()
        )
        age = timezone.now() - newest if newest else None
        if age is None or age > dt.timedelta(minutes=10):
            print(
                "  !! the kept archive's newest record is "
                + (f"{age.total_seconds() / 60:.0f} minutes old" if age else "over a day old")
                + ": figures that read the last hour flatter; reload for them"
            )
        return
    started = time.monotonic()
    domains = [
        Domain(name=f"bench-{n:04d}.example.com", domain_type="liveVideo", status="online")
        for n in range(DOMAINS)
    ]
    Domain.objects.bulk_create(domains, ignore_conflicts=True)
    today = timezone.now().date()
    partitions_ensure({today - dt.timedelta(days=n) for n in range(-3, 92)})
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_domains AS SELECT id, name, "
            "(row_number() OVER (ORDER BY name) - 1) AS n FROM domains_domain "
            "WHERE name LIKE 'bench-%%'"
        )
        # Load without the indexes, then build them once (as a restore would). A partitioned
        # table's index is made on every partition by one CREATE INDEX on the table.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
            "'archive_archivedrecord' AND indexname NOT LIKE '%%pkey' "
            "AND indexdef NOT LIKE '%%UNIQUE%%'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        step = 500_000
        for first in range(0, RECORDS, step):
            cursor.execute(LOAD, [first, min(first + step, RECORDS) - 1, DOMAINS])
            print(f"  loaded {min(first + step, RECORDS):,}", flush=True)
        for name, definition in indexes:
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
            print(f"  index {name} built", flush=True)
        cursor.execute(ROLLUP)
        cursor.execute(DAILY)
        cursor.execute(NAMES)
        cursor.execute(NAME_DAILY)
        cursor.execute(HOURLY_TOTALS)
        cursor.execute(TOTALS)
        for table in (
            "archive_archivedrecord",
            "archive_hourlyrollup",
            "archive_dailyrollup",
            "archive_archivedname",
            "archive_namedailyrollup",
            "archive_totalhourlyrollup",
            "archive_domainhourlytotal",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"{RECORDS:,} records loaded in {time.monotonic() - started:.0f} s")


def flat_copy() -> None:
    """The same records in one unpartitioned table with the same indexes (the peer: the
    archive as it was before partitions), made once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_flat')")
        if cursor.fetchone()[0]:
            return
        started = time.monotonic()
        cursor.execute("CREATE TABLE bench_flat AS SELECT * FROM archive_archivedrecord")
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'archive_archivedrecord' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        for (definition,) in cursor.fetchall():
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            flat = definition.replace(" ON ONLY ", " ON ").replace(
                "public.archive_archivedrecord", "bench_flat"
            )
            cursor.execute(flat.replace(f" {name} ", f" {name}_flat ", 1))
        cursor.execute("ALTER TABLE bench_flat ADD PRIMARY KEY (id)")
        cursor.execute("VACUUM ANALYZE bench_flat")
    print(f"  (unpartitioned copy made in {time.monotonic() - started:.0f} s)")


def timed(client: Client, path: str, n: int = 30) -> list[float]:
    samples = []
    for _ in range(n):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        timing = dict(part.strip().split(";dur=") for part in response["Server-Timing"].split(","))
        samples.append(float(timing["app"]))
    return samples


def slowest(client: Client, path: str) -> str:
    """The slowest statement the page really ran (captured, not retyped)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return max(queries.captured_queries, key=lambda q: float(q["time"]))["sql"]


def explain(sql: str, lines: int = 16) -> None:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = [line for (line,) in cursor.fetchall()]
    print(f"    {sql[:160]}…")
    for line in plan[:lines]:
        print("    " + line)
    scanned = sum("archive_archivedrecord_p" in line for line in plan)
    print(f"    ({scanned} of the daily partitions in the plan)")


def run_sql(sql: str, n: int = 15) -> list[float]:
    samples = []
    with connection.cursor() as cursor:
        for _ in range(n):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def search() -> None:
    print(f"\n-- searches over {RECORDS:,} records, 90 days, {DOMAINS} domains (dashboard time)")
    load_archive()
    from django.contrib.auth.models import Group, User

    from dashboard.accounts.roles import VIEWER, ensure_roles

    ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    client = Client()
    client.force_login(user)
    domain = Domain.objects.get(name="bench-0042.example.com")
    cases = [
        ("stream substring, every domain, 90 d", "/records/?stream=Studio-31&window=90d&size=100"),
        (
            "one domain, failed, 24 h, page of 100",
            f"/records/?domain={domain.name}&status=failed&window=24h&size=100",
        ),
        ("failure-class counts, every domain, 30 d", "/records/?status=failed&window=30d&size=20"),
    ]
    for label, path in cases:
        timed(client, path, n=3)  # warm the caches
        print(f"{label}: {summary(timed(client, path))}")
    flat_copy()
    for label, path in cases:
        sql = slowest(client, path)
        print(f"  plan, {label}: the slowest query of the page")
        explain(sql)
        peer = sql.replace('"archive_archivedrecord"', "bench_flat")
        run_sql(peer, 3)  # warm
        print(
            f"    that query alone: partitioned {summary(run_sql(sql))}; "
            f"unpartitioned {summary(run_sql(peer))}"
        )


def api_search() -> None:
    """The read API's records search (a personal token, cursor pages) on the same archive,
    the explorer's page of the same filters beside it: wall time of the whole request."""
    print(f"\n-- the read API's records search over {RECORDS:,} records (wall time)")
    load_archive()
    from django.contrib.auth.models import Group, User

    from dashboard.accounts.roles import VIEWER, ensure_roles
    from dashboard.api.tokens import token_create

    ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    _token, secret = token_create(user=user, name="bench", days=7)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    page = Client()
    page.force_login(user)
    domain = "bench-0042.example.com"
    cases = [
        ("stream substring, every domain, 90 d", "stream=Studio-31&window=90d&size=100"),
        ("one domain, failed, 24 h, 100", f"domain={domain}&status=failed&window=24h&size=100"),
        ("one domain, 7 d, 500 a page", f"domain={domain}&window=7d&size=500"),
    ]
    for label, query in cases:
        print(f"{label}: API {summary(wall(api, f'/api/v1/records?{query}'))}")
        explorer = f"/records/?{query.replace('size=500', 'size=100')}"
        print(f"    the explorer's page: {summary(wall(page, explorer))}")
    # the next pages, by cursor
    first = api.get(f"/api/v1/records?domain={domain}&window=7d&size=100").json()
    cursor = first["next_cursor"]
    samples = []
    for _ in range(30):
        started = time.perf_counter()
        answer = api.get(f"/api/v1/records?domain={domain}&window=7d&size=100&cursor={cursor}")
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
        cursor = answer.json()["next_cursor"] or first["next_cursor"]
    print(f"one domain, 7 d, the following pages by cursor: {summary(samples)}")


def purge() -> None:
    print("\n-- purging one expired day: a dropped partition against batched DELETEs")
    domain, _ = Domain.objects.get_or_create(
        name="purge-bench.example.com", defaults={"domain_type": "liveVideo", "status": "online"}
    )
    Domain.objects.filter(pk=domain.pk).update(gone_at=timezone.now())  # never harvested
    per_day = RECORDS // 90
    for label, remove in (("batched DELETE", records_delete), ("dropped partition", records_purge)):
        day = timezone.now().date() - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS + 5)
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        partitions_ensure({day})
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_domains AS SELECT id, name, 0 AS n "
                "FROM domains_domain WHERE id = %s",
                [domain.pk],
            )
            cursor.execute(
                LOAD.replace("now() - (g %% 7776000)", "%s::timestamptz + (g %% 86400)"),
                [start, 0, per_day - 1, 1],
            )
            cursor.execute("DROP TABLE bench_domains")
            cursor.execute("ANALYZE archive_archivedrecord")
        started = time.monotonic()
        removed = remove(horizon=start + dt.timedelta(days=1), max_batches=10_000)
        elapsed = time.monotonic() - started
        print(f"{label}: {removed:,} records of one day in {elapsed:.2f} s")
        records_purge(horizon=start + dt.timedelta(days=1))  # the emptied partition too


def wall(client: Client, path: str, n: int = 30) -> list[float]:
    """Whole-request time in the test client (no network): the dashboard's own time."""
    for _ in range(3):
        client.get(path)  # warm
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def analytics() -> None:
    print(f"\n-- charts, incidents and the failure overview over the same {RECORDS:,} records")
    load_archive()
    from django.contrib.auth.models import Group, User

    from dashboard.accounts.roles import VIEWER, ensure_roles
    from dashboard.audit.models import AuditEntry

    ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    client = Client()
    client.force_login(user)
    domain = Domain.objects.get(name="bench-0042.example.com")
    now = timezone.now()
    spread = AuditEntry.objects.filter(domain=domain, created_at__lt=now - dt.timedelta(days=30))
    if not spread.exists():
        # The audit log is append-only and stamps its own time: the fixture writes it by SQL
        # (an earlier version of this benchmark left all 100 at one moment).
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM domains_auditentry WHERE domain_id = %s", [domain.pk])
        entries = AuditEntry.objects.bulk_create(
            AuditEntry(
                domain=domain,
                domain_name=domain.name,
                actor_name="bench",
                kind="record",
                action="update",
                outcome="success",
                before={"notify_url": f"https://a{i}.example.com/cb"},
                after={"notify_url": f"https://a{i + 1}.example.com/cb"},
            )
            for i in range(100)
        )
        with connection.cursor() as cursor:  # one every 21 hours over the 90 days
            for i, entry in enumerate(entries):
                cursor.execute(
                    "UPDATE domains_auditentry SET created_at = %s WHERE id = %s",
                    [now - dt.timedelta(hours=21 * i + 3), entry.pk],
                )
    bench = list(Domain.objects.filter(name__startswith="bench-"))
    if not Incident.objects.filter(domain__in=bench).exists():
        Incident.objects.bulk_create(
            Incident(
                domain=d,
                receiver_host=f"hooks.{d.name}",
                failure_class=cls,
                key=f"{d.pk}|hooks.{d.name}|{cls}|",
                first_seen=now - dt.timedelta(hours=5),
                last_seen=now - dt.timedelta(minutes=n % 50),
                count=100 + n,
                streams=[f"live/studio-{k}" for k in range(20)],
            )
            for n, d in enumerate(bench)
            for cls in ("timeout", "refused")
        )
    cases = [
        (
            "a domain's page, 90-day chart, 100 config changes marked",
            f"/domains/{domain.name}/?period=90d",
        ),
        ("a domain's page, 24-hour chart", f"/domains/{domain.name}/?period=24h"),
        (f"incidents list ({2 * DOMAINS} open, {DOMAINS} domains), first page", "/incidents/"),
        (
            f"failure overview, {DOMAINS} domains (7-day chart, sparklines, totals)",
            "/records/overview/",
        ),
    ]
    for label, path in cases:
        print(f"{label}: {summary(wall(client, path))}")


def timeline() -> None:
    """One stream's timeline with 30 days of sessions (5,000 callbacks over two domains) in the
    20 M archive: the page's whole-request time."""
    print(f"\n-- a stream's timeline, 5,000 callbacks in 30 days, among {RECORDS:,} records")
    load_archive()
    from django.contrib.auth.models import Group, User

    from dashboard.accounts.roles import VIEWER, ensure_roles

    ensure_roles()
    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    client = Client()
    client.force_login(user)
    ingest, _ = Domain.objects.get_or_create(
        name="bench-push.example.com", defaults={"domain_type": "liveEdge", "status": "online"}
    )
    streaming = Domain.objects.get(name="bench-0007.example.com")
    if not ArchivedRecord.objects.filter(stream_name="timeline-5k").exists():
        now = timezone.now().replace(microsecond=0)
        rows = []
        for n in range(1250):  # a push every 34 minutes for 30 days, four callbacks each
            began = now - dt.timedelta(days=30) + n * dt.timedelta(minutes=34, seconds=33)
            for domain, kind, after in (
                (ingest, "publish", 0),
                (streaming, "record_started", 3),
                (ingest, "publish_done", 1200),
                (streaming, "file_created", 1260),
            ):
                record = NotifyRecord(
                    app_name="bench",
                    domain_name=domain.name,
                    stream_name="timeline-5k",
                    notify_type=kind,
                    notify_url=f"https://hooks.{domain.name}/cb",
                    notify_content=f'{{"action":"{kind}","order_id":"{n}"}}',
                    notify_header="{}",
                    notify_response="ok",
                    notify_result="failed" if n % 17 == 0 and kind == "file_created" else "success",
                    notify_time=began + dt.timedelta(seconds=after),
                    description="success",
                )
                rows.append(archive_row(domain, record, now))
        records_insert(rows)
    path = "/records/streams/bench/timeline-5k/?window=30d"
    wall(client, path, n=3)  # warm
    print(f"timeline of 5,000 callbacks, 30 d, first page: {summary(wall(client, path))}")
    print(f"  the same, page 30: {summary(wall(client, path + '&page=30'))}")


def profile() -> None:
    """Where the slow pages spend their time (cProfile, top functions by cumulative time)."""
    import cProfile
    import pstats

    analytics_fixtures = Domain.objects.get(name="bench-0042.example.com")
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username="bench-viewer"))
    for path in (f"/domains/{analytics_fixtures.name}/?period=90d", "/records/overview/"):
        client.get(path)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(path)
            total = (time.perf_counter() - started) * 1000
        print(f"\n  {path}: {total:.1f} ms, {len(queries)} queries")
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:6]:
            print(f"    {float(query['time']) * 1000:7.1f} ms  {query['sql'][:220]}")
        profiler = cProfile.Profile()
        profiler.enable()
        client.get(path)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"dashboard/(?!accounts)", 15)


if "backfill" in PARTS:
    backfill()
if "insert" in PARTS:
    insert()
if "lag" in PARTS:
    lag()
if "purge" in PARTS:
    purge()
if "search" in PARTS:
    search()
if "analytics" in PARTS:
    analytics()
if "timeline" in PARTS:
    timeline()
if "api" in PARTS:
    api_search()
if "profile" in PARTS:
    profile()
if SANDBOX is not None:
    SANDBOX.terminate()
