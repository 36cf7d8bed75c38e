"""The config service: add, update, delete, conflicts, upstream failures, the race."""

import threading

import pytest
from django.db import connections

from dashboard.audit.models import AuditEntry
from dashboard.domains import services
from dashboard.domains.kinds import KINDS, RECORD, SNAPSHOT
from dashboard.domains.models import (
    ConfigState,
    Domain,
    RecordNotifyConfig,
    SnapshotNotifyConfig,
    key_fingerprint,
)
from dashboard.failures import UpstreamError
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxDomain, SandboxRecordConfig, SandboxSnapshotConfig
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

BARE = "cdn.webinar-hub.com"
KEY = "NewKey0123456789abcdef"


def save(domain, kind="record", *, user, version=None, **data):
    domain.refresh_from_db()
    values = {"notify_url": "https://hooks.example.net/cb", **data}
    return services.config_save(
        domain=domain,
        kind=KINDS[kind],
        data=values,
        actor=user,
        expected_version=domain.version(kind) if version is None else version,
        client_ip="203.0.113.9",
    )


def unclaimed(domain, kind: str = "record") -> bool:
    """No save holds the config's claim."""
    return not ConfigState.objects.filter(domain=domain, kind=kind).exclude(claim="").exists()


def test_add_record_config_creates_upstream_cache_and_audit(lead, synced):
    domain = Domain.objects.get(name=BARE)
    result = save(
        domain, user=lead, need_status_notify=True, notify_req_auth=True, notify_auth_key=KEY
    )
    assert result.action == "add" and result.request_id and result.new_key == KEY
    upstream = SandboxRecordConfig.objects.get(domain__name=BARE)
    assert upstream.notify_url == "https://hooks.example.net/cb" and upstream.notify_auth_key == KEY
    cached = RecordNotifyConfig.objects.get(domain=domain)
    assert cached.auth_key_fingerprint == key_fingerprint(KEY) and cached.need_status_notify
    entry = AuditEntry.objects.get(domain=domain, action="add")
    assert entry.outcome == "success" and entry.request_id == result.request_id
    assert entry.actor == lead and entry.client_ip == "203.0.113.9"
    assert entry.before is None and entry.after["notify_url"] == "https://hooks.example.net/cb"
    assert KEY not in str(entry.after)
    domain.refresh_from_db()
    assert domain.version("record") == 1 and unclaimed(domain)


def test_update_keeps_the_key_when_left_blank(editor):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    old_fingerprint = domain.record_config.auth_key_fingerprint
    result = save(domain, user=editor, notify_req_auth=True, notify_auth_key="")
    assert result.action == "update" and result.new_key == ""
    upstream = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN)
    assert upstream.notify_auth_key == "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    assert upstream.notify_url == "https://hooks.example.net/cb"
    assert RecordNotifyConfig.objects.get(domain=domain).auth_key_fingerprint == old_fingerprint


