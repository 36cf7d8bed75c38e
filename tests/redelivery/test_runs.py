"""Redelivery runs under the conditions the field found, in real `db_worker` processes:

- two runs of one domain started at once ignored "skip already redelivered" (43 of 50 records
  sent twice): one unfinished run per domain now;
- pause then resume within a second left two executors on one run: one executor per run;
- a 100,000-record run held a task worker for hours: runs go in short slices, each a task;
- a receiver answering 429 or 503 with Retry-After was hammered on: the run waits, or pauses
  and says why; so does a run whose receiver fails most sends.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import zoneinfo
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
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

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def wait_for(condition, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def failed_records(domain, n: int, stream: str = "runs-test") -> list[ArchivedRecord]:
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    new = archive(
        domain, *[("failed", when + dt.timedelta(seconds=i)) for i in range(n)], stream=stream
    )
    return [ArchivedRecord.objects.get(pk=r.id) for r in new]


@pytest.fixture
def hook(archived):
    receiver = Receiver()
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url=receiver.url("/cb"), notify_req_auth=False
    )
    yield receiver
    receiver.close()


def run_query(records) -> str:
    fmt = "%Y-%m-%dT%H:%M"
    start = timezone.localtime(records[0].notify_time)
    end = timezone.localtime(records[-1].notify_time) + dt.timedelta(minutes=1)
    return (
        f"?domain={TEAM_DOMAIN}&stream=runs-test&status=failed&window=custom"
        f"&start={start.strftime(fmt)}&end={end.strftime(fmt)}"
    )


def start_run(user, records, **form) -> RedeliveryRun:
    client = Client()
    client.force_login(user)
    response = client.post("/redelivery/new/" + run_query(records), form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    return RedeliveryRun.objects.latest("pk")


def workers(hook, count=1, **env):
    environment = process_env(
        pinned={hook.host: f"127.0.0.1:{hook.port}"},
        REDELIVERY_RATE_PER_SECOND=env.pop("rate", "20"),
        **env,
    )
    return [start_db_worker(environment, stderr=subprocess.PIPE) for _ in range(count)]


def stop(procs) -> str:
    for proc in procs:
        proc.terminate()
    return "".join(proc.communicate(timeout=30)[1] for proc in procs)


def sent_ids(hook) -> Counter:
    return Counter(int(h["X-Live-Redelivery"]) for _p, h, _b in hook.received)


def state_of(run) -> str:
    run.refresh_from_db()
    return run.state


def test_two_runs_of_one_domain_started_at_once_make_one_run(editor, hook):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 10)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: start_run(editor, records), range(2)))
    assert RedeliveryRun.objects.count() == 1
    procs = workers(hook)
    try:
        run = RedeliveryRun.objects.get()
        wait_for(lambda: state_of(run) == "done", "the run")
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    counts = sent_ids(hook)
    assert sorted(counts) == sorted(r.pk for r in records) and set(counts.values()) == {1}
    # records of one stream go out in their original order
    times = [h["X-Live-Original-Notify-Time"] for _p, h, _b in hook.received]
    assert times == sorted(times)
    # a third run while one is unfinished is refused with a reason, and changes nothing
    RedeliveryRun.objects.filter(pk=run.pk).update(state="paused")
    client = Client()
    client.force_login(editor)
    page = client.get("/redelivery/new/" + run_query(records)).content.decode()
    assert f"Redelivery run #{run.pk} of this domain is not finished" in page
    client.post("/redelivery/new/" + run_query(records), {})
    assert RedeliveryRun.objects.count() == 1


def test_pause_and_resume_within_a_second_leave_one_executor(editor, hook):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 12)
    hook.delay = 0.3
    procs = workers(hook, count=2)  # two workers: two tasks could run the same run at once
    try:
        run = start_run(editor, records)
        wait_for(lambda: len(hook.received) >= 2, "the first sends")
        client = Client()
        client.force_login(editor)
        client.post(f"/redelivery/{run.pk}/action/", {"action": "pause"})
        client.post(f"/redelivery/{run.pk}/action/", {"action": "resume"})
        wait_for(lambda: state_of(run) == "done", "the run")
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    assert set(sent_ids(hook).values()) == {1}
    # one executor sends one record at a time: no request starts while another is answered
    gaps = [b - a for a, b in zip(hook.arrived, hook.arrived[1:], strict=False)]
    assert min(gaps) >= hook.delay * 0.9, f"two sends at once ({min(gaps):.3f} s apart)"


def test_a_long_run_goes_in_slices_and_other_tasks_get_their_turn(editor, hook, lead):
    from django_tasks_db.models import DBTaskResult

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 16)
    procs = workers(hook, rate="4", REDELIVERY_SLICE_SECONDS="1")
    try:
        run = start_run(editor, records)
        wait_for(lambda: len(hook.received) >= 2, "the first sends")
        client = Client()
        client.force_login(lead)
        client.post("/domains/sync/")  # "Sync all": waits its turn behind the run's slice
        wait_for(lambda: state_of(run) == "done", "the run")
        sync_done = DBTaskResult.objects.filter(task_path__endswith="sync_all_domains").get()
        last_slice = (
            DBTaskResult.objects.filter(task_path__endswith="redelivery_run_task")
            .order_by("-finished_at")
            .first()
        )
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    slices = DBTaskResult.objects.filter(task_path__endswith="redelivery_run_task")
    assert slices.count() >= 3  # 16 records at 4 a second, a slice a second
    assert sync_done.finished_at < last_slice.finished_at  # it did not wait for the whole run
    assert set(sent_ids(hook).values()) == {1} and run.sent_ok == 16


def test_a_receiver_asking_to_wait_is_waited_for(editor, hook):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 6)
    hook.script = [200, 200, 429]  # the third send: "too many, come back in 5 s"
    hook.headers = {"Retry-After": "5"}
    procs = workers(hook)
    try:
        run = start_run(editor, records)
        wait_for(lambda: "Waiting" in RedeliveryRun.objects.get(pk=run.pk).message, "the wait")
        waited_at = len(hook.received)
        time.sleep(1.0)
        assert len(hook.received) == waited_at  # nothing meanwhile
        client = Client()
        client.force_login(editor)
        page = client.get(f"/redelivery/{run.pk}/").content.decode()
        assert "asked to wait 5 s" in page
        # when it goes on, in the reader's time zone (it said "at 08:00:02 UTC" in Shanghai)
        resume_at = RedeliveryRun.objects.get(pk=run.pk).resume_at
        client.cookies["tz"] = "Asia%2FShanghai"
        page = client.get(f"/redelivery/{run.pk}/").content.decode()
        shanghai = resume_at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
        assert f"going on at {shanghai:%H:%M:%S}." in page and "UTC." not in page
        wait_for(lambda: state_of(run) == "done", "the run")
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    counts = sent_ids(hook)
    assert sorted(counts) == sorted(r.pk for r in records)
    assert sum(counts.values()) == 7  # the one that was told to wait was sent once more
    assert run.sent_ok == 6 and run.sent_failed == 0
    # none failed: no red badge reading "0 failed"
    page = client.get(f"/redelivery/{run.pk}/").content.decode()
    assert '<span class="badge off" id="run-failed">0 failed</span>' in page
    assert '<span class="badge good" id="run-delivered">6 delivered</span>' in page
    assert hook.arrived[3] - hook.arrived[2] >= 4.9


def test_a_retry_after_that_is_no_number_does_not_stop_the_run(editor, hook):
    """A receiver answered 503 with `Retry-After: ²` (byte 0xB2, which HTTP headers read as
    Latin-1): a digit to str.isdigit(), not to float(); the worker's slice died on it with a
    traceback, the run left unfinished. It is read as no Retry-After, and the run goes on."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 4)
    hook.script = [200, 503]
    hook.headers = {"Retry-After": "\u00b2"}
    procs = workers(hook)
    try:
        run = start_run(editor, records)
        wait_for(lambda: state_of(run) == "done", "the run")
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    assert sorted(sent_ids(hook)) == sorted(r.pk for r in records)
    assert run.sent_ok == 3 and run.sent_failed == 1


