"""A count and its noun agree where a page or a message can say "1": a rule needing one
delivery read "(at least 1 deliveries)", a one-row export "1 of 1 rows", a sync of one domain
"1 of 1 domains", a one-minute lockout "Try again in 1 minutes"."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard.domains.models import SyncRun
from dashboard.records.models import Export
from tests.alerts.conftest import make_rule
from tests.conftest import ALL_DATABASES, PASSWORD, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def page(user, url: str, *, chinese: bool = False) -> str:
    client = Client()
    client.force_login(user)
    if chinese:
        client.cookies["django_language"] = "zh-hans"
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_rule_needing_one_delivery(synced, lead):
    from dashboard.domains.models import Domain

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    make_rule(domain, name="Any failure", min_deliveries=1, threshold_percent=0)
    make_rule(domain, name="Busy", min_deliveries=1000)
    listed = page(lead, "/alerts/")
    assert "(at least 1 delivery)" in listed and "(at least 1,000 deliveries)" in listed
    assert "1 deliveries" not in listed
    assert "（至少 1 次投递）" in page(lead, "/alerts/", chinese=True)


def test_an_export_of_one_row(viewer):
    export = Export.objects.create(
        created_by=viewer, query="domain=x", state=Export.State.RUNNING, total=1, written=0
    )
    assert "0 of 1 row<" in page(viewer, f"/records/exports/{export.pk}/")
    Export.objects.filter(pk=export.pk).update(state=Export.State.DONE, written=1)
    done = page(viewer, f"/records/exports/{export.pk}/")
    assert "Download the CSV (1 row)" in done and "1 of 1 row<" in done
    Export.objects.filter(pk=export.pk).update(total=2, written=2)
    assert "Download the CSV (2 rows)" in page(viewer, f"/records/exports/{export.pk}/")


def test_one_export_at_a_time(archived, viewer, settings):
    settings.EXPORT_DIRECT_ROWS = 10
    settings.EXPORTS_PER_USER = 1
    client = Client()
    client.force_login(viewer)
    url = f"/records/exports/new/?domain={TEAM_DOMAIN}&window=7d"
    assert client.post(url).status_code == 302
    refused = client.post(url)
    assert refused.status_code == 429
    assert "You already have 1 export being made: wait for it to finish." in refused.text


def test_a_sync_of_one_domain(lead):
    run = SyncRun.objects.create(started_by=lead, state=SyncRun.State.RUNNING, total=1, done=1)
    assert "1 of 1 domain<" in page(lead, f"/domains/sync/{run.pk}/")


def test_a_lockout_of_one_minute(client, lead, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_COOL_OFF = 60
    for _ in range(2):
        client.post("/accounts/login/", {"username": "lead", "password": "nope"})
    locked = client.post("/accounts/login/", {"username": "lead", "password": PASSWORD})
    assert "Try again in 1 minute." in locked.text
