"""Sync against the sandbox: new, changed, drifted and vanished domains; upstream errors."""

import pytest

from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain, RecordNotifyConfig, SnapshotNotifyConfig
from dashboard.domains.services import domain_refresh
from dashboard.domains.sync import domains_sync_all
from dashboard.failures import UpstreamError
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxDomain, SandboxRecordConfig
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_first_sync_caches_domains_and_configs_without_drift(empty_cache):
    report = domains_sync_all(workers=1)
    assert report.domains_seen == 11 and report.created == 11 and not report.failed
    assert Domain.objects.count() == 11
    shop = Domain.objects.get(name=TEAM_DOMAIN)
    assert shop.record_config.notify_url == "https://hooks.example-shop.com/live/record"
    assert shop.record_config.need_status_notify and shop.record_config.notify_req_auth
    assert len(shop.record_config.auth_key_fingerprint) == 64
    assert "Sh0pKey" not in shop.record_config.auth_key_fingerprint
    assert shop.snapshot_config.notify_req_auth
    assert not Domain.objects.get(name="cdn.webinar-hub.com").record_config_or_none
    assert not AuditEntry.objects.filter(action="drift").exists()


def test_change_outside_dashboard_is_recorded_as_drift(empty_cache):
    domains_sync_all(workers=1)
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url="https://console-change.example.com/cb", notify_auth_key="ChangedInConsole1234"
    )
    report = domains_sync_all(workers=1)
    assert report.drifted == 1
    entry = AuditEntry.objects.get(action="drift")
    assert entry.before["notify_url"] == "https://hooks.example-shop.com/live/record"
    assert entry.after["notify_url"] == "https://console-change.example.com/cb"
    assert entry.before["auth_key_fingerprint"] != entry.after["auth_key_fingerprint"]
    assert "ChangedInConsole1234" not in str(entry.after)
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    assert domain.record_config.notify_url == "https://console-change.example.com/cb"
    assert domain.version("record") == version + 1


def test_new_and_vanished_domains(empty_cache):
    domains_sync_all(workers=1)
    SandboxDomain.objects.filter(name="pull.gamearena.net").delete()
    new = SandboxDomain.objects.get(name="cdn.webinar-hub.com")
    new.pk = None
    new.name = "brand-new.example.com"
    new.save()
    report = domains_sync_all(workers=1)
    assert report.created == 1 and report.gone == 1
    gone = Domain.objects.get(name="pull.gamearena.net")
    assert gone.gone_at is not None  # kept, not deleted
    assert AuditEntry.objects.filter(action="gone", domain_name="pull.gamearena.net").exists()
    assert Domain.objects.filter(name="brand-new.example.com").exists()


def test_a_description_longer_than_the_cache_holds_does_not_stop_the_sync(empty_cache):
    """A domain whose description (set in Alibaba Cloud's console, no documented limit) is
    longer than the cache's column: on PostgreSQL the upsert failed, and with it the sync of
    every domain. The cache keeps as much as it holds."""
    SandboxDomain.objects.filter(name=TEAM_DOMAIN).update(
        description="Shop streaming, the main storefront. " * 10, cname="c" * 320
    )
    # a status, a region and a type Live may name one day, longer than the documented ones
    SandboxDomain.objects.filter(name=OTHER_DOMAIN).update(
        status="configure_failed_retrying", region="cn-shanghai-finance-1-zone-b-extra"
    )
    report = domains_sync_all(workers=1)
    assert report.created == 11 and not report.failed
    shop = Domain.objects.get(name=TEAM_DOMAIN)
    assert shop.description.startswith("Shop streaming, the main") and len(shop.description) == 200
    assert shop.cname == "c" * 300
    other = Domain.objects.get(name=OTHER_DOMAIN)
    assert (other.status, other.region) == ("configure_failed", "cn-shanghai-finance-1-zone-b-ext")