def test_a_receiver_that_fails_most_sends_pauses_the_run(editor, hook):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 30)
    hook.status = 502
    procs = workers(hook)
    try:
        run = start_run(editor, records)
        wait_for(lambda: state_of(run) == "paused", "the pause")
        time.sleep(1.0)
        sent = len(hook.received)
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    assert sent == 20 and "may be down" in run.message
    assert RedeliveryAttempt.objects.filter(run=run).count() == 20

    # The worker wrote in English; a reader in Chinese reads why in Chinese (it was English
    # on Chinese pages), a reader in English in English.
    reader = Client()
    reader.force_login(editor)
    reader.cookies["django_language"] = "zh-hans"
    page = reader.get(f"/redelivery/{run.pk}/").content.decode()
    assert "已暂停：最近 20 个回调中有 20 个失败" in page and "may be down" not in page
    assert "接收方返回 HTTP 502" in page and "The receiver answered" not in page
    reader.cookies["django_language"] = "en"
    page = reader.get(f"/redelivery/{run.pk}/").content.decode()
    assert "Paused: 20 of the last 20 callbacks failed" in page
    assert '<span class="badge bad" id="run-failed">20 failed</span>' in page
    assert '<span class="badge off" id="run-delivered">0 delivered</span>' in page
    assert "The receiver answered HTTP 502" in page


def test_a_run_waits_for_a_resend_of_the_same_callback_still_in_flight(editor, hook):
    """Someone's Resend of the run's first callback is still waiting for its receiver (sent by
    another server process) when the run reaches it: the run sent it at the same moment, and the
    receiver got it twice. Now the run waits for that send, then counts it as redelivered."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    records = failed_records(domain, 3)
    in_flight = RedeliveryAttempt.objects.create(
        record=records[0], actor_name="lee", target_url=hook.url("/cb")
    )
    procs = workers(hook)
    try:
        run = start_run(editor, records, skip_redelivered="on")
        wait_for(lambda: state_of(run) == "running", "the run to start")
        time.sleep(2)  # long enough for a run that does not wait to send all three
        assert hook.received == [], sent_ids(hook)
        RedeliveryAttempt.objects.filter(pk=in_flight.pk).update(
            outcome="delivered", status_code=200
        )
        wait_for(lambda: state_of(run) == "done", "the run")
    finally:
        errors = stop(procs)
    assert "Traceback" not in errors, errors[-3000:]
    assert sent_ids(hook) == Counter({records[1].pk: 1, records[2].pk: 1})
    ours = RedeliveryAttempt.objects.get(run=run, record=records[0])
    assert ours.outcome == "skipped"
