"""The audit log page: filters, htmx paging, CSV export, links to domains."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from dashboard.domains.models import AuditEntry, Domain
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def entries(synced, lead, editor):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    other = Domain.objects.get(name="play.edu-streams.cn")
    rows = [
        (domain, editor, "update", "success", "REQ-A"),
        (domain, editor, "update", "failed", "REQ-B"),
        (other, lead, "delete", "success", "REQ-C"),
        (other, lead, "reveal", "success", "REQ-D"),
    ]
    for d, actor, action, outcome, rid in rows:
        AuditEntry.objects.create(
            domain=d,
            domain_name=d.name,
            actor=actor,
            actor_name=actor.username,
            kind="record",
            action=action,
            outcome=outcome,
            request_id=rid,
            before={"notify_url": "https://old.example.com"},
            after={"notify_url": "=HYPERLINK(1)"},
        )
    return rows


@pytest.fixture
def as_lead(client, lead):
    client.force_login(lead)
    return client


def request_ids(response):
    return sorted(e.request_id for e in response.context["page"].object_list)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["REQ-A", "REQ-B", "REQ-C", "REQ-D"]),
        (f"domain={TEAM_DOMAIN}", ["REQ-A", "REQ-B"]),
        ("actor=lead", ["REQ-C", "REQ-D"]),
        ("action=delete", ["REQ-C"]),
        ("outcome=failed", ["REQ-B"]),
        ("since={today}&until={today}", ["REQ-A", "REQ-B", "REQ-C", "REQ-D"]),
        ("since={tomorrow}", []),
    ],
)
def test_filters(as_lead, entries, query, expected):
    today = timezone.localdate()
    query = query.format(today=today, tomorrow=today + dt.timedelta(days=1))
    response = as_lead.get(f"/audit/?{query}")
    assert response.status_code == 200
    assert request_ids(response) == expected


def test_bad_filters_are_400(as_lead, entries):
    assert as_lead.get("/audit/?outcome=maybe").status_code == 400
    response = as_lead.get("/audit/?since=2026-11-20&until=2026-11-01")
    assert response.status_code == 400 and "must not be before" in response.content.decode()


def test_htmx_gets_the_results_fragment_with_links_to_domains(as_lead, entries):
    response = as_lead.get("/audit/?action=update", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body and f'href="/domains/{TEAM_DOMAIN}/"' in body


def test_csv_export_is_spreadsheet_safe(as_lead, entries):
    response = as_lead.get("/audit/?format=csv&actor=editor")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["time_utc", "actor", "domain"]
    assert sorted(r[6] for r in rows[1:]) == ["REQ-A", "REQ-B"]
    assert all(r[11].startswith("{") for r in rows[1:])  # JSON, never a live formula


def test_only_leads_read_the_audit_log(client, viewer, editor, entries):
    for user in (viewer, editor):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/?format=csv").status_code == 403


@pytest.mark.parametrize("zone", ["Pacific%2FKiritimati", "Etc%2FGMT%2B12", "UTC"])
@pytest.mark.parametrize(
    "query", ["until=9999-12-31", "since=0001-01-01", "since=0001-01-01&format=csv"]
)
def test_extreme_dates_are_a_message_in_any_zone(client, lead, zone, query):
    client.force_login(lead)
    client.cookies["tz"] = zone
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert "Enter a date from 1970-01-01 to 2999-12-31." in response.content.decode()


def test_dates_are_read_in_the_users_zone(client, lead):
    """An entry at 2026-03-01 20:00 UTC is on March 2nd in Shanghai."""
    import datetime as dt

    entry = AuditEntry.objects.create(
        domain_name="zone.example.com", kind="record", action="update", outcome="success"
    )
    moment = dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)
    AuditEntry._base_manager.filter(pk=entry.pk).update(created_at=moment)  # a test backdates
    client.force_login(lead)
    client.cookies["tz"] = "Asia%2FShanghai"
    page = client.get("/audit/?domain=zone.example.com&since=2026-03-02&until=2026-03-02")
    assert "zone.example.com" in page.content.decode()
    assert "2026-03-02 04:00" in page.content.decode()
    client.cookies["tz"] = "UTC"
    page = client.get("/audit/?domain=zone.example.com&since=2026-03-02&until=2026-03-02")
    assert "No audit entries match" in page.content.decode()
