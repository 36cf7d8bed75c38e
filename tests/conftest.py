"""Shared fixtures: users with each role, a seeded sandbox, a synced cache."""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.utils import timezone, translation

from dashboard.accounts.roles import EDITOR, LEAD, VIEWER, ensure_roles
from dashboard.ops.shared import reset_shared_store
from dashboard.sandbox import app as sandbox_app
from dashboard.upstream import get_client, reset_client


def pytest_sessionfinish(session, exitstatus):
    """The run's export folder and its SQLite test databases (dashboard.settings_test) go
    with the run that made them (the browser run's sandbox database outlived it)."""
    import os
    import shutil
    from pathlib import Path

    from django.conf import settings

    if os.environ.get("DASHBOARD_TEST_EXPORTS_OWNER") == str(os.getpid()):
        shutil.rmtree(settings.EXPORT_DIR, ignore_errors=True)
    for alias in settings.DATABASES.values():
        name = alias.get("TEST", {}).get("NAME")
        if name and name.endswith(f"_{os.getpid()}.sqlite3"):
            for path in (name, f"{name}-wal", f"{name}-shm"):
                Path(path).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """Each test runs once per database that matters. `make test` runs the suite on SQLite and
    again on PostgreSQL: a test that touches no database runs on SQLite only, and a test that
    brings its own PostgreSQL cluster (`own_cluster`) on PostgreSQL only."""
    from django.conf import settings

    on_postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    keep, dropped = [], []
    for item in items:
        if item.get_closest_marker("browser"):
            twice = True
        elif on_postgres:
            twice = _uses_a_database(item) or bool(item.get_closest_marker("own_cluster"))
        else:
            twice = not item.get_closest_marker("own_cluster")
        (keep if twice else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _uses_a_database(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(
        item.get_closest_marker("django_db")
        or names & {"db", "transactional_db", "live_server", "_django_db_helper"}
    )


PASSWORD = "correct-horse-battery"
ALL_DATABASES = ["default", "sandbox"]
TEAM_DOMAIN = "live.example-shop.com"
OTHER_DOMAIN = "stream.sportsnow.tv"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in English: a request in Chinese leaves its language active."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_upstream():
    """Every test starts with a new client, an empty cache and a calm sandbox."""
    reset_client()
    cache.clear()
    reset_shared_store()
    sandbox_app.throttle.reset()
    sandbox_app.throttle.enabled = False
    sandbox_app.faults.configure("")
    sandbox_app.stats.reset()
    # Retries still happen, but without real back-off sleeps (their timing has its own tests).
    client = get_client()
    client.sleep = lambda seconds: None
    yield
    sandbox_app.faults.configure("")
    reset_client()


def make_user(username: str, role: str | None, *, teams=()) -> User:
    ensure_roles()
    user = User.objects.create_user(
        username=username, password=PASSWORD, first_name=username.title()
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if role == LEAD:
        user.is_staff = True
        user.save()
    for team in teams:
        team.members.add(user)
    return user


def _seed_sandbox() -> None:
    from dashboard.contract.api import RECORDS_WINDOW
    from dashboard.sandbox.models import SandboxDomain, SandboxNotifyRecord
    from dashboard.sandbox.traffic import seed_demo_account

    if not SandboxDomain.objects.exists():
        seed_demo_account(big_domain_records=600, rate_scale=0.02)
        # The demo fills the whole 7-day window, so its oldest records sit right on the
        # edge and slide out of "the last 7 days" while the session runs: a test that
        # compares the upstream's 7-day total with the rows stored would then depend on
        # how long the suite has been running. Keep the first hour of the window empty.
        edge = timezone.now() - RECORDS_WINDOW + dt.timedelta(hours=1)
        SandboxNotifyRecord.objects.filter(notify_time__lt=edge).delete()
        # Nor does the demo traffic go on "happening" while the suite runs: a harvest would
        # otherwise find new records, more the longer the suite has run. Tests that want
        # traffic turn it on (sandbox_callbacks, or records_generated_until in the past).
        SandboxDomain.objects.update(
            records_generated_until=timezone.now() + dt.timedelta(days=3650)
        )


@contextmanager
def _unpaced():
    """Setting the stage, not a test: the client's rate budget is left out (a backfill would
    otherwise be paced at 54 calls a second), and the backfill is planned in one window per
    domain instead of 6-hour slices (the same records, rollups and incidents — the harvest's
    own tests hold it to that — in 11 windows instead of ~300: ~1 s instead of 7.5 s for
    each reseed after a transactional test). Both have their own tests, and every test meets
    them as usual."""
    from dashboard.archive import harvest

    client = get_client()
    limiter, client.limiter = client.limiter, None
    slice_, harvest.SLICE = harvest.SLICE, dt.timedelta(days=8)
    try:
        yield
    finally:
        client.limiter = limiter
        harvest.SLICE = slice_


def _sync_cache() -> None:
    from dashboard.domains.models import Domain
    from dashboard.domains.sync import domains_sync_all

    if not Domain.objects.exists():
        with _unpaced():
            domains_sync_all(workers=1)


def _harvest() -> None:
    from dashboard.archive.harvest import harvest_pass
    from dashboard.archive.models import HarvestCursor
    from dashboard.archive.pushes import pushes_check

    with _unpaced():
        if not HarvestCursor.objects.filter(backfilled=True).exists():
            harvest_pass()
        if not HarvestCursor.objects.filter(pushes_checked_until__isnull=False).exists():
            pushes_check()  # Live's push history against the archive: what never came


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the sandbox, sync the cache and harvest the archive once; each test's transaction
    rolls back to it.

    Tests with transaction=True flush the databases afterwards; the fixtures below then
    seed again for whoever needs it.
    """
    with django_db_blocker.unblock():
        _seed_sandbox()
        _sync_cache()
        _harvest()
        reset_client()


@pytest.fixture
def seeded(request):
    """The sandbox's demo account, small (a few hundred records per busy domain)."""
    request.getfixturevalue("_django_db_helper")
    _seed_sandbox()


@pytest.fixture
def empty_cache(seeded):
    """A dashboard that has never synced (the sandbox still has its demo account)."""
    from dashboard.archive.models import ArchivedRecord
    from dashboard.domains.models import Domain

    ArchivedRecord.objects.all().delete()  # archived records keep their domain
    Domain.objects.all().delete()


@pytest.fixture
def synced(seeded):
    """The seeded sandbox, synced into the dashboard's cache, with two teams."""
    from dashboard.domains.models import Domain, Team

    _sync_cache()
    team = Team.objects.create(name="Shop streaming")
    Domain.objects.filter(name=TEAM_DOMAIN).update(team=team)
    other = Team.objects.create(name="Sports")
    Domain.objects.filter(name=OTHER_DOMAIN).update(team=other)
    return {"team": team, "other_team": other}


@pytest.fixture
def archived(synced):
    """The synced demo account, harvested into the archive."""
    _harvest()
    return synced


@pytest.fixture
def viewer(db):
    return make_user("support", VIEWER)


@pytest.fixture
def editor(synced):
    return make_user("editor", EDITOR, teams=[synced["team"]])


@pytest.fixture
def other_editor(synced):
    return make_user("sports-editor", EDITOR, teams=[synced["other_team"]])


@pytest.fixture
def lead(db):
    return make_user("lead", LEAD)


def database_url(alias: str) -> str:
    """A URL for this test run's database `alias`, for processes the test starts."""
    from django.db import connections

    conf = connections[alias].settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    auth = f"{conf['USER']}:{conf['PASSWORD'] or ''}"
    return f"postgres://{auth}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}"


def login(client, user) -> None:
    client.force_login(user)


def harvest_now():
    """Harvest every domain at once (as if each were due), e.g. after add_record()."""
    from dashboard.archive.harvest import harvest_pass
    from dashboard.archive.models import HarvestCursor, HarvestWindow

    HarvestCursor.objects.update(next_run_at=None)
    HarvestWindow.objects.update(lease_owner="", lease_until=None, not_before=None)
    return harvest_pass()


def add_record(**fields):
    """One notify record in the sandbox for TEAM_DOMAIN, a few seconds old unless told."""
    from dashboard.sandbox.models import SandboxNotifyRecord

    values = {
        "domain_name": TEAM_DOMAIN,
        "app_name": "live",
        "stream_name": "s",
        "notify_type": "record_started",
        "notify_url": "u",
        "notify_content": "{}",
        "notify_result": "success",
        "description": "success",
        "notify_time": timezone.now().replace(microsecond=0) - dt.timedelta(seconds=5),
    }
    values.update(fields)
    return SandboxNotifyRecord.objects.create(**values)


class Receiver:
    """A callback receiver on 127.0.0.1 that records what it got and answers as told.

    It is reached by a public-looking host name (`host`), which the sender's pinning setting
    maps to 127.0.0.1, exactly as `make run` maps the demo's callback hosts to its receiver.
    """

    host = "receiver.example.net"

    def __init__(self):
        import http.server
        import threading
        import time

        self.received: list[tuple[str, dict, bytes]] = []
        self.methods: list[str] = []  # POST, or GET for stream callbacks
        self.arrived: list[float] = []  # time.monotonic() of each request's arrival
        self.status = 200
        self.script: list[int] = []  # statuses for the next requests, then `status`
        self.headers: dict[str, str] = {}  # extra answer headers (Retry-After …)
        self.body = b'{"Code":0,"Msg":"Success"}'
        self.delay = 0.0
        self.trickle = 0.0  # seconds between bytes of the answer (a slow receiver)
        self.location = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                receiver.methods.append(self.command)
                receiver.arrived.append(time.monotonic())
                receiver.received.append((self.path, dict(self.headers), self.rfile.read(length)))
                status = receiver.script.pop(0) if receiver.script else receiver.status
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.trickle:
                    head = f"HTTP/1.1 {receiver.status} OK\r\nContent-Length: 1000\r\n\r\n"
                    try:
                        for byte in head.encode() + b"x" * 1000:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(receiver.trickle)
                    except OSError:
                        pass
                    return
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            do_GET = do_POST  # noqa: N815 - Live calls stream callbacks with a GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/live/callback"):
        return f"http://{self.host}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """A local receiver; the sender connects to it for `receiver.host` (and nothing else)."""
    r = Receiver()
    settings.CALLBACK_PINNED_HOSTS = {r.host: f"127.0.0.1:{r.port}"}
    settings.CALLBACK_TEST_TIMEOUT = 2.0
    yield r
    r.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """The dashboard under gunicorn with several worker processes on 127.0.0.1, on this run's
    databases (the test must be transaction=True so what it writes is visible)."""

    def __init__(self, *, workers: int = 4, pinned: dict | None = None, **extra_env):
        import subprocess
        import sys
        import time
        from pathlib import Path

        self.port = free_port()
        env = process_env(pinned=pinned, **extra_env)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:dashboard.gunicorn_conf",
                "dashboard.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
            ],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail("gunicorn exited: " + self.proc.stderr.read()[-2000:])
                time.sleep(0.2)
        else:
            self.proc.kill()
            pytest.fail("gunicorn did not start within 60 s")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture
def gunicorn(transactional_db, request):
    """The dashboard under gunicorn with 4 worker processes; its base URL."""
    request.getfixturevalue("django_db_blocker")
    server = Gunicorn()
    yield server.url
    server.stop()


def signed_in_session(base: str, user):
    """An httpx client signed in as `user` (a session in this run's database) with its CSRF
    token set, for requests to a server process."""
    import re

    import httpx
    from django.test import Client

    django_client = Client()
    django_client.force_login(user)
    session = httpx.Client(base_url=base, timeout=30)
    session.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    page = session.get("/domains/")
    token = re.search(r'"x-csrftoken": "([^"]+)"', page.text).group(1)
    session.headers.update({"X-CSRFToken": token, "Referer": base + "/"})
    return session


def held_rows(page: str) -> list[tuple[str, str, str]]:
    """The rows of a held form's page (templates/_held.html): (field, yours, saved now)."""
    import re

    return re.findall(
        r'<th scope="row"[^>]*>([^<]+)</th><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>', page
    )


def duplicate_ids(page: str) -> list[str]:
    """The element ids a page uses more than once (a label, a Copy button or a link to one of
    them reaches the first only)."""
    import re
    from collections import Counter

    ids = Counter(re.findall(r'\sid="([^"]*)"', page))
    return sorted(i for i, n in ids.items() if n > 1)


def hidden_value(page: str, name: str) -> str:
    """The value of a page's hidden input `name` (as a browser would send it back)."""
    import re

    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


@contextmanager
def rows_held_until_waited_on(table: str, ids, *, waiters: int, then: str = "", params=()):
    """On PostgreSQL, hold rows of `table` (FOR UPDATE, from a connection of its own) through
    the block, then until `waiters` sessions wait on a lock; run `then` (SQL) in the holding
    transaction and let them all go at once. So requests sent in the block meet at one point,
    however the machine schedules them. On SQLite (writers take turns anyway): only `then`."""
    import psycopg
    import psycopg.sql
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        if then:
            with connection.cursor() as cursor:
                cursor.execute(then, params)
        return
    with (
        psycopg.connect(database_url("default"), autocommit=True) as holder,
        holder.transaction(),
    ):
        held = psycopg.sql.SQL("SELECT 1 FROM {} WHERE id = ANY(%s) FOR UPDATE")
        holder.execute(held.format(psycopg.sql.Identifier(table)), [list(ids)])
        yield
        deadline = time.monotonic() + 30
        waiting = 0
        while time.monotonic() < deadline:
            holder.execute("SELECT pg_stat_clear_snapshot()")  # else one view per transaction
            waiting = holder.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting >= waiters:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"{waiting} of {waiters} requests reached the lock")
        if then:
            holder.execute(then, params)


def sent_at_one_lock(table: str, ids, *requests, then: str = "", params=()) -> list:
    """Send each request (a function of no arguments) from a thread of its own, all made to meet
    at the lock of `table`'s rows `ids` (rows_held_until_waited_on; `then` runs as they are let
    go); their answers, in the order given. The answers are waited for only after the rows are
    let go: waiting inside the hold would wait for requests that wait for it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        held = rows_held_until_waited_on(
            table, ids, waiters=len(requests), then=then, params=params
        )
        with held:
            sent = [pool.submit(request) for request in requests]
        return [answer.result() for answer in sent]


HOOK = "https://hooks.alerts-test.example.org/cb"
_serial = __import__("itertools").count()


def archive(
    domain,
    *events,
    url: str = HOOK,
    why: str = "HTTP 503",
    content: str = "{}",
    header: str = "",
    notify_type: str = "file_created",
    stream: str = "",
    app: str = "live",
    response: str = "",
):
    """Archive one record per (result, time) the way the harvester does: its own insert (so
    rollups follow), then the domain's cursor moved past them (so incidents follow; records
    older than the cursor are folded in as late ones)."""
    import datetime as dt

    from django.utils import timezone

    from dashboard.archive.harvest import archive_settle
    from dashboard.archive.store import archive_row, records_insert
    from dashboard.live import NotifyRecord

    rows = []
    for result, when in events:
        record = NotifyRecord(
            app_name=app,
            domain_name=domain.name,
            stream_name=stream or f"s{next(_serial)}",
            notify_type=notify_type,
            notify_url=url,
            notify_content=content,
            notify_header=header,
            notify_response=response,
            notify_result=result,
            notify_time=when,
            description="success" if result == "success" else why,
        )
        rows.append(archive_row(domain, record, timezone.now()))
    new = records_insert(rows).new
    if rows:
        until = max(row.notify_time for row in rows) + dt.timedelta(microseconds=1)
        archive_settle(domain, until=until, new=new)
    # oldest first: the archive hands new records back in no particular order (on PostgreSQL
    # in fingerprint order, the order its inserts take their locks in)
    return sorted(new, key=lambda r: (r.notify_time, r.id))


def process_env(*, pinned: dict | None = None, **extra) -> dict:
    """The environment for a process a test starts on this run's databases (a worker, a
    harvester, an alert loop): test settings, and the test's receivers pinned as in-process."""
    import json
    import os

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings_test",
        "DATABASE_URL": database_url("default"),
        "SANDBOX_DATABASE_URL": database_url("sandbox"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    if pinned:
        env["TEST_CALLBACK_PINNED_HOSTS"] = json.dumps(pinned)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def db_worker_batch(env: dict | None = None):
    """A real `db_worker` that works until the queue is empty, then exits; its finished
    process (a failed run fails the test)."""
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=Path(__file__).resolve().parents[1],
        env=env if env is not None else process_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def start_db_worker(env: dict, **popen):
    """A real `db_worker` process (the tasks framework's worker), polling every 0.2 s."""
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=popen.pop("stderr", subprocess.DEVNULL),
        text=True,
        **popen,
    )


@pytest.fixture
def idp(tmp_path, live_server, settings):
    """A real OpenID Connect provider (tests/idp), the dashboard on the live server set up
    to sign people in through it."""
    from tests.idp.provider import CALLBACK, IdentityProvider

    provider = IdentityProvider(tmp_path, f"{live_server.url}{CALLBACK}")
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    yield provider
    provider.stop()


@pytest.fixture
def sso_mappings(db):
    """live-support → Viewer, live-editors → Editor, live-leads → Lead, team-shop → team Shop."""
    from dashboard.accounts.models import GroupMapping
    from dashboard.domains.models import Team

    shop = Team.objects.create(name="Shop")
    GroupMapping.objects.create(group="live-support", role=VIEWER)
    GroupMapping.objects.create(group="live-editors", role=EDITOR)
    GroupMapping.objects.create(group="live-leads", role=LEAD)
    GroupMapping.objects.create(group="team-shop").teams.set([shop])
    return {"shop": shop}
