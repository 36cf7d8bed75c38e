"""Who may reach which URL: every named route × every role, generated from the URLconf.

A new view without an entry here fails `test_every_route_has_an_expectation`, so access
rules cannot be forgotten.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, duplicate_ids, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ROLES = ["anonymous", "norole", "viewer", "editor_own", "editor_other", "lead"]
EVERYONE = {"viewer", "editor_own", "editor_other", "lead"}
EDITORS = {"editor_own", "lead"}
LEADS = {"lead"}

# name: (method, kwargs, roles allowed, status when allowed)
EXPECTATIONS = {
    "home": ("get", {}, EVERYONE, 302),
    "domain_list": ("get", {}, EVERYONE, 200),
    "domain_detail": ("get", {"name": TEAM_DOMAIN}, EVERYONE, 200),
    "domain_refresh": ("post", {"name": TEAM_DOMAIN}, EVERYONE, 302),
    "config_edit": ("get", {"name": TEAM_DOMAIN, "kind": "record"}, EDITORS, 200),
    "key_generate": ("get", {"name": TEAM_DOMAIN, "kind": "record"}, EDITORS, 200),
    "config_delete": ("get", {"name": TEAM_DOMAIN, "kind": "snapshot"}, EDITORS, 200),
    "key_reveal": ("post", {"name": TEAM_DOMAIN, "kind": "record"}, EDITORS, 200),
    "sync_all": ("post", {}, LEADS, 302),
    "sync_run": ("get", {"run_id": "sync_run"}, LEADS, 200),
    "audit": ("get", {}, LEADS, 200),
    "people": ("get", {}, LEADS, 200),
    "person_add": ("get", {}, LEADS, 200),
    "person_edit": ("get", {"user_id": "viewer"}, LEADS, 200),  # the viewer's own page
    # the viewer has no directory login: the lead is told so on the person's page (302)
    "person_release_sso": ("post", {"user_id": "viewer"}, LEADS, 302),
    "group_mappings": ("get", {}, LEADS, 200),
    "group_mapping": ("get", {"mapping_id": "mapping"}, LEADS, 200),
    "records": ("get", {}, EVERYONE, 200),
    "records_export": ("get", {}, EVERYONE, 200),  # every domain's last 24 hours
    "records_overview": ("get", {}, EVERYONE, 200),
    "search": ("get", {}, EVERYONE, 302),  # no words: to the records
    # one's own account: also for someone without a role (their password is theirs)
    "account": ("get", {}, EVERYONE | {"norole"}, 200),
    # a stream's timeline by query (names with a slash): without the names, a 400 saying so
    "stream_timeline_named": ("get", {}, EVERYONE, 400),
    "account_sign_out_everywhere": ("post", {}, EVERYONE | {"norole"}, 302),
    # moving one's own account to the directory: here no single sign-on is set up, so it is
    # refused for everyone alike (the linking itself: tests/accounts/test_sso.py)
    "account_sso_link": ("post", {}, EVERYONE | {"norole"}, 403),
    "exports": ("get", {}, EVERYONE, 200),
    "export_new": ("get", {}, EVERYONE, 200),  # no filters: the records page as it opens
    # each person's own export (someone else's is a 404: test_exports); queued: no file yet
    "export_detail": ("get", {"pk": "own_export"}, EVERYONE, 200),
    "export_download": ("get", {"pk": "own_export"}, EVERYONE, 404),
    "record_detail": ("get", {"pk": "record"}, EVERYONE, 200),
    "stream_timeline": ("get", {"app": "live", "stream": "room-101"}, EVERYONE, 200),
    # The demo URL's host does not resolve offline (400, "not sent"); online it may answer.
    "test_send": ("post", {"name": TEAM_DOMAIN, "kind": "record"}, EDITORS, (200, 400)),
    "signature_check": ("get", {}, EVERYONE, 200),
    "incidents": ("get", {}, EVERYONE, 200),
    "incident_detail": ("get", {"pk": "incident"}, EVERYONE, 200),
    # allowed: an empty form is refused as such (400); the others never get that far
    "incident_action": ("post", {"pk": "incident"}, EDITORS, 400),
    "incident_note": ("post", {"pk": "incident"}, EDITORS, 400),
    "alerts": ("get", {}, EVERYONE, 200),
    "alert_new": ("get", {}, EDITORS | {"editor_other"}, 200),  # any editor, for their teams
    "alert_domain_mute": ("post", {}, EVERYONE, (302, 400)),  # the form says who may mute what
    "alert_detail": ("get", {"pk": "rule"}, EVERYONE, 200),
    "alert_edit": ("get", {"pk": "rule"}, EDITORS, 200),
    "alert_mute": ("post", {"pk": "rule"}, EDITORS, 302),  # empty: unmute
    "alert_test": ("post", {"pk": "rule"}, EDITORS, 302),
    "alert_delete": ("get", {"pk": "rule"}, EDITORS, 200),
    "redelivery_runs": ("get", {}, EVERYONE, 200),
    # no filters: everyone who gets that far is told to choose a domain first (400)
    "redelivery_new": ("get", {}, EVERYONE, 400),
    "redelivery_run": ("get", {"pk": "run"}, EVERYONE, 200),
    "redelivery_action": ("post", {"pk": "run"}, EDITORS, 302),
    "record_resend": ("post", {"pk": "record"}, EDITORS, 302),
    # configs as code: everyone exports; editors (any team) plan, for the domains they edit
    "configs": ("get", {}, EVERYONE, 200),
    "configs_export": ("get", {"fmt": "yaml"}, EVERYONE, 200),
    "configs_plan": ("post", {}, EDITORS | {"editor_other"}, 400),  # empty: told to paste one
    "configs_bulk": ("get", {}, EDITORS | {"editor_other"}, 200),
    # each person's own run (someone else's is refused: test_config_views)
    "config_run": ("get", {"pk": "own_config_run"}, EVERYONE, 200),
    "config_run_action": ("post", {"pk": "own_config_run"}, EDITORS | {"editor_other"}, 302),
    # one's own access tokens (someone else's is a 404: tests/api); the API's docs page
    "api_tokens": ("get", {}, EVERYONE | {"norole"}, 200),
    "api_token_revoke": ("post", {"token_id": "own_token"}, EVERYONE | {"norole"}, 302),
    "api_docs": ("get", {}, EVERYONE, 200),
}
# Routes that are public or belong to Django itself.
# Single sign-on's two steps are public (tests/accounts/test_sso.py).
NOT_COVERED = {"login", "logout", "set_language", "sso_login", "sso_callback"}


def _names(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace in ("admin", "api"):  # the admin; the API's bearer routes (tests/api)
                continue
            yield from _names(p.url_patterns)
        elif isinstance(p, URLPattern) and p.name:
            yield p.name


def _resolve(name: str, value, people, role):
    """Keyword arguments that name a thing made by the fixtures."""
    if name == "user_id":
        return people[value].pk
    if name == "run_id":  # not a fixed pk, which PostgreSQL's sequence would hand out again
        from dashboard.domains.models import SyncRun

        return SyncRun.objects.create(started_by=people["lead"]).pk
    if name == "token_id":
        from dashboard.api.tokens import token_create

        owner = people.get(role) or people["viewer"]
        return token_create(user=owner, name="t", days=7)[0].pk
    if name == "mapping_id":
        from dashboard.accounts.models import GroupMapping

        return GroupMapping.objects.get_or_create(group="live-support", role="Viewer")[0].pk
    if name == "pk" and value == "own_export":
        from dashboard.records.models import Export

        owner = people.get(role) or people["viewer"]
        return Export.objects.create(created_by=owner, query="window=90d").pk
    if name == "pk" and value == "own_config_run":
        from dashboard.configs.models import ConfigRun

        owner = people.get(role) or people["viewer"]
        return ConfigRun.objects.create(created_by=owner, created_by_name="x", state="planned").pk
    if name == "pk" and value == "record":
        from dashboard.archive.models import ArchivedRecord

        # a record of the domain editor_own edits (the resend route is per domain)
        return (
            ArchivedRecord.objects.filter(domain_name=TEAM_DOMAIN)
            .values_list("pk", flat=True)
            .first()
        )
    if name == "pk" and value == "run":
        from dashboard.domains.models import Domain
        from dashboard.redelivery.models import RedeliveryRun

        run = RedeliveryRun.objects.create(
            domain=Domain.objects.get(name=TEAM_DOMAIN),
            created_by_name="lead",
            max_record_id=0,
            rate_per_second=5,
            state="paused",
        )
        return run.pk
    if name == "pk" and value == "rule":
        from dashboard.alerts.models import AlertRule
        from dashboard.domains.models import Domain

        rule = AlertRule.objects.create(
            name="access",
            domain=Domain.objects.get(name=TEAM_DOMAIN),
            condition="silence",
            emails="ops@example.com",
        )
        return rule.pk
    if name == "pk" and value == "incident":
        from django.utils import timezone

        from dashboard.domains.models import Domain
        from dashboard.incidents.models import Incident

        now = timezone.now()
        incident = Incident.objects.create(
            domain=Domain.objects.get(name=TEAM_DOMAIN),
            receiver_host="access.example.com",
            failure_class="timeout",
            key="access-matrix",
            first_seen=now,
            last_seen=now,
        )
        return incident.pk
    return value


def test_every_route_has_an_expectation():
    missing = set(_names(get_resolver().url_patterns)) - EXPECTATIONS.keys() - NOT_COVERED
    assert not missing, f"add access expectations for: {sorted(missing)}"


@pytest.fixture
def people(synced):
    from dashboard.accounts.roles import EDITOR, LEAD, VIEWER

    return {
        "norole": make_user("nobody", None),
        "viewer": make_user("v", VIEWER),
        "editor_own": make_user("eo", EDITOR, teams=[synced["team"]]),
        "editor_other": make_user("ex", EDITOR, teams=[synced["other_team"]]),
        "lead": make_user("l", LEAD),
    }


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_access(client, people, name, role):
    method, kwargs, allowed, ok_status = EXPECTATIONS[name]
    kwargs = {k: _resolve(k, v, people, role) for k, v in kwargs.items()}
    url = reverse(name, kwargs=kwargs)
    if role != "anonymous":
        client.force_login(people[role])
    response = getattr(client, method)(url)
    if role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif role in allowed:
        expected = ok_status if isinstance(ok_status, tuple) else (ok_status,)
        assert response.status_code in expected, response.content[:300]
        if response.get("Content-Type", "").startswith("text/html"):
            assert duplicate_ids(response.content.decode()) == []
    else:
        assert response.status_code == 403
        if role == "norole":
            assert "You have no access yet" in response.content.decode()


def test_editor_sees_edit_controls_only_on_own_domains(client, people):
    client.force_login(people["editor_own"])
    own = client.get(reverse("domain_detail", kwargs={"name": TEAM_DOMAIN})).content.decode()
    other = client.get(reverse("domain_detail", kwargs={"name": OTHER_DOMAIN})).content.decode()
    assert "/record/edit/" in own and "Reveal (audited)" in own
    assert "/record/edit/" not in other and "Reveal" not in other
    assert (
        client.get(
            reverse("config_edit", kwargs={"name": OTHER_DOMAIN, "kind": "record"})
        ).status_code
        == 403
    )


def test_viewer_sees_no_edit_controls(client, people):
    client.force_login(people["viewer"])
    body = client.get(reverse("domain_detail", kwargs={"name": TEAM_DOMAIN})).content.decode()
    assert "/edit/" not in body and "/delete/" not in body and "Reveal" not in body


def test_csrf_is_enforced_on_state_changing_requests(people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(people["lead"])
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    assert (
        client.post(url, {"notify_url": "https://x.example.com", "version": 0}).status_code == 403
    )
    assert (
        client.post(
            url,
            {"notify_url": "https://x.example.com", "version": 0},
            headers={"HX-Request": "true"},
        ).status_code
        == 403
    )
    page = client.get(url)
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("domain_refresh", kwargs={"name": TEAM_DOMAIN}),
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 302


POSTED = sorted(name for name, (method, *_rest) in EXPECTATIONS.items() if method == "post")


@pytest.mark.parametrize("name", POSTED)
def test_opening_a_form_address_goes_to_the_page_of_its_form(client, people, name):
    """A refused form (or one sent without JavaScript) leaves its POST address in the address
    bar; Enter there, the history or a bookmark then GETs it. The user lands on the form's own
    page, not on Chromium's "This page isn't working" (an empty 405), and nothing is done."""
    from dashboard.audit.models import AuditEntry

    _method, kwargs, _allowed, _ok = EXPECTATIONS[name]
    kwargs = {k: _resolve(k, v, people, "lead") for k, v in kwargs.items()}
    url = reverse(name, kwargs=kwargs)
    client.force_login(people["lead"])
    audited = AuditEntry.objects.count()
    response = client.get(url, follow=True)
    assert response.redirect_chain, f"GET {url} answered {response.status_code}"
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] != url
    assert AuditEntry.objects.count() == audited
    refused = client.put(url)
    assert refused.status_code == 405 and b"form's submission" in refused.content
    assert "POST" in refused["Allow"]
