"""An editor resends a receiver's lost callbacks: filters the domain's failed callbacks by
htmx, confirms the count and the target, watches the run's progress to the end in a real
worker, sees the badges in the explorer, and opens one record's attempts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from dashboard.domains.models import Domain
from dashboard.sandbox.models import SandboxRecordConfig
from tests.browser.conftest import sign_in
from tests.conftest import TEAM_DOMAIN, Receiver, archive, process_env, start_db_worker

ROOT = Path(__file__).resolve().parents[2]


def test_editor_resends_a_hours_failed_callbacks_and_sees_them_arrive(watched, live_server, people):
    page = watched
    hook = Receiver()
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url=hook.url("/live/record"), notify_req_auth=False
    )
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    archive(
        Domain.objects.get(name=TEAM_DOMAIN),
        *[("failed", when + dt.timedelta(minutes=i)) for i in range(5)],
        url="https://hooks.example-shop.com/live/record",
        content='{"event":"file_created","stream":"redeliver-cam"}',
        stream="redeliver-cam",
    )
    worker = start_db_worker(process_env(pinned={hook.host: f"127.0.0.1:{hook.port}"}))
    try:
        sign_in(page, live_server, "editor")
        page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=24h")
        page.fill("#id_stream", "redeliver")
        page.select_option("#id_status", "failed")  # by htmx
        expect(page).to_have_url(re.compile(r"status=failed"))
        expect(page.locator("#counts")).to_contain_text("5 callbacks")
        page.locator("#resend").click()

        expect(page.locator("#count")).to_have_text("5")
        expect(page.locator("#targets")).to_contain_text(hook.url("/live/record"))
        page.get_by_role("button", name="Resend 5 callbacks").click()

        expect(page.locator("#run-state")).to_have_text("Done", timeout=30_000)
        expect(page.locator("#progress progress")).to_have_attribute("value", "100")
        expect(page.locator("#attempts .redelivered")).to_have_count(5)
        expect(page.locator("#attempts")).to_contain_text("redelivered ✓ 200")
        assert len(hook.received) == 5

        page.get_by_role("link", name="The records it was made from").click()
        expect(page.locator("table.records .redelivered")).to_have_count(5)
        page.locator("table.records time").first.click()
        attempts = page.locator("#redeliveries")
        expect(attempts).to_contain_text("redelivered ✓ 200")
        expect(attempts).to_contain_text(hook.url("/live/record"))
        expect(attempts).to_contain_text("editor")
        assert page.problems == []
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        hook.close()
