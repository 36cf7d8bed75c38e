"""Django's admin is for superusers only. A lead once reached it (leads were staff) and could
reset the superuser's password, make themself superuser and move domains between teams, with
none of it in the audit log. Leads manage people on /people/, under the role rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, PASSWORD, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("root", password=PASSWORD)


def test_a_lead_cannot_use_the_admin_at_all(client, lead, admin_user, synced):
    client.force_login(lead)
    assert lead.is_staff  # staff from before this change: not enough any more
    home = client.get("/admin/")
    assert home.status_code == 302 and "/admin/login/" in home["Location"]
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    attempts = [
        (
            f"/admin/auth/user/{admin_user.pk}/password/",
            {"password1": "x-Takeover-99", "password2": "x-Takeover-99"},
        ),
        (
            f"/admin/auth/user/{lead.pk}/change/",
            {"username": "lead", "is_superuser": "on", "is_staff": "on", "is_active": "on"},
        ),
        (f"/admin/domains/domain/{domain.pk}/change/", {"team": str(synced["other_team"].pk)}),
    ]
    for url, data in attempts:
        response = client.post(url, data)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    admin_user.refresh_from_db()
    lead.refresh_from_db()
    domain.refresh_from_db()
    assert admin_user.check_password(PASSWORD)
    assert not lead.is_superuser
    assert domain.team == synced["team"]
    # no Admin link for a lead
    assert 'href="/admin/"' not in client.get("/domains/").content.decode()


def test_the_admin_sign_in_refuses_a_lead_with_the_right_password(client, lead):
    response = client.post("/admin/login/", {"username": "lead", "password": PASSWORD})
    assert response.status_code == 200
    assert "The admin is for administrators only" in response.content.decode()


def test_people_page_refuses_the_same_takeover(client, lead, admin_user):
    client.force_login(lead)
    response = client.post(f"/people/{admin_user.pk}/", {"role": "Viewer", "is_active": ""})
    assert response.status_code in (400, 403)
    admin_user.refresh_from_db()
    assert admin_user.is_active and admin_user.is_superuser


def test_what_a_superuser_changes_in_the_admin_is_audited(client, admin_user, synced):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    response = client.post(
        f"/admin/domains/domain/{domain.pk}/change/", {"team": str(synced["other_team"].pk)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    domain.refresh_from_db()
    assert domain.team == synced["other_team"]
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.ADMIN)
    assert entry.actor == admin_user and entry.action == "update"
    assert entry.domain_name == TEAM_DOMAIN and "Team" in entry.after["change"]
    client.force_login(admin_user)
    page = client.get("/audit/?action=update").content.decode()
    assert "Admin site" in page
