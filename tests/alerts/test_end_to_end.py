"""End to end: a real SMTP server and a webhook receiver on 127.0.0.1, two real alert workers
(`run_alerts --follow`, separate processes on this run's database), and the sandbox's receiver
fault pushing a domain over a threshold. Exactly one alert email and one signed webhook
arrive; after the fault stops, exactly one recovery of each."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from dashboard.alerts.models import AlertNotification, AlertRule
from dashboard.alerts.services import rule_save
from dashboard.domains.models import Domain
from tests.conftest import (
    ALL_DATABASES,
    TEAM_DOMAIN,
    Receiver,
    free_port,
    harvest_now,
    process_env,
)

ROOT = Path(__file__).resolve().parents[2]


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_two_workers_send_one_alert_and_one_recovery_per_channel(archived, smtp, lead):
    hook = Receiver()
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    rule = rule_save(
        rule=AlertRule(
            name="Shop receiver failing",
            scope=AlertRule.Scope.DOMAIN,
            domain=domain,
            condition=AlertRule.Condition.FAILURE_RATE,
            threshold_percent=50,
            window_minutes=5,
            min_deliveries=5,
            reminder_minutes=60,
            emails="ops@example.com",
            webhook_url=hook.url("/alerts"),
        ),
        actor=lead,
    )
    env = process_env(
        pinned={hook.host: f"127.0.0.1:{hook.port}"},
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
    )
    command = [sys.executable, "manage.py", "run_alerts", "--follow", "--every", "0.5"]
    command += ["--tick", "0.2"]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        # The receiver breaks: every callback fails with HTTP 503, 2 a second.
        call_command(
            "sandbox_callbacks",
            TEAM_DOMAIN,
            fail=100,
            cause="HTTP 503 Service Unavailable",
            rate=7200,
        )
        time.sleep(4)
        harvest_now()
        wait_for(lambda: smtp.messages and hook.received, what="the alert")
        time.sleep(3)  # both workers evaluate several more times meanwhile
        assert len(smtp.messages) == 1 and len(hook.received) == 1
        message = smtp.messages[0]
        assert message["Subject"] == f"[FIRING] Shop receiver failing: {TEAM_DOMAIN}"
        assert message["To"] == "ops@example.com"
        assert "of callbacks failed in the last 5 min" in message.get_payload()
        _path, headers, body = hook.received[0]
        timestamp, alert_id = headers["X-Alert-Timestamp"], headers["X-Alert-Id"]
        signed = f"{timestamp}.{alert_id}.".encode() + body
        expected = hmac.new(rule.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        assert headers["X-Alert-Signature"] == f"v2={expected}"
        assert json.loads(body)["event"] == "firing"

        # The receiver is mended: successes outnumber the failures in the window.
        call_command("sandbox_callbacks", TEAM_DOMAIN, fail=0, cause="", rate=36000)
        time.sleep(3)
        harvest_now()
        wait_for(lambda: len(smtp.messages) == 2 and len(hook.received) == 2, what="the recovery")
        time.sleep(3)
        assert len(smtp.messages) == 2 and len(hook.received) == 2
        assert smtp.messages[1]["Subject"].startswith("[RECOVERED] Shop receiver failing")
        assert json.loads(hook.received[1][2])["event"] == "recovered"
        assert AlertNotification.objects.filter(status="sent").count() == 4
    finally:
        for worker in workers:
            worker.terminate()
        errors = [w.communicate(timeout=30)[1] for w in workers]
        hook.close()
    assert not any("Traceback" in e for e in errors), errors
