"""Upstream faults while people browse and edit: nothing lost, no 500, cache and upstream agree.

The sandbox injects 20% 5xx, 10% throttling, 1-second latency spikes, dropped connections and
lost answers (the change is made, the answer never arrives) while 1,000 scripted requests
browse and edit.
"""

from __future__ import annotations

import random

import pytest

from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain, RecordNotifyConfig, key_fingerprint
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxRecordConfig, SandboxSnapshotConfig
from dashboard.upstream import get_client
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EDITABLE = [
    "live.example-shop.com",
    "play.edu-streams.cn",
    "stream.sportsnow.tv",
    "pull.gamearena.net",
    "live.fitclass.cn",
]
READ_PATHS = [
    "/domains/",
    "/domains/?configured=record",
    "/domains/{d}/",
    "/records/?domain={d}&window=24h",
    "/records/?domain={d}&window=7d&status=failed&page=2",
    "/records/?domain={d}&window=1h&source=live",  # the Live API itself, under faults
    "/records/overview/",
]


@pytest.mark.slow
def test_thousand_requests_under_faults(client, lead, synced):
    rng = random.Random(20261123)
    sandbox_app.faults._rng = random.Random(7)
    sandbox_app.faults.configure("error=0.2,throttle=0.1,latency=1.0@0.005,drop=0.05,lost=0.05")
    get_client().breaker.threshold = 0  # this test is about retries and refusals, not pausing
    client.force_login(lead)
    applied, refused = [], []
    statuses = []
    for i in range(1000):
        domain = rng.choice(EDITABLE)
        roll = rng.random()
        if roll < 0.15:
            version = Domain.objects.get(name=domain).version("record")
            url = f"https://hooks.example.net/{domain}/{i}"
            response = client.post(
                f"/domains/{domain}/record/edit/", {"notify_url": url, "version": version}
            )
            statuses.append(response.status_code)
            if response.status_code == 302:
                applied.append((domain, url))
                assert SandboxRecordConfig.objects.get(domain__name=domain).notify_url == url
                assert RecordNotifyConfig.objects.get(domain__name=domain).notify_url == url
                assert (
                    AuditEntry.objects.filter(
                        domain_name=domain, outcome="success", after__notify_url=url
                    ).count()
                    == 1
                )
            else:
                assert response.status_code in (409, 502), response.status_code
                assert f'value="{url}"' in response.content.decode()  # the edit is not lost
                refused.append((domain, url))
                assert AuditEntry.objects.filter(
                    domain_name=domain, outcome__in=["failed", "conflict"]
                ).exists()
        elif roll < 0.2:
            response = client.post(f"/domains/{domain}/refresh/")
            statuses.append(response.status_code)
            assert response.status_code == 302
        else:
            path = rng.choice(READ_PATHS).format(d=domain)
            response = client.get(
                path, headers={"HX-Request": "true"} if rng.random() < 0.5 else {}
            )
            statuses.append(response.status_code)
            assert response.status_code in (200, 502), (path, response.status_code)
    assert len(statuses) == 1000 and 500 not in statuses
    assert applied and refused  # both outcomes really happened
    assert sum(sandbox_app.stats.calls.values()) > 500
    # At the end the cache and the upstream agree for every domain.
    sandbox_app.faults.configure("")
    for domain in Domain.objects.filter(domain_type="liveVideo", gone_at__isnull=True):
        up = SandboxRecordConfig.objects.filter(domain__name=domain.name).first()
        cached = RecordNotifyConfig.objects.filter(domain=domain).first()
        assert (up is None) == (cached is None), domain.name
        if up:
            assert (up.notify_url, key_fingerprint(up.notify_auth_key)) == (
                cached.notify_url,
                cached.auth_key_fingerprint,
            )
        up_snap = SandboxSnapshotConfig.objects.filter(domain__name=domain.name).exists()
        assert up_snap == (domain.snapshot_config_or_none is not None)


def test_circuit_breaker_stops_calling_and_pages_show_the_banner(client, viewer, synced):
    sandbox_app.faults.configure("error=1")
    breaker = get_client().breaker
    client.force_login(viewer)
    for _ in range(breaker.threshold):
        client.get("/records/?domain=live.example-shop.com&window=24h&source=live")
        if breaker.is_open:
            break
    assert breaker.is_open
    calls = sum(sandbox_app.stats.calls.values())
    response = client.get("/records/?domain=live.example-shop.com&window=24h&source=live")
    body = response.content.decode()
    assert response.status_code == 502 and "CircuitOpen" in body
    assert "The Live API is failing right now" in body
    assert sum(sandbox_app.stats.calls.values()) == calls  # it did not call the upstream
    assert client.get("/domains/").status_code == 200  # cached pages keep working
    assert client.get("/records/?domain=live.example-shop.com").status_code == 200  # the archive
