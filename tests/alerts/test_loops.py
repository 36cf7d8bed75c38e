"""The alert loop as it runs in production: real `run_alerts --follow` processes on this run's
database, a real SMTP server and a slow webhook receiver.

Two repros from the field: a rule whose name held a line break made Django's mail refuse the
subject, the exception left the loop and `run_alerts` exited (nothing restarted it: alerting
stopped); and two loops sent the same notifications twice, because every claim of a batch was
stamped with the batch's start and ran out while earlier sends were still going on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.utils import timezone

from dashboard.alerts.models import AlertAttempt, AlertNotification, AlertRule
from dashboard.domains.models import Domain
from tests.alerts.test_end_to_end import smtp, wait_for  # noqa: F401 (the SMTP fixture)
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, Receiver, process_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def rule(domain, name, **channels) -> AlertRule:
    # on, and never firing (a million deliveries at least): the loops only send what is
    # queued here, they queue nothing of their own (a rule turned off sends nothing at all)
    return AlertRule.objects.create(
        name=name,
        domain=domain,
        condition=AlertRule.Condition.FAILURE_RATE,
        threshold_percent=99,
        min_deliveries=1_000_000,
        webhook_secret="whsec_test",
        **channels,
    )


def queue(rule_, channel, *, payload=None, n=0) -> AlertNotification:
    title = f"[FIRING] {rule_.name}: {TEAM_DOMAIN}"
    return AlertNotification.objects.create(
        rule=rule_,
        domain=rule_.domain,
        subject=f"domain:{rule_.domain_id}",
        event=AlertNotification.Event.FIRING,
        channel=channel,
        key=f"{rule_.pk}|{channel}|{n}",
        payload={"event": "firing", "title": title, "text": "What: a test", "markdown": "x"}
        if payload is None
        else payload,
        next_attempt_at=timezone.now() - __import__("datetime").timedelta(seconds=n + 1),
    )


def loops(count: int, env: dict) -> list[subprocess.Popen]:
    command = [sys.executable, "manage.py", "run_alerts", "--follow", "--every", "3600"]
    command += ["--tick", "0.2"]
    return [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]


def stop(workers) -> str:
    errors = []
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            errors.append(worker.communicate(timeout=20)[1])
        except subprocess.TimeoutExpired:
            worker.kill()
    return "\n".join(errors)


def test_one_poisoned_notification_never_stops_alerting(archived, smtp):  # noqa: F811
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    hook = Receiver()
    # saved before names had to be one line: "Send test alert" and firing both died on it
    crlf = rule(domain, "Shop\r\nBcc: everyone@example.com", emails="ops@example.com")
    broken = rule(domain, "Broken payload", emails="ops@example.com")
    later = rule(domain, "Next in line", webhook_url=hook.url("/alerts"))
    poisoned = queue(broken, "email", payload={}, n=3)  # due first: a bug in the payload
    named = queue(crlf, "email", n=2)
    healthy = queue(later, "webhook", n=1)
    env = process_env(
        pinned={hook.host: f"127.0.0.1:{hook.port}"},
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
    )
    workers = loops(1, env)
    try:
        wait_for(
            lambda: AlertNotification.objects.get(pk=healthy.pk).status == "sent",
            timeout=60,
            what="the notification after the poisoned one",
        )
        wait_for(lambda: AlertNotification.objects.get(pk=named.pk).status == "sent", 30)
        assert workers[0].poll() is None, "run_alerts exited"
        poisoned.refresh_from_db()
        assert poisoned.status == "pending" and poisoned.attempts == 1
        assert "KeyError" in poisoned.last_error
        attempt = AlertAttempt.objects.get(notification=poisoned)
        assert not attempt.ok and "KeyError" in attempt.detail
        assert len(hook.received) == 1
        (message,) = smtp.messages
        assert message["Subject"] == f"[FIRING] Shop Bcc: everyone@example.com: {TEAM_DOMAIN}"
        assert message["Bcc"] is None and message["To"] == "ops@example.com"
    finally:
        stop(workers)
        hook.close()


def test_two_loops_never_send_one_notification_twice(archived):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    hook = Receiver()
    hook.delay = 0.7  # a slow receiver: a round of twenty takes fourteen seconds
    hooked = rule(domain, "Slow receiver", webhook_url=hook.url("/alerts"))
    notes = [queue(hooked, "webhook", n=n) for n in range(20)]
    env = process_env(
        pinned={hook.host: f"127.0.0.1:{hook.port}"},
        ALERT_WEBHOOK_TIMEOUT="2",
        EMAIL_TIMEOUT="2",
        ALERT_CLAIM_SECONDS="4",  # a claim outlasts one send, not a round of them
    )
    workers = loops(1, env)
    try:
        # the second loop comes in while the first is halfway through its round
        wait_for(lambda: len(hook.received) >= 4, timeout=60, what="the first sends")
        workers += loops(1, env)
        wait_for(
            lambda: AlertNotification.objects.filter(rule=hooked, status="sent").count() == 20,
            timeout=90,
            what="all twenty sent",
        )
        time.sleep(2)  # anything still in flight arrives
        ids = Counter(headers["X-Alert-Id"] for _p, headers, _b in hook.received)
        assert sorted(ids) == sorted(str(n.pk) for n in notes)
        assert set(ids.values()) == {1}, f"sent more than once: {ids}"
        # the history shows one attempt per send, and each once
        tries = AlertAttempt.objects.filter(notification__rule=hooked)
        assert tries.count() == 20 and all(t.ok for t in tries)
        assert len({t.worker for t in tries}) == 2  # both loops did their share
    finally:
        errors = stop(workers)
        hook.close()
    assert "Traceback" not in errors, errors
