"""/alerts/ as each role meets it: who may create, change, mute and test which rules; what the
form refuses, and that it changes nothing then; what is audited, and that no secret shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from dashboard.alerts.models import AlertRule, DomainMute
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from tests.alerts.conftest import make_rule
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, held_rows, hidden_value

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def form(**overrides):
    data = {
        "name": "Shop callbacks failing",
        "scope": "domain",
        "domain_name": TEAM_DOMAIN,
        "condition": "failure_rate",
        "threshold_percent": "20",
        "window_minutes": "15",
        "min_deliveries": "10",
        "consecutive": "5",
        "reminder_minutes": "60",
        "emails": "ops@example.com",
        "webhook_url": "https://hooks.example.com/alerts?token=s3cret-token",
        "webhook_format": "json",
        "enabled": "on",
    }
    data.update(overrides)
    return data


def alert_entries():
    return AuditEntry.objects.filter(kind=AuditEntry.Kind.ALERT).order_by("pk")


def test_an_editor_creates_a_rule_for_a_team_domain_and_it_is_audited(client, editor):
    client.force_login(editor)
    response = client.post("/alerts/new/", form())
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.domain.name == TEAM_DOMAIN and rule.created_by == editor
    assert rule.webhook_secret.startswith("whsec_")
    (entry,) = alert_entries()
    assert entry.action == "add" and entry.domain_name == TEAM_DOMAIN
    assert entry.after["webhook"] == "json → hooks.example.com"
    assert "s3cret" not in str(entry.after) and "whsec_" not in str(entry.after)
    page = client.get(response["Location"]).content.decode()
    assert rule.webhook_secret in page  # the editor needs it to verify
    assert "Send test alert" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"domain_name": OTHER_DOMAIN}, "domain_name", "only for your team's domains"),
        ({"domain_name": "nope.example.com"}, "domain_name", "no domain called nope"),
        ({"scope": "all"}, "scope", "Select a valid choice"),
        ({"threshold_percent": ""}, "threshold_percent", "Say above which failure rate"),
        ({"threshold_percent": "100"}, "threshold_percent", "from 1 to 99%"),
        ({"window_minutes": "4"}, "window_minutes", "from 5 to 1,440 minutes"),
        ({"consecutive": "1"}, "consecutive", "2 to 1,000 failures"),
        ({"reminder_minutes": "3"}, "reminder_minutes", "or 0 for never"),
        ({"emails": "ops@example.com\nnot-an-address"}, "emails", "not-an-address is not"),
        ({"emails": "not an address"}, "emails", "not an address is not"),
        (
            {"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc"},
            "webhook_format",
            "That is a DingTalk robot's address: choose “DingTalk robot”.",
        ),
        (
            {"webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c"},
            "webhook_format",
            "That is a Feishu / Lark robot's address: choose “Feishu / Lark robot”.",
        ),
        (
            {"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b"},
            "webhook_format",
            "That is a WeCom robot's address: choose “WeCom robot”.",
        ),
        ({"emails": "ops@example.com extra"}, "emails", "ops@example.com extra is not"),
        ({"emails": "", "webhook_url": ""}, None, "at least one channel"),
        ({"webhook_url": "http://127.0.0.1:8000/x"}, "webhook_url", "Unsafe"),
        ({"webhook_url": "http://[::ffff:169.254.169.254]/"}, "webhook_url", "Unsafe"),
        ({"webhook_url": "http://metadata.google.internal/"}, "webhook_url", "Unsafe"),
        ({"min_deliveries": "99999999999999999999"}, "min_deliveries", "1 to 1,000,000"),
        (
            {"condition": "missing"},
            "condition",
            "checked on ingest domains only: live.example-shop.com is not one. Its pushes come "
            "in through push.example-shop.com: watch that.",
        ),
    ],
)
def test_bad_rules_are_refused_beside_the_field_and_change_nothing(
    client, editor, overrides, field, message
):
    client.force_login(editor)
    response = client.post("/alerts/new/", form(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    text = " ".join(str(e) for e in (errors.get(field) if field else errors.get("__all__", [])))
    assert message in text, errors
    body = response.content.decode()
    assert "Please fix the fields marked below" in body
    assert 'value="Shop callbacks failing"' in body  # input kept
    assert not AlertRule.objects.exists() and not alert_entries().exists()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        # pasted from a mail program's To line
        ("Zhang San <zs@example.cn>; Li Si <ls@example.cn>", "zs@example.cn\nls@example.cn"),
        ('"Ops, Shanghai" <ops@example.cn>, a@example.com', "ops@example.cn\na@example.com"),
        # typed with a Chinese input method: its commas, full-width letters
        ("张三 <zs@example.cn>，李四 <ls@example.cn>", "zs@example.cn\nls@example.cn"),
        ("a@example.cn；b@example.cn、a@example.cn", "a@example.cn\nb@example.cn"),
        ("ｏｐｓ＠ｅｘａｍｐｌｅ．ｃｎ", "ops@example.cn"),
        (
            "a@example.com b@example.com\n\nc@example.com",
            "a@example.com\nb@example.com\nc@example.com",
        ),
    ],
)
def test_addresses_are_read_as_people_paste_them(client, editor, typed, kept):
    client.force_login(editor)
    response = client.post("/alerts/new/", form(emails=typed))
    assert response.status_code == 302, response.context["form"].errors
    assert AlertRule.objects.get().emails == kept


def test_a_pasted_line_that_is_no_address_is_named_as_typed(client, editor):
    client.force_login(editor)
    response = client.post("/alerts/new/", form(emails="Zhang San zs@example.cn"))
    assert response.status_code == 400
    assert response.context["form"].errors["emails"] == [
        "Zhang San zs@example.cn is not an email address."
    ]
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "Shop\r\nBcc: all@example.com",
        "Shop\nfailing",
        "Shop\x00",
        "Shop\u2028x",
        "Shop \u202egniliaf",  # a right-to-left override: the subject would read "Shop failing"
        "Shop \u2067x",  # a right-to-left isolate
    ],
)
def test_rule_names_are_one_line(client, editor, name):
    """A name becomes an email subject: a line break in it once stopped all alerting, and a
    bidirectional control turns the rest of the subject around where nothing can show it."""
    client.force_login(editor)
    response = client.post("/alerts/new/", form(name=name))
    assert response.status_code == 400
    errors = str(response.context["form"].errors["name"])
    assert "Use one line of text" in errors or "Null characters are not allowed" in errors
    assert not AlertRule.objects.exists()


def test_viewers_read_rules_without_secrets_and_cannot_change_them(client, viewer, editor):
    client.force_login(editor)
    client.post("/alerts/new/", form())
    rule = AlertRule.objects.get()
    client.force_login(viewer)
    listing = client.get("/alerts/").content.decode()
    assert "Shop callbacks failing" in listing and "New alert rule" not in listing
    assert "hooks.example.com" in listing and "s3cret-token" not in listing
    page = client.get(f"/alerts/{rule.pk}/").content.decode()
    assert rule.webhook_secret not in page and "s3cret-token" not in page
    assert "Send test alert" not in page
    for url, data in [
        ("/alerts/new/", form()),
        (f"/alerts/{rule.pk}/edit/", form(name="hijacked")),
        (f"/alerts/{rule.pk}/mute/", {"until": ""}),
        (f"/alerts/{rule.pk}/test/", {}),
        (f"/alerts/{rule.pk}/delete/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    rule.refresh_from_db()
    assert rule.name == "Shop callbacks failing" and len(alert_entries()) == 1


def test_editors_of_another_team_cannot_change_the_rule(client, editor, other_editor):
    client.force_login(editor)
    client.post("/alerts/new/", form())
    rule = AlertRule.objects.get()
    client.force_login(other_editor)
    assert client.get(f"/alerts/{rule.pk}/edit/").status_code == 403
    assert client.post(f"/alerts/{rule.pk}/delete/").status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_only_leads_watch_all_domains(client, lead, editor, synced):
    client.force_login(lead)
    response = client.post("/alerts/new/", form(scope="all", domain_name=""))
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.scope == "all" and rule.domain is None
    client.force_login(editor)
    assert client.get(f"/alerts/{rule.pk}/edit/").status_code == 403


def test_a_team_rule_needs_a_team_the_editor_is_in(client, editor, synced):
    client.force_login(editor)
    other = synced["other_team"].pk
    response = client.post("/alerts/new/", form(scope="team", team=str(other)))
    assert response.status_code == 400 and not AlertRule.objects.exists()
    response = client.post("/alerts/new/", form(scope="team", team=str(synced["team"].pk)))
    assert response.status_code == 302 and AlertRule.objects.get().team == synced["team"]


def test_changing_a_rule_keeps_its_secret_and_audits_before_and_after(client, editor):
    client.force_login(editor)
    client.post("/alerts/new/", form())
    rule = AlertRule.objects.get()
    secret = rule.webhook_secret
    response = client.post(f"/alerts/{rule.pk}/edit/", form(threshold_percent="35"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold_percent == 35 and rule.webhook_secret == secret
    update = alert_entries().last()
    assert update.action == "update"
    assert update.before["threshold_percent"] == 20 and update.after["threshold_percent"] == 35


def opened(client, path: str) -> str:
    """The version an edit page's form carries (as a browser would send it back)."""
    page = client.get(path).content.decode()
    return hidden_value(page, "version")


