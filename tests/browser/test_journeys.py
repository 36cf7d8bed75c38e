"""End-to-end journeys in headless Chromium."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from dashboard.domains.models import Domain
from dashboard.sandbox.models import SandboxRecordConfig
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, TEAM_DOMAIN


def test_sign_in_wrong_then_right_password_and_sign_out(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support", "wrong-password")
    expect(page.locator("[role=alert]")).to_contain_text("correct username and password")
    sign_in(page, live_server, "support")
    expect(page.locator("h1")).to_have_text("Domains")
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert page.problems == []


@pytest.mark.parametrize(
    ("username", "role", "sees_audit"),
    [("lead", "Lead", True), ("support", "Viewer", False), ("editor", "Editor", False)],
)
def test_each_role_sees_its_navigation(watched, live_server, people, username, role, sees_audit):
    page = watched
    sign_in(page, live_server, username)
    nav = page.locator("header nav")
    expect(nav.get_by_role("link", name="Domains")).to_be_visible()
    expect(nav.get_by_role("link", name="Records")).to_be_visible()
    expect(page.locator(".badge.role")).to_have_text(role)
    assert nav.get_by_role("link", name="Audit").count() == (1 if sees_audit else 0)
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    edit = page.get_by_role("link", name="Edit", exact=True)
    assert edit.count() == (0 if username == "support" else 2)
    assert page.problems == []


def test_editor_updates_recording_callback_with_htmx(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    page.locator("#editor-record").get_by_role("link", name="Edit").click()
    url_field = page.locator("#id_notify_url")
    expect(url_field).to_be_visible()
    url_field.fill("http://127.1/cb")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_notify_url-error")).to_contain_text("loopback")
    expect(page.locator("#id_notify_url")).to_have_value("http://127.1/cb")  # input kept
    page.locator("#id_notify_url").fill("https://hooks.example-shop.com/live/v2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".msg.success")).to_contain_text("Saved.")
    expect(page.locator("#editor-record")).to_contain_text("https://hooks.example-shop.com/live/v2")
    expect(page.locator("table").last).to_contain_text("editor")
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url.endswith("/live/v2")
    assert page.problems == []


def lead_saves_meanwhile(browser, live_server, url: str) -> None:
    """Someone else saves the team domain's recording callback (a lead, in another browser)."""
    other = browser.new_context().new_page()
    sign_in(other, live_server, "lead")
    other.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    other.locator("#id_notify_url").fill(url)
    other.get_by_role("button", name="Save").click()
    expect(other.locator(".msg.success")).to_contain_text("Saved.")
    other.context.close()


def test_second_editor_with_stale_form_gets_conflict(watched, live_server, people, browser):
    first = watched
    sign_in(first, live_server, "editor")
    first.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    lead_saves_meanwhile(browser, live_server, "https://lead.example.com/cb")
    first.locator("#id_notify_url").fill("https://editor.example.com/cb")
    first.get_by_role("button", name="Save").click()
    conflict = first.locator(".conflict")
    expect(conflict).to_contain_text("This config was changed after you opened the form.")
    expect(conflict).to_contain_text("lead saved it at")
    expect(conflict).to_contain_text("https://lead.example.com/cb")
    expect(conflict).to_contain_text("https://editor.example.com/cb")
    expect(first.locator("#id_notify_url")).to_have_value("https://editor.example.com/cb")
    first.get_by_role("button", name="Save").click()  # knowingly, now
    expect(first.locator(".msg.success")).to_contain_text("Saved.")
    assert (
        Domain.objects.get(name=TEAM_DOMAIN).record_config.notify_url
        == "https://editor.example.com/cb"
    )


def test_back_from_a_held_config_save_then_save_again_loses_nothing(
    watched, live_server, people, browser
):
    """A held save, saved knowingly, then Back: the form comes back as the config is now (no
    old version in it), so a third value saves without a conflict; Forward shows the domain."""
    first = watched
    sign_in(first, live_server, "editor")
    first.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    lead_saves_meanwhile(browser, live_server, "https://lead.example.com/cb")
    first.locator("#id_notify_url").fill("https://editor.example.com/cb")
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".conflict")).to_contain_text("lead saved it at")
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".msg.success")).to_contain_text("Saved.")

    first.go_back()
    expect(first).to_have_url(re.compile(rf"/domains/{re.escape(TEAM_DOMAIN)}/record/edit/$"))
    expect(first.locator(".conflict")).to_have_count(0)
    first.locator("#id_notify_url").fill("https://editor.example.com/cb/v3")
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".msg.success")).to_contain_text("Saved.")
    config = Domain.objects.get(name=TEAM_DOMAIN).record_config
    assert config.notify_url == "https://editor.example.com/cb/v3"
    first.go_back()
    first.go_forward()
    expect(first).to_have_url(re.compile(rf"/domains/{re.escape(TEAM_DOMAIN)}/$"))
    assert not first.problems


