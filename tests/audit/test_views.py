"""The audit log page: filters, htmx paging, CSV export, links to domains."""

import csv
import datetime as dt
import html
import io
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dashboard.api.models import AccessToken
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, LEAD, TEAM_DOMAIN, archive, make_user

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


# --- every entry renders (repro: a person added, a team's alert rule changed → 500) ---------

SUBJECTS = {
    "domain": lambda d: {"domain": d},
    "team rule": lambda d: {"domain_name": "team:Shop streaming"},
    "all domains": lambda d: {"domain_name": ""},
    "gone name": lambda d: {"domain_name": "gone.example.com"},
    "odd name": lambda d: {"domain_name": "not a domain/..\u202e"},
}
SHAPES = {
    "added": (None, {"notify_url": "https://a.example.com/cb", "auth_key_fingerprint": "ab12"}),
    "removed": ({"notify_url": "https://a.example.com/cb", "auth_key": "set"}, None),
    "changed": (
        {"notify_url": "https://a.example.com/cb", "auth_key_fingerprint": "ab12"},
        {"notify_url": "https://b.example.com/cb", "auth_key_fingerprint": "cd34"},
    ),
    "person added": (None, {"username": "newbie", "role": "Editor", "teams": ["Sports"]}),
    "nothing": (None, None),
    "not a dict": (["odd"], "text"),
    # codes said in words (an alert rule's, an incident's): values of another type than theirs
    "odd codes": (
        {"language": ["en"], "condition": {"x": 1}, "state": 3, "failure": None},
        {"language": {"zh": 1}, "condition": ["silence"], "state": ["open"], "outcome": 7},
    ),
}


@pytest.fixture
def every_entry(synced):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    made = 0
    for kind in AuditEntry.Kind.values:
        for action in AuditEntry.Action.values:
            for subject in SUBJECTS.values():
                for before, after in SHAPES.values():
                    AuditEntry.objects.create(
                        kind=kind,
                        action=action,
                        outcome="success",
                        before=before,
                        after=after,
                        **subject(domain),
                    )
                    made += 1
    return made