def a_rule_opened(client, editor) -> tuple[AlertRule, str, str]:
    """The editor makes a rule and opens its form: the rule, the form's address, its version."""
    client.force_login(editor)
    client.post("/alerts/new/", form())
    rule = AlertRule.objects.get()
    path = f"/alerts/{rule.pk}/edit/"
    return rule, path, opened(client, path)


def signed_in(user):
    """A second browser, signed in as `user`."""
    from django.test import Client

    browser = Client()
    browser.force_login(user)
    return browser


def test_two_people_editing_one_rule_lose_nothing(client, editor, lead):
    """The editor and a lead open one rule's form; the lead saves first. The editor's Save
    wrote the editor's whole form over the lead's change, unseen. Now it is held: the lead's
    save stays, the page says who saved what, the editor's values wait in the form, and the
    editor's second Save replaces the lead's knowingly."""
    rule, path, editor_version = a_rule_opened(client, editor)
    theirs = signed_in(lead)
    lead_version = opened(theirs, path)

    answer = theirs.post(path, form(threshold_percent="35", version=lead_version))
    assert answer.status_code == 302
    answer = client.post(path, form(window_minutes="30", version=editor_version))
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "This rule was saved after this form was opened" in page
    assert re.search(r"lead saved it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page)
    assert held_rows(page) == [
        ("Failure rate above (%)", "20", "35"),
        ("Window (minutes)", "30", "15"),
    ]
    assert 'name="window_minutes" value="30"' in page  # the editor's values wait in the form
    rule.refresh_from_db()
    assert (rule.threshold_percent, rule.window_minutes) == (35, 15)
    assert [e.actor_name for e in alert_entries()] == ["editor", "lead"]

    again = hidden_value(page, "version")
    answer = client.post(path, form(window_minutes="30", version=again))
    assert answer.status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold_percent, rule.window_minutes) == (20, 30)
    assert rule.changed_by == editor
    last = alert_entries().last()
    assert (last.actor_name, last.before["threshold_percent"]) == ("editor", 35)