def test_records_filter_page_reload_and_expand(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    expect(page.locator("table.records")).to_be_visible()
    page.select_option("#id_status", "failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("table.records .badge.good")).to_have_count(0)
    marker = page.evaluate("() => { window.__noReload = 1; return 1; }")
    assert marker == 1
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator(".pager")).to_contain_text("Page 2 of")
    assert page.evaluate("() => window.__noReload") == 1  # no full page load
    expect(page.locator("#results")).to_have_count(1)  # swapped, not nested
    url = page.url
    first_time = page.locator("table.records time").first.get_attribute("datetime")
    page.reload()
    assert page.url == url
    expect(page.locator(".pager")).to_contain_text("Page 2 of")
    assert page.locator("table.records time").first.get_attribute("datetime") == first_time
    page.locator("table.records details summary").first.click()
    expect(page.locator("table.records details[open] pre").first).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=failed(?!.*page=2)"))
    assert page.problems == []


def test_custom_window_asks_only_once_both_ends_are_set(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=24h")
    expect(page.locator("table.records")).to_be_visible()
    expect(page.locator("#id_start")).to_be_hidden()  # presets need no From/To
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/records/?" in r.url else None)
    page.select_option("#id_window", "custom")
    expect(page.locator("#id_start")).to_be_visible()
    expect(page.locator("#id_start")).to_be_focused()
    # Two hours ago to one hour ago, in the browser's own time zone.
    start, end = page.evaluate(
        """() => [2, 1].map(h => {
            const d = new Date(Date.now() - h * 3600e3);
            const p = n => String(n).padStart(2, "0");
            return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
                   `T${p(d.getHours())}:${p(d.getMinutes())}`;
        })"""
    )
    page.fill("#id_start", start)  # for date inputs fill() fires "change" too
    expect(page.locator("#id_end")).to_be_focused()
    assert asked == []  # a window without its end is not worth a call
    page.fill("#id_end", end)
    expect(page).to_have_url(re.compile(r"window=custom.*start="))
    expect(page.locator("#results")).to_contain_text("callback")
    expect(page.locator("#results [role=alert]")).to_have_count(0)
    assert len(asked) == 1
    # Back to a preset: the ends are cleared and hidden again.
    page.select_option("#id_window", "7d")
    expect(page).to_have_url(re.compile(r"window=7d"))
    expect(page.locator("#id_start")).to_be_hidden()
    assert "start=2" not in page.url
    assert page.problems == []


def test_editor_sends_a_test_callback_before_saving(watched, live_server, people, receiver):
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    page.locator("#id_notify_url").fill(receiver.url("/hook"))
    page.get_by_role("button", name="Send test callback (before saving)").click()
    result = page.locator("#test-result-record")
    expect(result).to_contain_text("HTTP 200")
    expect(result).to_contain_text("ALI-LIVE-SIGNATURE")
    assert receiver.received[0][0] == "/hook"
    # Nothing was saved by testing.
    assert not SandboxRecordConfig.objects.filter(notify_url__contains=receiver.host).exists()
    assert page.problems == []


def test_full_editing_journey_with_export_overview_and_audit(watched, live_server, people):
    """Create, update and delete a recording callback; a snapshot callback with a generated
    key, masked after saving; export records; the overview fills in; the audit log shows it all."""
    page = watched
    bare = "cdn.webinar-hub.com"
    sign_in(page, live_server, "lead")
    # Create a recording callback.
    page.goto(f"{live_server.url}/domains/{bare}/")
    page.locator("#editor-record").get_by_role("link", name="Set up").click()
    page.locator("#id_notify_url").fill("https://hooks.webinar-hub.com/live/record")
    page.get_by_label("Send status notifications").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#editor-record")).to_contain_text(
        "https://hooks.webinar-hub.com/live/record"
    )
    # Update it.
    page.locator("#editor-record").get_by_role("link", name="Edit").click()
    page.locator("#id_notify_url").fill("https://hooks.webinar-hub.com/live/record-v2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#editor-record")).to_contain_text("record-v2")
    # Snapshot callback with a generated key: shown once, then masked.
    page.locator("#editor-snapshot").get_by_role("link", name="Set up").click()
    page.locator("#id_notify_url").fill("https://hooks.webinar-hub.com/live/snapshot")
    page.get_by_role("link", name="Generate key").click()
    key_field = page.locator("#id_notify_auth_key")
    expect(key_field).to_have_value(re.compile(r"^[A-Za-z0-9]{32}$"))
    key = key_field.input_value()
    page.locator("#id_notify_url").fill("https://hooks.webinar-hub.com/live/snapshot")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#new-key")).to_have_text(key)  # once, above the whole fresh page
    expect(page.locator("#editor-snapshot")).to_contain_text("••••")
    assert page.locator("#editor-snapshot").inner_text().count(key) == 0
    page.reload()
    expect(page.locator("#editor-snapshot")).to_contain_text("••••")
    assert key not in page.content()
    # Delete the recording callback, with its confirmation step.
    page.locator("#editor-record").get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_contain_text("Delete the recording callback?")
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".msg.success")).to_contain_text("Deleted.")
    expect(page.locator("#editor-record")).to_contain_text("Not configured")
    # Export the records of a busy domain.
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=24h&status=failed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == f"records-{TEAM_DOMAIN}.csv"
    # The failure overview fills in row by row.
    page.goto(f"{live_server.url}/records/overview/")
    expect(page.locator("#overview tbody")).not_to_contain_text("Loading", timeout=15000)
    expect(page.locator("#overview tbody tr", has_text=TEAM_DOMAIN)).to_contain_text("%")
    # The audit log shows the changes this journey made.
    page.goto(f"{live_server.url}/audit/?domain={bare}")
    table = page.locator("#results table")
    for text in [
        "Recording callback · Add",
        "Recording callback · Update",
        "Recording callback · Delete",
        "Snapshot callback · Add",
    ]:
        expect(table).to_contain_text(text)
    assert key not in page.content()
    assert page.problems == []