def test_a_callback_url_longer_than_ours_is_cached_whole_and_shown(empty_cache, client, lead):
    """A recording callback URL set at Alibaba Cloud longer than our forms take (1,024; Live
    documents no limit): the cache's column refused it on PostgreSQL, and the exception failed
    the sync of every domain. It is cached whole (not cut: a cut URL saved back would be
    another), and shown."""
    long_url = "https://hooks.example-shop.com/live/record?" + "&".join(
        f"tag{n}=v{n}" for n in range(200)
    )
    assert len(long_url) > 1024
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(notify_url=long_url)
    report = domains_sync_all(workers=1)
    assert report.created == 11 and not report.failed
    assert RecordNotifyConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == long_url
    client.force_login(lead)
    page = client.get(f"/domains/{TEAM_DOMAIN}/")
    assert page.status_code == 200 and "tag199=v199" in page.content.decode()


def test_upstream_errors_mid_sync_leave_the_cache_consistent(empty_cache):
    domains_sync_all(workers=1)
    before = {
        c.domain.name: (c.notify_url, c.auth_key_fingerprint)
        for c in RecordNotifyConfig.objects.select_related("domain")
    }
    SandboxRecordConfig.objects.update(notify_url="https://changed.example.com/cb")
    sandbox_app.faults.configure("DescribeLiveSnapshotNotifyConfig:error=1")
    report = domains_sync_all(workers=1)
    # every streaming domain fails; the three ingest domains (stream callbacks only) do not
    assert len(report.failed) == report.domains_seen - 3 and report.refreshed == 3
    after = {
        c.domain.name: (c.notify_url, c.auth_key_fingerprint)
        for c in RecordNotifyConfig.objects.select_related("domain")
    }
    assert after == before  # nothing half-applied: each domain is written whole or not at all
    assert (
        "InternalError" in Domain.objects.get(name=TEAM_DOMAIN).sync_error
        or "ServiceUnavailable" in Domain.objects.get(name=TEAM_DOMAIN).sync_error
    )


def test_discovery_failure_changes_nothing(empty_cache):
    sandbox_app.faults.configure("DescribeLiveUserDomains:error=1")
    with pytest.raises(UpstreamError):
        domains_sync_all(workers=1)
    assert Domain.objects.count() == 0


def test_refresh_one_domain(empty_cache):
    domains_sync_all(workers=1)
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).delete()
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    assert domain_refresh(domain=domain).drifted == ["record"]
    assert not RecordNotifyConfig.objects.filter(domain=domain).exists()
    assert SnapshotNotifyConfig.objects.filter(domain=domain).exists()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_concurrent_sync_with_worker_threads(empty_cache):
    report = domains_sync_all(workers=4)
    assert report.refreshed == 11 and not report.failed  # 8 streaming, 3 ingest domains
    assert RecordNotifyConfig.objects.count() == 5 and SnapshotNotifyConfig.objects.count() == 3


def test_the_sync_reads_which_streaming_domain_each_ingest_domain_feeds(empty_cache, caplog):
    """The pairs a stream's timeline joins (an ingest domain's publish callbacks and its
    streaming domain's recording callbacks) come from the Live API's DescribeLiveDomainMapping,
    both ways; a domain no ingest domain feeds is on its own. The mapping failing to answer
    does not fail the sync of the configs, and the mapping last read is kept."""

    def pairs():
        return {
            d.name: sorted(d.mapped.values_list("name", flat=True))
            for d in Domain.objects.all()
            if d.mapped.exists()
        }

    report = domains_sync_all(workers=1)
    assert not report.failed
    expected = {
        "push.example-shop.com": [TEAM_DOMAIN],
        TEAM_DOMAIN: ["push.example-shop.com"],
        "ingest.sportsnow.tv": ["stream.sportsnow.tv"],
        "stream.sportsnow.tv": ["ingest.sportsnow.tv"],
        "push.edu-streams.cn": ["play.edu-streams.cn"],
        "play.edu-streams.cn": ["push.edu-streams.cn"],
    }
    assert pairs() == expected
    sandbox_app.faults.configure("DescribeLiveDomainMapping:error=1")
    report = domains_sync_all(workers=1)
    assert not report.failed and report.refreshed == 11
    assert pairs() == expected
    assert "mapping of push.example-shop.com not read" in caplog.text