def test_a_form_older_than_the_persons_own_save_says_it_was_theirs(client, editor):
    """Two tabs of one person: the second tab's Save is held like anyone's, and the page says
    the save it missed was the person's own."""
    rule, path, first = a_rule_opened(client, editor)
    second = opened(client, path)
    assert client.post(path, form(name="First tab", version=first)).status_code == 302
    answer = client.post(path, form(name="Second tab", version=second))
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "You saved it at" in page and "in another tab" in page and "editor saved" not in page
    rule.refresh_from_db()
    assert rule.name == "First tab"


def test_a_delete_page_older_than_a_save_deletes_nothing_and_shows_the_rule_as_it_is(
    client, editor, lead
):
    """The editor opens Delete on "Shop callbacks failing"; a lead then makes it another rule
    (all domains, 5%). Delete deleted the rule the editor never saw. Now nothing is deleted:
    the page shows the rule as it is now, and its Delete deletes that."""
    rule, _path, _version = a_rule_opened(client, editor)
    seen = opened(client, f"/alerts/{rule.pk}/delete/")
    changed = form(name="Every domain, 5%", threshold_percent="5", version=str(rule.version))
    assert signed_in(lead).post(f"/alerts/{rule.pk}/edit/", changed).status_code == 302

    answer = client.post(f"/alerts/{rule.pk}/delete/", {"version": seen})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "This rule was saved after this page was opened" in page and "lead saved it at" in page
    assert "Nothing was deleted" in page and "Every domain, 5%" in page and "over 5% failed" in page
    assert AlertRule.objects.filter(pk=rule.pk).exists()
    assert not alert_entries().filter(action="delete").exists()

    again = client.post(f"/alerts/{rule.pk}/delete/", {"version": hidden_value(page, "version")})
    assert again.status_code == 302 and not AlertRule.objects.exists()
    assert alert_entries().filter(action="delete").get().before["name"] == "Every domain, 5%"


