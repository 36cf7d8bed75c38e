"""Refresh and sync racing a save: what a refresh fetched before a save finished is older than
the cache and must not be written over it, nor recorded as drift.

The races are made deterministic with the sandbox's `late` fault (the operation runs at once,
its answer is held): the test waits until the slow request is being held, then acts.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from dashboard.audit.models import AuditEntry
from dashboard.domains import services
from dashboard.domains.kinds import RECORD
from dashboard.domains.models import Domain, RecordNotifyConfig
from dashboard.domains.sync import domains_sync_all
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
NEW_URL = "https://hooks.example-shop.com/live/v3"


class Held:
    """Counts the answers the sandbox is holding (the `late` fault)."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def sleep(self, seconds):
        with self.changed:
            self.count += 1
            self.changed.notify_all()
        time.sleep(seconds)

    def wait(self, timeout: float, *, at_least: int = 1) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= at_least, timeout)


@pytest.fixture
def held(monkeypatch):
    holding = Held()
    monkeypatch.setattr(sandbox_app.faults, "_sleep", holding.sleep)
    return holding


def in_thread(target, results: dict, name: str) -> threading.Thread:
    def run():
        try:
            results[name] = target()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[name] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def save(lead, url=NEW_URL):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    return services.config_save(
        domain=domain,
        kind=RECORD,
        data={"notify_url": url, "need_status_notify": True, "notify_req_auth": True},
        actor=lead,
        expected_version=domain.version("record"),
    )


def test_a_refresh_that_read_before_a_save_does_not_overwrite_it(synced, lead, held):
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    sandbox_app.faults.configure("DescribeLiveRecordNotifyConfig:late=1.5")
    results: dict = {}
    refresh = in_thread(
        lambda: services.domain_refresh(domain=Domain.objects.get(name=TEAM_DOMAIN)),
        results,
        "refresh",
    )
    assert held.wait(10), "the refresh's Describe never reached the sandbox"
    sandbox_app.faults.configure("")  # the save below is answered at once
    save(lead)  # "Saved", while the refresh still holds the old state
    refresh.join(20)
    assert not isinstance(results["refresh"], Exception), results["refresh"]
    assert results["refresh"].skipped == ["record"]
    assert RecordNotifyConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == NEW_URL
    assert not AuditEntry.objects.filter(action="drift").exists()
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    assert domain.version("record") == version + 1
    # The next editor, with the version they were shown, saves without a false conflict.
    save(lead, "https://hooks.example-shop.com/live/v4")
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url.endswith("/v4")


def test_a_refresh_during_a_save_records_no_false_drift(synced, lead, held):
    """The save's Update has been applied upstream but its answer is still on the way: a
    refresh now sees a value the cache does not hold yet. That is not an outside change."""
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:late=1.5")
    results: dict = {}
    saving = in_thread(lambda: save(lead), results, "save")
    assert held.wait(10), "the save's Update never reached the sandbox"
    outcome = services.domain_refresh(domain=Domain.objects.get(name=TEAM_DOMAIN))
    saving.join(20)
    assert not isinstance(results["save"], Exception), results["save"]
    assert outcome.skipped == ["record"] and outcome.drifted == []
    assert not AuditEntry.objects.filter(action="drift").exists()
    assert RecordNotifyConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == NEW_URL


def test_sync_all_that_fetched_before_a_save_keeps_the_save(synced, lead, held):
    sandbox_app.faults.configure("DescribeLiveRecordNotifyConfig:late=2")
    streaming = Domain.objects.filter(domain_type="liveVideo", gone_at__isnull=True).count()
    configured = SandboxRecordConfig.objects.count()  # the others answer NotFound at once
    results: dict = {}
    sync = in_thread(lambda: domains_sync_all(workers=streaming), results, "sync")
    # Every recording Describe that found a config is being held, ours among them.
    assert held.wait(20, at_least=configured)
    sandbox_app.faults.configure("")
    save(lead)
    sync.join(60)
    assert not isinstance(results["sync"], Exception), results["sync"]
    assert RecordNotifyConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == NEW_URL
    assert not AuditEntry.objects.filter(action="drift", domain_name=TEAM_DOMAIN).exists()


def test_a_sync_marked_failed_while_its_worker_was_stuck_stops_and_stays_failed(synced, lead, held):
    """A worker stuck for 30 minutes on one answer: the next press of "Sync all" marks its run
    failed and queues a new one. When the stuck worker comes back it stops at its next report —
    it does not sync every domain alongside the new run, nor write "done" over "failed"."""
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from dashboard.domains.models import SyncRun
    from dashboard.domains.tasks import sync_all_domains

    client = Client()
    client.force_login(lead)
    client.post("/domains/sync/")
    stuck = SyncRun.objects.get()
    sandbox_app.faults.configure("DescribeLiveRecordNotifyConfig:late=1.5")
    results: dict = {}
    worker = in_thread(lambda: sync_all_domains.call(stuck.pk), results, "worker")
    assert held.wait(10), "the sync's Describe never reached the sandbox"
    sandbox_app.faults.configure("")
    long_ago = timezone.now() - dt.timedelta(minutes=31)
    SyncRun.objects.filter(pk=stuck.pk).update(created_at=long_ago, reported_at=long_ago)
    client.post("/domains/sync/")  # 31 minutes without a word: marked failed, a new run queued
    worker.join(30)
    assert results["worker"] == {"ok": False, "abandoned": True}
    stuck.refresh_from_db()
    assert stuck.state == "failed" and "No word from the background worker" in stuck.message
    assert stuck.done < stuck.total or stuck.total == 0
    assert SyncRun.objects.filter(state="queued").exclude(pk=stuck.pk).count() == 1