def test_a_double_clicked_save_makes_one_rule_and_a_refused_form_can_be_sent_again(
    watched, live_server, people
):
    """A double-clicked Save sent the form twice: two identical alert rules, two messages for
    every alert. The form is sent once; the page that answers (here a refusal first) sends
    again."""
    from dashboard.alerts.models import AlertRule

    page = watched
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/alerts/new/?domain={TEAM_DOMAIN}")
    page.fill("#id_name", "Shop receiver silent")
    page.select_option("#id_condition", "silence")
    page.fill("#id_emails", "not an address")
    page.locator("main form button[type=submit]").first.dblclick()
    expect(page.locator("main")).to_contain_text("not an address is not an email address")
    page.fill("#id_emails", "ops@example.com")
    # the server is slow to answer: the sends are held until both clicks are made
    held = []
    page.route(
        re.compile(r"/alerts/new/"),
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    # a person's double click: the second 200 ms after the first, whose send is on its way
    page.evaluate(
        """() => {
            const save = document.querySelector("main form button[type=submit]");
            save.click();
            setTimeout(() => save.click(), 200);
        }"""
    )
    page.wait_for_timeout(600)
    assert len(held) == 1  # without the guard, the second click sent the form again
    held[0].continue_()
    expect(page).to_have_url(re.compile(r"/alerts/\d+/$"))
    assert list(AlertRule.objects.values_list("name", flat=True)) == ["Shop receiver silent"]
    assert not page.problems


def shop_rule():
    """An alert rule on the team's domain: over 20% failed in 15 minutes, by email."""
    from dashboard.alerts.models import AlertRule

    return AlertRule.objects.create(
        name="Shop failures",
        scope=AlertRule.Scope.DOMAIN,
        domain=Domain.objects.get(name=TEAM_DOMAIN),
        condition=AlertRule.Condition.FAILURE_RATE,
        threshold_percent=20,
        emails="ops@example.com",
    )


def test_two_people_changing_one_alert_rule_lose_nothing(watched, live_server, people, browser):
    """The editor and a lead change one rule in two browsers; the lead saves first. The editor's
    Save is held: the page says who saved, shows the fields where the two differ and keeps the
    editor's values; Save again puts them in place."""
    rule = shop_rule()
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/alerts/{rule.pk}/edit/")
    other = browser.new_context(timezone_id="Asia/Shanghai").new_page()
    sign_in(other, live_server, "lead")
    other.goto(f"{live_server.url}/alerts/{rule.pk}/edit/")
    other.fill("#id_threshold_percent", "35")
    other.locator("main form button[type=submit]").click()
    expect(other.locator(".msg.success")).to_contain_text("Alert rule saved.")

    page.fill("#id_window_minutes", "30")
    page.fill("#id_emails", "ops@example.com\noncall@example.com")
    page.locator("main form button[type=submit]").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_contain_text("This rule was saved after this form was opened")
    expect(conflict).to_contain_text("lead saved it at")
    rows = conflict.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Failure rate above (%)2035")
    expect(page.locator("#id_window_minutes")).to_have_value("30")
    if os.environ.get("SCREENSHOTS_TO"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS_TO"], "rule-conflict.png"))
    rule.refresh_from_db()
    assert (rule.threshold_percent, rule.window_minutes) == (35, 15)

    page.locator("main form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text("Alert rule saved.")
    rule.refresh_from_db()
    assert (rule.threshold_percent, rule.window_minutes) == (20, 30)
    assert rule.email_list == ["ops@example.com", "oncall@example.com"]
    assert not page.problems


def test_back_to_a_sent_rule_form_and_save_again(watched, live_server, people):
    """Save, then Back to the form: it comes back with what was typed, and its Save sends again
    (the double-submit guard lets go when the page is shown again); the rule takes the second
    value with no conflict, since the page came back as the rule is now."""
    rule = shop_rule()
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/alerts/{rule.pk}/edit/")
    page.fill("#id_threshold_percent", "30")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text("Alert rule saved.")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/alerts/{rule.pk}/edit/$"))
    expect(page.locator("#id_threshold_percent")).to_have_value("30")
    page.fill("#id_threshold_percent", "40")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text("Alert rule saved.")
    expect(page.locator("main")).to_contain_text("over 40% failed in 15 min")
    rule.refresh_from_db()
    assert rule.threshold_percent == 40 and rule.version == 2
    assert not page.problems


def sign_in_again(page, username: str) -> None:
    """On the sign-in page a form sent after the session ended led to: sign in there."""
    here = page.locator("main form")
    here.locator("#id_username").fill(username)
    here.locator("#id_password").fill(PASSWORD)
    here.locator("button[type=submit]").click()


def test_a_form_sent_after_the_session_ended_is_put_back_after_signing_in(
    watched, live_server, people
):
    """An editor types a new callback URL, leaves for longer than the idle timeout, comes back
    and clicks Save: the answer is the sign-in page, and the URL typed was gone. Now the
    sign-in page says it is kept, and after signing in the form has it back, marked, to send."""
    from dashboard.accounts.models import UserSession
    from dashboard.sandbox.models import SandboxRecordConfig

    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    page.locator("#id_notify_url").fill("https://editor.example.com/after-lunch")
    page.locator("#id_notify_auth_key").fill("Typed1n5ecretKey0")
    UserSession.objects.all().delete()  # 30 minutes idle
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("#kept-note")).to_be_visible()
    expect(page.locator("#kept-note")).to_contain_text("what you typed is put back")
    kept = page.evaluate("JSON.stringify(sessionStorage)")
    assert "after-lunch" in kept and "Typed1n5ecretKey0" not in kept
    sign_in_again(page, "editor")
    expect(page).to_have_url(re.compile(rf"/domains/{re.escape(TEAM_DOMAIN)}/record/edit/$"))
    expect(page.locator("#id_notify_url")).to_have_value("https://editor.example.com/after-lunch")
    expect(page.locator("main form .restored")).to_contain_text("Nothing of it is saved yet")
    expect(page.locator("#id_notify_auth_key")).to_have_value("")  # keys are not kept
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url.endswith("/record")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".msg.success")).to_contain_text("Saved.")
    saved = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
    assert saved == "https://editor.example.com/after-lunch"
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/record/edit/")
    expect(page.locator(".restored")).to_have_count(0)  # put back once, then forgotten
    assert not page.problems