@pytest.mark.parametrize("data", [{}, {"version": ""}, {"version": "x"}, {"version": "-1"}])
def test_a_delete_without_the_pages_version_is_refused_and_deletes_nothing(client, editor, data):
    rule, _path, _version = a_rule_opened(client, editor)
    answer = client.post(f"/alerts/{rule.pk}/delete/", data)
    assert answer.status_code == 400 and "reload the page and try again" in answer.content.decode()
    assert AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_deleted_while_its_form_is_open_loses_nothing_typed(client, editor, lead):
    """The editor changes a rule a lead deletes meanwhile: Save answered "There is no alert
    rule" and what was typed was gone. Now the form comes back with it, as a new rule's."""
    rule, path, version = a_rule_opened(client, editor)
    deleted = signed_in(lead).post(f"/alerts/{rule.pk}/delete/", {"version": rule.version})
    assert deleted.status_code == 302

    typed = form(name="Shop callbacks, tuned", threshold_percent="35", version=version)
    answer = client.post(path, typed)
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "This rule was deleted after this form was opened" in page
    assert 'action="/alerts/new/"' in page and 'value="Shop callbacks, tuned"' in page
    assert 'name="version"' not in page
    assert not AlertRule.objects.exists()

    assert client.post("/alerts/new/", typed).status_code == 302
    (made,) = AlertRule.objects.all()
    assert (made.name, made.threshold_percent) == ("Shop callbacks, tuned", 35)


@pytest.mark.parametrize("version", ["abc", "-1", "99999999999999999999999", "１"])
def test_a_version_that_is_none_is_held_and_shown_not_a_hidden_error(client, editor, version):
    rule, path, _seen = a_rule_opened(client, editor)
    answer = client.post(path, form(name="Other", version=version))
    assert answer.status_code == 409
    assert "This rule was saved after this form was opened" in answer.content.decode()
    rule.refresh_from_db()
    assert rule.name == "Shop callbacks failing"


