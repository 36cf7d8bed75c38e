"""Bulk redelivery in real `db_worker` processes: pause, resume and cancel from the page while
the worker sends; a worker killed mid-run, resumed by another, never sends a record twice."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.domains.models import Domain
from dashboard.redelivery.models import RedeliveryAttempt, RedeliveryRun
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import (
    ALL_DATABASES,
    TEAM_DOMAIN,
    Receiver,
    archive,
    process_env,
    start_db_worker,
)

ROOT = Path(__file__).resolve().parents[2]
N = 12


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def setup(archived, settings):
    """A slow local receiver as TEAM_DOMAIN's callback, N failed records, and a worker
    environment pointing at this run's databases."""
    hook = Receiver()
    hook.delay = 0.15
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url=hook.url("/cb"), notify_req_auth=False
    )
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    new = archive(
        domain,
        *[("failed", when + dt.timedelta(seconds=i)) for i in range(N)],
        stream="worker-test",  # the demo's own failures in those minutes stay out of the run
    )
    records = [ArchivedRecord.objects.get(pk=r.id) for r in new]
    env = process_env(pinned={hook.host: f"127.0.0.1:{hook.port}"}, REDELIVERY_RATE_PER_SECOND="4")
    yield {"hook": hook, "records": records, "env": env, "domain": domain}
    hook.close()


def start_worker(env):
    return start_db_worker(env, stderr=subprocess.PIPE)


def start_run(client, user, records) -> RedeliveryRun:
    client.force_login(user)
    fmt = "%Y-%m-%dT%H:%M"
    start = timezone.localtime(records[0].notify_time)
    end = timezone.localtime(records[-1].notify_time) + dt.timedelta(minutes=1)
    query = (
        f"?domain={TEAM_DOMAIN}&stream=worker-test&status=failed&window=custom"
        f"&start={start.strftime(fmt)}&end={end.strftime(fmt)}"
    )
    response = client.post("/redelivery/new/" + query, {})
    assert response.status_code == 302, response.content.decode()[-3000:]
    run = RedeliveryRun.objects.latest("pk")
    assert run.total == N
    return run


def sent_ids(hook) -> Counter:
    return Counter(int(h["X-Live-Redelivery"]) for _p, h, _b in hook.received)


def state(run) -> str:
    run.refresh_from_db()
    return run.state


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_pause_resume_and_cancel_in_a_real_worker(client, editor, setup):
    hook, records = setup["hook"], setup["records"]
    worker = start_worker(setup["env"])
    try:
        run = start_run(client, editor, records)
        wait_for(lambda: len(hook.received) >= 3, "the first sends")
        client.post(f"/redelivery/{run.pk}/action/", {"action": "pause"})
        wait_for(lambda: state(run) == "paused", "the pause")
        time.sleep(1.0)  # paused: nothing more goes out
        paused_at = len(hook.received)
        time.sleep(1.0)
        assert len(hook.received) == paused_at < N
        page = client.get(f"/redelivery/{run.pk}/").content.decode()
        assert "Paused" in page and "Resume" in page

        client.post(f"/redelivery/{run.pk}/action/", {"action": "resume"})
        wait_for(lambda: len(hook.received) >= paused_at + 2, "sends after resuming")
        client.post(f"/redelivery/{run.pk}/action/", {"action": "cancel"})
        wait_for(lambda: state(run) == "cancelled", "the cancel")
        time.sleep(1.0)
        cancelled_at = len(hook.received)
        time.sleep(1.0)
        assert len(hook.received) == cancelled_at < N
        counts = sent_ids(hook)
        assert set(counts.values()) == {1}, "a record was sent twice"
        run.refresh_from_db()
        assert run.sent_ok == cancelled_at
    finally:
        worker.terminate()
        _out, err = worker.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_worker_killed_mid_run_is_resumed_without_sending_twice(client, editor, setup):
    hook, records = setup["hook"], setup["records"]
    hook.delay = 0.4  # long enough to kill the worker while it waits for an answer
    first = start_worker(setup["env"])
    run = start_run(client, editor, records)
    try:
        wait_for(lambda: len(hook.received) >= 4, "the first sends")
        first.send_signal(signal.SIGKILL)  # mid-send, most likely: no chance to clean up
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = len(hook.received)
    assert state(run) == "running"
    # The page says the worker went quiet once a minute has passed (moved back, not waited).
    RedeliveryRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(minutes=2)
    )
    page = client.get(f"/redelivery/{run.pk}/").content.decode()
    assert "may have stopped" in page
    client.post(f"/redelivery/{run.pk}/action/", {"action": "resume"})
    second = start_worker(setup["env"])
    try:
        wait_for(lambda: state(run) == "done", "the resumed run to finish")
    finally:
        second.terminate()
        second.communicate(timeout=30)
    counts = sent_ids(hook)
    assert set(counts.values()) == {1}, f"sent twice by one run: {counts}"
    outcomes = Counter(RedeliveryAttempt.objects.filter(run=run).values_list("outcome", flat=True))
    # every record handled once: delivered, or "unknown" if the kill came mid-send
    assert sum(outcomes.values()) == N
    assert outcomes["delivered"] + outcomes["unknown"] == N
    assert len(hook.received) >= killed_at and len(counts) <= N


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_long_run_goes_on_while_the_harvester_writes(client, editor, setup, settings):
    """`make run` (SQLite): a run of 242 records stopped after 8 with "database is locked" —
    it read its records through a cursor left open between chunks, and a write on that
    connection cannot leave the snapshot the open cursor holds once the harvester has
    written. The page then said "the worker has not reported for a minute"."""
    hook, domain = setup["hook"], setup["domain"]
    hook.delay = 0
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    many = 260  # more than one chunk of the run's reading
    new = archive(
        domain,
        *[("failed", when + dt.timedelta(seconds=i)) for i in range(many)],
        stream="busy-archive",
    )
    records = [ArchivedRecord.objects.get(pk=r.id) for r in new]
    settings.REDELIVERY_RATE_PER_SECOND = 200  # the run keeps the rate it was made with
    writing = threading.Event()
    writes = Counter()

    def harvester() -> None:  # another connection committing all along, as harvesting does
        from django.db import connections

        try:
            while not writing.is_set():
                Domain.objects.filter(pk=domain.pk).update(last_synced_at=timezone.now())
                writes["n"] += 1
                time.sleep(0.01)
        finally:
            connections.close_all()

    worker = start_worker(setup["env"])
    other = threading.Thread(target=harvester)
    other.start()
    try:
        client.force_login(editor)
        fmt = "%Y-%m-%dT%H:%M"
        start = timezone.localtime(records[0].notify_time).strftime(fmt)
        end = (timezone.localtime(records[-1].notify_time) + dt.timedelta(minutes=1)).strftime(fmt)
        query = (
            f"?domain={TEAM_DOMAIN}&stream=busy-archive&status=failed&window=custom"
            f"&start={start}&end={end}"
        )
        assert client.post("/redelivery/new/" + query, {}).status_code == 302
        run = RedeliveryRun.objects.latest("pk")
        assert run.total == many
        wait_for(lambda: state(run) == "done", "the run to finish", timeout=120)
    finally:
        writing.set()
        other.join()
        worker.terminate()
        _out, err = worker.communicate(timeout=30)
    assert "Traceback" not in err and "locked" not in err, err[-3000:]
    assert writes["n"] > 50  # the other connection did write all along
    run.refresh_from_db()
    assert run.sent_ok == many and set(sent_ids(hook).values()) == {1}