def test_an_edit_saved_after_signing_in_again_in_another_tab_is_saved(watched, live_server, people):
    """An editor's edit open on a domain's page; the session ends and they sign in again in
    another tab (a new CSRF token); back in the first tab, Save: Django's CSRF page was swapped
    into the form, and what was typed was gone. Now the form takes the new token as it goes."""
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    page.locator("#editor-record").get_by_role("link", name="Edit").click()
    page.locator("#id_notify_url").fill("https://editor.example.com/two-tabs")
    other = page.context.new_page()
    other.goto(f"{live_server.url}/domains/")
    other.locator("form[action='/accounts/logout/'] button").click()
    expect(other).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(other, live_server, "editor")
    expect(other.locator("body")).to_have_attribute("data-signed-in", re.compile(".*"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".msg.success")).to_contain_text("Saved.")
    saved = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
    assert saved == "https://editor.example.com/two-tabs"
    assert not page.problems


def test_a_form_refused_for_its_token_keeps_what_was_typed(watched, live_server, people):
    """Cookies cleared (or blocked) while a form is open: Save was refused by the CSRF check
    with Django's page in place of the form. Now the form stays, says why, and the next Save
    goes on — here to the sign-in page (the session went with the cookies), after which the
    form opens again on the domain's page with what was typed, to send."""
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    page.locator("#editor-record").get_by_role("link", name="Edit").click()
    page.locator("#id_notify_url").fill("https://editor.example.com/no-cookies")
    page.context.clear_cookies()
    page.get_by_role("button", name="Save").click()
    refused = page.locator("#editor-record form .refused")
    expect(refused).to_contain_text("Nothing was saved: this page's security token")
    expect(page.locator("#id_notify_url")).to_have_value("https://editor.example.com/no-cookies")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("#kept-note")).to_be_visible()
    sign_in_again(page, "editor")
    expect(page).to_have_url(re.compile(rf"/domains/{re.escape(TEAM_DOMAIN)}/$"))
    expect(page.locator("#id_notify_url")).to_have_value("https://editor.example.com/no-cookies")
    expect(page.locator("#editor-record form .restored")).to_contain_text("Nothing of it is saved")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".msg.success")).to_contain_text("Saved.")
    saved = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
    assert saved == "https://editor.example.com/no-cookies"
    # the one refusal, logged by Chromium as any 403 is
    assert [p for p in page.problems if "status of 403" not in p] == []