def test_every_kind_of_entry_renders_on_every_page(as_lead, every_entry):
    pages = -(-every_entry // 50)
    for number in range(1, pages + 1):
        response = as_lead.get(f"/audit/?page={number}")
        assert response.status_code == 200, number
    for kind in AuditEntry.Kind.values:
        for action in AuditEntry.Action.values:
            response = as_lead.get(f"/audit/?action={action}&domain=team", HTTP_HX_REQUEST="true")
            assert response.status_code == 200, (kind, action)
    csv_body = b"".join(as_lead.get("/audit/?format=csv").streaming_content)
    assert csv_body.count(b"\n") > every_entry


def test_a_person_added_and_a_team_rule_changed_show_in_the_log(as_lead, lead, synced):
    response = as_lead.post(
        "/people/add/",
        {"username": "newbie", "password": "a-long-pass-phrase-42", "role": "Editor"},
    )
    assert response.status_code == 302
    from dashboard.alerts.models import AlertRule
    from dashboard.alerts.services import rule_save

    rule = AlertRule(
        name="Team watch",
        scope=AlertRule.Scope.TEAM,
        team=synced["team"],
        condition=AlertRule.Condition.INCIDENT,
        emails="ops@example.com",
    )
    rule_save(rule=rule, actor=lead)
    rule.window_minutes = 30
    rule_save(rule=rule, actor=lead)
    page = as_lead.get("/audit/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "newbie" in body and "Team Shop streaming" in body
    assert "Window (minutes):" in body and ">15</span> → <span" in body


def test_what_changed_is_said_in_words_not_codes(client, lead, archived):
    """An alert rule's entry read "Watch: domain", "Condition: failure_rate", "language: en",
    "time_zone: UTC"; an incident's "State: open → acknowledged"; a redelivery run's filters
    "failure: http_5xx", "name: cam"."""
    from dashboard.alerts.models import AlertRule
    from dashboard.alerts.services import rule_save
    from dashboard.incidents.models import Incident

    rule = AlertRule(
        name="Shop watch",
        scope=AlertRule.Scope.DOMAIN,
        domain=Domain.objects.get(name=TEAM_DOMAIN),
        condition=AlertRule.Condition.FAILURE_RATE,
        emails="ops@example.com",
        language="zh-hans",
        time_zone="Asia/Shanghai",
    )
    rule_save(rule=rule, actor=lead)
    rule.condition = AlertRule.Condition.SILENCE
    rule_save(rule=rule, actor=lead)
    incident = Incident.objects.filter(state=Incident.State.OPEN).first()
    client.force_login(lead)
    answer = client.post(f"/incidents/{incident.pk}/action/", {"action": "acknowledge"})
    assert answer.status_code == 302
    # a redelivery run keeps its filters: "failure: http_5xx" before
    archive(Domain.objects.get(name=TEAM_DOMAIN), ("failed", timezone.now()), stream="audit-cam")
    query = f"domain={TEAM_DOMAIN}&status=failed&window=24h&failure=http_5xx&name=audit-cam"
    assert client.post(f"/redelivery/new/?{query}").status_code == 302
    body = html.unescape(re.sub(r"<[^>]+>", "", client.get("/audit/").content.decode()))
    assert "Watch: One domain" in body and "Messages in: Simplified Chinese" in body
    assert "Times in the zone: Asia/Shanghai" in body
    assert "Condition: Failure rate above a threshold → No callbacks at all (silence)" in body
    assert "State: Open → Acknowledged" in body
    assert "Failure: HTTP 5xx" in body and "App or stream: audit-cam" in body
    for code in ("failure_rate", "language:", "time_zone", "zh-hans", "acknowledged", "http_5xx"):
        assert code not in body
    client.cookies["django_language"] = "zh-hans"
    chinese = html.unescape(re.sub(r"<[^>]+>", "", client.get("/audit/").content.decode()))
    assert "简体中文" in chinese and "zh-hans" not in chinese


def test_an_entry_filter_is_shown_and_can_be_cleared(as_lead, entries):
    first = AuditEntry.objects.order_by("pk").first()
    page = as_lead.get(f"/audit/?entry={first.pk}")
    body = page.content.decode()
    assert f"Showing entry #{first.pk} only." in body
    assert "[invalid name]" not in body
    assert f'name="entry" value="{first.pk}"' in body  # a visible field, not a hidden one
    assert len(page.context["rows"]) == 1
    cleared = as_lead.get("/audit/?entry=")
    assert len(cleared.context["rows"]) == AuditEntry.objects.count()
    assert as_lead.get("/audit/?entry=3.5").status_code == 400


def test_a_token_made_reads_in_words_and_expires_in_the_readers_zone(client, lead, synced):
    """A token's entry named its fields as the code does ("may_change_configs") and gave its
    expiry in UTC, on a page whose times are the reader's."""
    client.force_login(lead)
    client.cookies["tz"] = "Asia%2FShanghai"
    assert client.post("/account/tokens/", {"name": "nightly", "days": "7"}).status_code == 200
    expires = timezone.localtime(
        AccessToken.objects.get(name="nightly").expires_at, ZoneInfo("Asia/Shanghai")
    )
    body = client.get("/audit/").content.decode()
    assert "Access token:</span>" in body and "Expires:</span>" in body
    assert "may_change_configs" not in body and "May change configs" not in body  # "no" is left out
    assert f'<span class="mono">{expires:%Y-%m-%d %H:%M}</span>' in body
    assert "+00:00" not in body


def test_an_actor_whose_name_hides_a_character_is_shown_with_it(client, synced):
    """An account made before such names were refused (`lead` and a zero-width space) read
    as `lead` in the log: whose change it was could not be told."""
    twin = make_user("lead\u200b", LEAD)
    client.force_login(twin)
    assert client.post("/account/tokens/", {"name": "nightly", "days": "7"}).status_code == 200
    body = client.get("/audit/").content.decode()
    actor = body.split('data-label="Actor">')[1].split("</td>")[0]
    assert actor.startswith('lead<span class="ctl" title="Invisible character: ZERO WIDTH SPACE"')


def test_paging_while_entries_are_written_shows_each_entry_once(as_lead, lead, synced):
    """A lead pages back through the log while a team edits: page 2 goes on from page 1's last
    row, not again from rows the new entries pushed down; the first page shows the newest."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)

    def write(n: int, tag: str) -> None:
        for i in range(n):
            AuditEntry.objects.create(
                domain=domain,
                domain_name=domain.name,
                actor=lead,
                actor_name=lead.username,
                kind="record",
                action="update",
                outcome="success",
                request_id=f"{tag}-{i:03}",
            )

    def shown(response) -> list[str]:
        return [row.request_id for row in response.context["page"].object_list]

    write(75, "OLD")
    first = as_lead.get("/audit/")
    body = first.content.decode()
    as_of = re.search(r'name="as_of" form="filters" value="(\d+)"', body)
    assert as_of and 'id="as-of"' not in body
    write(5, "NEW")  # an editor saves five times while page 1 is read
    second = as_lead.get("/audit/", {"page": 2, "as_of": as_of[1]})
    assert shown(first) + shown(second) == [f"OLD-{i:03}" for i in range(74, -1, -1)]
    body = second.content.decode()
    assert second.context["page"].paginator.count == 75 and 'id="as-of"' in body
    assert f'value="{as_of[1]}"' in body  # kept for page 3 onward
    assert f"as_of={as_of[1]}" in html.unescape(body)  # the links without JS too
    assert "as_of" not in re.search(r'id="export" href="([^"]*)"', body)[1]  # the CSV: all
    # the first page, and a page whose as_of is junk, read the log as it is now
    assert shown(as_lead.get("/audit/", {"page": 1, "as_of": as_of[1]}))[:5] == [
        f"NEW-{i:03}" for i in range(4, -1, -1)
    ]
    for junk in ("abc", "0", "-3", "9" * 40, "１２"):
        page = as_lead.get("/audit/", {"page": 2, "as_of": junk})
        assert page.status_code == 200 and shown(page)[0] == "OLD-029"


def test_an_upstream_refusal_with_an_overlong_code_and_request_id_is_shown_and_logged(
    client, editor, synced, receiver, settings
):
    """An upstream (or a proxy before it) answering a save with a Code and a RequestId longer
    than the log's columns: on PostgreSQL the log's insert failed — a 500 for the save, and
    no entry. The page shows them whole; the log keeps as much as its columns hold."""
    from dashboard.upstream import reset_client

    code, request_id = "Forbidden." + "Nested" * 40, "R" * 90
    receiver.status = 403
    receiver.body = json.dumps({"Code": code, "Message": "no", "RequestId": request_id}).encode()
    settings.LIVE_API_ENDPOINT = f"http://127.0.0.1:{receiver.port}"
    reset_client()
    try:
        client.force_login(editor)
        domain = Domain.objects.get(name=TEAM_DOMAIN)
        page = client.post(
            f"/domains/{TEAM_DOMAIN}/record/edit/",
            {
                "notify_url": "https://hooks.example-shop.com/v2",
                "version": domain.version("record"),
            },
        )
    finally:
        reset_client()
    body = page.content.decode()
    assert page.status_code in (400, 502) and code in body and request_id in body
    entry = AuditEntry.objects.filter(domain=domain, outcome="failed").latest("pk")
    assert code.startswith(entry.error_code) and len(entry.error_code) == 100
    assert request_id.startswith(entry.request_id) and len(entry.request_id) == 64