def test_a_mute_while_the_form_is_open_is_neither_a_conflict_nor_undone(client, editor, lead):
    rule, path, version = a_rule_opened(client, editor)
    until = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert signed_in(lead).post(f"/alerts/{rule.pk}/mute/", {"until": until}).status_code == 302

    answer = client.post(path, form(name="Renamed", version=version))
    assert answer.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "Renamed" and rule.muted_until is not None


def test_mute_a_rule_until_a_time_and_bad_times_change_nothing(client, editor, archived):
    rule = make_rule(Domain.objects.get(name=TEAM_DOMAIN))
    client.force_login(editor)
    for value, message in [
        ("2001-01-01T00:00", "in the future"),
        ("2999-01-01T00:00", "at most 90 days"),
        ("tomorrow", "Enter a valid date/time"),
    ]:
        response = client.post(f"/alerts/{rule.pk}/mute/", {"until": value})
        assert response.status_code == 400 and message in response.content.decode()
    rule.refresh_from_db()
    assert rule.muted_until is None and not alert_entries().exists()
    until = timezone.localtime() + dt.timedelta(hours=3)
    client.post(f"/alerts/{rule.pk}/mute/", {"until": until.strftime("%Y-%m-%dT%H:%M")})
    rule.refresh_from_db()
    assert rule.is_muted() and alert_entries().get().action == "mute"
    client.post(f"/alerts/{rule.pk}/mute/", {"until": ""})
    rule.refresh_from_db()
    assert not rule.is_muted()


def test_mute_a_domain_for_maintenance(client, editor, archived):
    client.force_login(editor)
    until = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/alerts/mute-domain/", {"domain_name": OTHER_DOMAIN, "until": until})
    assert response.status_code == 400 and "Only editors of" in response.content.decode()
    response = client.post(
        "/alerts/mute-domain/",
        {"domain_name": TEAM_DOMAIN.upper(), "until": until, "reason": "moving receivers"},
    )
    assert response.status_code == 302
    mute = DomainMute.objects.get()
    assert mute.domain.name == TEAM_DOMAIN and mute.reason == "moving receivers"
    page = client.get("/alerts/").content.decode()
    assert "moving receivers" in page and "Unmute" in page
    client.post("/alerts/mute-domain/", {"domain_name": TEAM_DOMAIN, "until": ""})
    assert not DomainMute.objects.exists()
    assert [e.action for e in alert_entries()] == ["mute", "mute"]


def test_send_test_alert_reports_each_channel(client, editor, receiver, archived):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    rule = make_rule(domain, webhook_url=receiver.url("/hook"), webhook_secret="whsec_t")
    client.force_login(editor)
    response = client.post(f"/alerts/{rule.pk}/test/", follow=True)
    body = response.content.decode()
    assert "Test sent by Email." in body and "Test sent by Webhook." in body
    ((_path, headers, sent),) = receiver.received
    assert headers["X-Alert-Event"] == "test"
    payload = __import__("json").loads(sent)
    assert "no longer in the rule's scope" not in payload["numbers"].__repr__() + sent.decode()
    # the links point where the person who sent the test opened the dashboard
    assert all(url.startswith("http://testserver/") for url in payload["links"].values())
    receiver.status = 404
    body = client.post(f"/alerts/{rule.pk}/test/", follow=True).content.decode()
    assert "The test by Webhook failed: The receiver answered HTTP 404" in body
    # a test is tried once, not retried for the next forty minutes
    failed = rule.notifications.get(event="test", channel="webhook", status="failed")
    assert failed.attempts == 1
    history = client.get(f"/alerts/{rule.pk}/").content.decode()
    assert history.count("[TEST]") == 4


def test_unknown_rules_are_404(client, viewer, synced):
    client.force_login(viewer)
    assert client.get("/alerts/999999/").status_code == 404