def test_a_page_form_refused_for_its_token_is_put_back_on_its_page(watched, live_server, people):
    """A whole page's form (a new alert rule) refused by the CSRF check: a page in the layout
    says nothing was sent and that what was typed is kept; back on the form, it is put back."""
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/alerts/new/")
    page.fill("#id_name", "Shop receiver down")
    page.evaluate(
        "document.querySelector('input[name=csrfmiddlewaretoken]').value = 'x'.repeat(64)"
    )
    page.evaluate("document.cookie = 'csrftoken=; Max-Age=0; path=/'")  # so the page's stays
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Not sent")
    expect(page.locator("#kept-note")).to_be_visible()
    page.get_by_role("link", name="Back to the form").click()
    expect(page).to_have_url(re.compile(r"/alerts/new/$"))
    expect(page.locator("#id_name")).to_have_value("Shop receiver down")
    expect(page.locator("main form .restored")).to_contain_text("before it was refused")
    assert [p for p in page.problems if "status of 403" not in p] == []


def test_an_alert_rule_put_back_after_signing_in_shows_its_choices_fields(
    watched, live_server, people
):
    """The alert rule editor's fields follow its choices also when the form is put back after
    a sign-in (the values come back after the page is read): "Consecutive failures" with the
    count typed, not the failure rate's fields."""
    from dashboard.accounts.models import UserSession

    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/alerts/new/")
    page.fill("#id_name", "Shop receiver down")
    page.select_option("#id_condition", "consecutive")
    page.fill("#id_consecutive", "7")
    UserSession.objects.all().delete()  # 30 minutes idle
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    sign_in_again(page, "editor")
    expect(page).to_have_url(re.compile(r"/alerts/new/$"))
    expect(page.locator("main form .restored")).to_be_visible()
    expect(page.locator("#id_condition")).to_have_value("consecutive")
    expect(page.locator("#id_consecutive")).to_be_visible()
    expect(page.locator("#id_consecutive")).to_have_value("7")
    expect(page.locator("#id_threshold_percent")).to_be_hidden()
    assert not page.problems


def test_reloading_the_page_that_shows_a_new_token_makes_no_second_one(
    watched, live_server, people
):
    """Make a token, then reload the page that shows its secret (Chromium sends the form
    again): one token, the page says which was made and shows no secret; Back shows the list
    with it."""
    from dashboard.api.models import AccessToken

    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("#id_name", "nightly report")
    page.get_by_role("button", name="Make a token").click()
    expect(page.locator("#token-secret")).to_contain_text("lcd_")
    made = AccessToken.objects.get()
    page.reload()
    expect(page.locator("#made-already")).to_contain_text(
        f"“nightly report” ({made.prefix}…) was made at"
    )
    expect(page.locator("#token-secret")).to_have_count(0)
    page.go_back()  # the tokens page as first opened: asked again, it lists the one token
    expect(page.locator("#token-list")).to_contain_text("nightly report")
    expect(page.locator("#token-secret")).to_have_count(0)
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [made.pk]
    assert not page.problems