def test_snapshot_update_and_delete(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    save(domain, "snapshot", user=lead, notify_req_auth=False)
    assert SandboxSnapshotConfig.objects.get(domain__name=TEAM_DOMAIN).notify_req_auth is False
    domain.refresh_from_db()
    services.config_delete(
        domain=domain, kind=SNAPSHOT, actor=lead, expected_version=domain.version("snapshot")
    )
    assert not SandboxSnapshotConfig.objects.filter(domain__name=TEAM_DOMAIN).exists()
    assert Domain.objects.get(pk=domain.pk).snapshot_config_or_none is None
    assert AuditEntry.objects.filter(domain=domain, action="delete", outcome="success").exists()


def test_stale_version_is_a_conflict_and_changes_nothing(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    shown = domain.version("record")  # the version both editors loaded
    save(domain, user=lead)
    with pytest.raises(services.ConflictError) as info:
        save(domain, user=lead, version=shown, notify_url="https://stale.example.com/cb")
    assert info.value.version == shown + 1
    conflict = AuditEntry.objects.get(outcome="conflict")
    assert conflict.actor == lead and conflict.action == "update" and conflict.error_message
    assert info.value.current["notify_url"] == "https://hooks.example.net/cb"
    assert (
        SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
        == "https://hooks.example.net/cb"
    )


def test_change_in_the_console_is_a_conflict_with_drift_recorded(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url="https://console.example.com/x"
    )
    with pytest.raises(services.ConflictError) as info:
        save(domain, user=lead)
    assert info.value.current["notify_url"] == "https://console.example.com/x"
    assert (
        SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
        == "https://console.example.com/x"
    )
    assert AuditEntry.objects.filter(domain=domain, action="drift").exists()
    domain.refresh_from_db()
    assert unclaimed(domain)
    # With the version the held form carries now, the second Save goes through.
    save(domain, user=lead, version=info.value.version)
    assert (
        SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
        == "https://hooks.example.net/cb"
    )


def test_upstream_failure_writes_nothing_and_audits_the_attempt(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    version = domain.version("record")
    before = RecordNotifyConfig.objects.get(domain=domain).notify_url
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:error=1")
    with pytest.raises(UpstreamError) as info:
        save(domain, user=lead)
    assert info.value.code in {"InternalError", "ServiceUnavailable"} and info.value.request_id
    assert RecordNotifyConfig.objects.get(domain=domain).notify_url == before
    entry = AuditEntry.objects.get(domain=domain, outcome="failed")
    assert entry.error_code == info.value.code and entry.request_id == info.value.request_id
    domain.refresh_from_db()
    assert domain.version("record") == version and unclaimed(domain)


def test_a_save_whose_answer_was_lost_is_confirmed_and_recorded_as_applied(lead, synced):
    # Every Update is applied upstream, then the connection drops before the answer; the
    # client's retries meet the same fate, so the save ends in a connection error.
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    version = domain.version("record")
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:lost=1")
    save(domain, user=lead, notify_url="https://lost.example.net/cb")
    up = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN)
    assert up.notify_url == "https://lost.example.net/cb"
    assert RecordNotifyConfig.objects.get(domain=domain).notify_url == up.notify_url
    entry = AuditEntry.objects.get(domain=domain, action="update")
    assert entry.outcome == "success" and entry.after["notify_url"] == up.notify_url
    assert "a Describe confirmed the change was applied" in entry.error_message
    domain.refresh_from_db()
    assert domain.version("record") == version + 1 and unclaimed(domain)


def test_a_failure_before_the_change_stays_a_failure_after_the_check(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    before = RecordNotifyConfig.objects.get(domain=domain).notify_url
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:drop=1")
    sandbox_app.stats.reset()
    with pytest.raises(UpstreamError):
        save(domain, user=lead, notify_url="https://never.example.net/cb")
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == before
    assert RecordNotifyConfig.objects.get(domain=domain).notify_url == before
    assert AuditEntry.objects.get(domain=domain, action="update").outcome == "failed"
    # The check after the failure was one more Describe of each config, nothing else.
    assert sandbox_app.stats.calls["DescribeLiveRecordNotifyConfig"] == 2


def test_a_delete_whose_answer_was_lost_is_confirmed(lead, synced, monkeypatch):
    # One attempt only, so the lost answer is the error the service sees (with retries the
    # second Delete would meet "not found", which is handled as already gone).
    monkeypatch.setattr("dashboard.live.client.should_retry", lambda error: False)
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    sandbox_app.faults.configure("DeleteLiveSnapshotNotifyConfig:lost=1")
    services.config_delete(
        domain=domain, kind=SNAPSHOT, actor=lead, expected_version=domain.version("snapshot")
    )
    assert not SandboxSnapshotConfig.objects.filter(domain__name=TEAM_DOMAIN).exists()
    assert not SnapshotNotifyConfig.objects.filter(domain=domain).exists()
    entry = AuditEntry.objects.get(domain=domain, action="delete")
    assert entry.outcome == "success" and "a Describe confirmed" in entry.error_message


def test_unsafe_url_refused_upstream_is_an_upstream_failure(lead, synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    with pytest.raises(UpstreamError) as info:
        save(domain, user=lead, notify_url="http://10.1.1.1/cb")
    assert info.value.code == "InvalidNotifyUrl.Unsafe"


def test_add_meeting_config_already_exists_falls_back_to_update(lead, synced, monkeypatch):
    domain = Domain.objects.get(name=BARE)
    real_describe = services.upstream_config

    def describe_then_someone_adds(*, domain_name, kind, **kwargs):
        result = real_describe(domain_name=domain_name, kind=kind, **kwargs)
        SandboxRecordConfig.objects.create(
            domain=SandboxDomain.objects.get(name=domain_name),
            notify_url="https://race.example.com/cb",
        )
        return result

    monkeypatch.setattr(services, "upstream_config", describe_then_someone_adds)
    result = save(domain, user=lead)
    assert result.request_id
    assert (
        SandboxRecordConfig.objects.get(domain__name=BARE).notify_url
        == "https://hooks.example.net/cb"
    )


def test_reveal_is_audited(editor):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    key = services.auth_key_reveal(
        domain=domain, kind=RECORD, actor=editor, client_ip="198.51.100.1"
    )
    assert key == "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor == editor and key not in str(entry.before) + str(entry.after)


def test_audit_entries_are_append_only(lead, synced):
    domain = Domain.objects.get(name=BARE)
    save(domain, user=lead)
    entry = AuditEntry.objects.first()
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.update(outcome="failed")


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_concurrent_saves_on_one_version_apply_exactly_once(lead, synced):
    """20 editors press Save at the same moment with the same version: one wins."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    version = domain.version("record")
    barrier = threading.Barrier(20)
    outcomes = []
    lock = threading.Lock()

    def worker(i):
        try:
            barrier.wait()
            try:
                services.config_save(
                    domain=domain,
                    kind=RECORD,
                    data={"notify_url": f"https://hooks.example.net/cb{i}"},
                    actor=lead,
                    expected_version=version,
                )
                result = ("applied", i)
            except services.ConflictError:
                result = ("conflict", i)
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    applied = [i for kind, i in outcomes if kind == "applied"]
    assert len(outcomes) == 20 and len(applied) == 1
    winner = applied[0]
    assert (
        SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
        == f"https://hooks.example.net/cb{winner}"
    )
    assert (
        RecordNotifyConfig.objects.get(domain=domain).notify_url
        == f"https://hooks.example.net/cb{winner}"
    )
    assert Domain.objects.get(pk=domain.pk).version("record") == version + 1
    assert AuditEntry.objects.filter(domain=domain, action="update", outcome="success").count() == 1
    assert AuditEntry.objects.filter(domain=domain, outcome="conflict").count() == 19


def test_a_secret_key_rotation_does_not_make_configs_look_changed(lead, synced, settings):
    """Fingerprints made with the old SECRET_KEY still match while it is a fallback."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    old_fingerprint = RecordNotifyConfig.objects.get(domain=domain).auth_key_fingerprint
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-secret-key-" + "r" * 40
    # A refresh finds nothing changed, and quietly re-makes the fingerprint with the new key.
    assert services.domain_refresh(domain=domain).drifted == []
    refreshed = RecordNotifyConfig.objects.get(domain=domain).auth_key_fingerprint
    assert refreshed != old_fingerprint and refreshed == key_fingerprint(
        "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    )
    # A save (after a rotation, before any refresh) is not a conflict either.
    RecordNotifyConfig.objects.filter(domain=domain).update(auth_key_fingerprint=old_fingerprint)
    save(domain, user=lead, need_status_notify=True, notify_req_auth=True)
    assert not AuditEntry.objects.filter(action="drift").exists()
    assert not AuditEntry.objects.filter(outcome="conflict").exists()


def test_without_the_old_key_as_a_fallback_a_rotation_looks_like_a_change(lead, synced, settings):
    """The reason SECRET_KEY_FALLBACKS matters (documented in the README)."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    settings.SECRET_KEY = "rotated-secret-key-" + "r" * 40
    with pytest.raises(services.ConflictError):
        save(domain, user=lead, need_status_notify=True, notify_req_auth=True)
