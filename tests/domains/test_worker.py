""" "Sync all" end to end: the view enqueues, a real `db_worker` process runs the task."""

import os
from pathlib import Path

import pytest

from dashboard.domains.models import Domain, SyncRun
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, database_url, db_worker_batch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_sync_all_is_done_by_the_worker_process(client, lead, synced):
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url="https://worker.example.com/cb"
    )
    client.force_login(lead)
    client.post("/domains/sync/")
    run = SyncRun.objects.get()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url("default"),
        "SANDBOX_DATABASE_URL": database_url("sandbox"),
        "LIVE_SANDBOX_THROTTLE": "false",
    }
    db_worker_batch(env)
    run.refresh_from_db()
    assert run.state == "done", run.message
    assert run.total == 11 and run.failed == 0 and run.drifted == 1  # 8 streaming, 3 ingest
    assert (
        Domain.objects.get(name=TEAM_DOMAIN).record_config.notify_url
        == "https://worker.example.com/cb"
    )