def test_one_rule_deleted_at_once_from_several_processes_is_deleted_once(gunicorn, synced):
    """Four people press Delete on one rule at once, on four server processes: each had read
    the rule, waited for it, then deleted it again — four audit entries of one deletion. Now
    one deletes it; three are told someone had."""
    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    rule = make_rule(Domain.objects.get(name=TEAM_DOMAIN))
    sessions = [signed_in_session(gunicorn, make_user(f"lead{n}", LEAD)) for n in range(4)]

    def delete(session):
        answer = session.post(
            f"/alerts/{rule.pk}/delete/", data={"version": rule.version}, follow_redirects=True
        )
        return answer.status_code, "Someone had deleted this alert rule already" in answer.text

    sends = [lambda session=session: delete(session) for session in sessions]
    answers = sorted(sent_at_one_lock("alerts_alertrule", [rule.pk], *sends))
    for session in sessions:
        session.close()
    assert answers == [(200, False)] + [(200, True)] * 3, answers
    assert not AlertRule.objects.exists()
    assert alert_entries().filter(action="delete").count() == 1


def test_a_mute_of_a_rule_deleted_while_it_waits_is_told_not_a_500(gunicorn, synced):
    """A mute sent as someone deletes the rule: it waited for the row, found none and its save
    failed (a 500). Now it is told. (On SQLite writers take turns: before or after.)"""
    from django.db import connection

    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    rule = make_rule(Domain.objects.get(name=TEAM_DOMAIN))
    session = signed_in_session(gunicorn, make_user("boss", LEAD))
    until = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    deleted = "DELETE FROM alerts_alertrule WHERE id = %s"
    (answer,) = sent_at_one_lock(
        "alerts_alertrule",
        [rule.pk],
        lambda: session.post(f"/alerts/{rule.pk}/mute/", data={"until": until}),
        then=deleted,
        params=[rule.pk],
    )
    assert answer.status_code == 302
    if connection.vendor == "postgresql" or answer.headers["location"] == "/alerts/":
        assert answer.headers["location"] == "/alerts/"
        told = session.get("/alerts/").text
        assert "Someone had deleted this alert rule already: nothing changed." in told
    session.close()
    assert not AlertRule.objects.exists()


def test_a_new_rules_messages_are_in_its_makers_language_and_zone_unless_chosen(client, editor):
    """The form starts from the page's language and the browser's zone; another zone may be
    chosen from the tz database's names, and a name it does not know is refused, saying so."""
    client.force_login(editor)
    client.cookies["tz"] = "Asia%2FShanghai"
    page = client.get("/alerts/new/", headers={"Accept-Language": "zh-hans"})
    body = page.content.decode()
    assert re.search(r'<option value="zh-hans" selected>', body)
    assert 'name="time_zone" value="Asia/Shanghai"' in body
    assert '<option value="America/New_York">' in body  # the zones' list
    # and the threshold a new rule starts from (it was meant to be 10, and was empty)
    assert 'name="threshold_percent" value="10"' in body
    refused = client.post("/alerts/new/", form(language="zh-hans", time_zone="Asia/Beijing"))
    assert refused.status_code == 400
    assert "No time zone is called “Asia/Beijing”" in refused.content.decode()
    assert not AlertRule.objects.exists()
    made = client.post("/alerts/new/", form(language="zh-hans", time_zone="asia/SHANGHAI "))
    assert made.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.language, rule.time_zone) == ("zh-hans", "Asia/Shanghai")
    (entry,) = alert_entries()
    assert entry.after["language"] == "zh-hans" and entry.after["time_zone"] == "Asia/Shanghai"
    shown = client.get(f"/alerts/{rule.pk}/").content.decode()
    assert "Messages in Simplified Chinese, times in Asia/Shanghai." in shown
    # a form without the two fields (a script's, one of before them) keeps the rule's
    client.post(f"/alerts/{rule.pk}/edit/", form(name="Renamed", version=str(rule.version)))
    rule.refresh_from_db()
    assert rule.name == "Renamed" and (rule.language, rule.time_zone) == (
        "zh-hans",
        "Asia/Shanghai",
    )
