"""Back, Forward and reload after htmx filtering and paging; exports that match the screen;
the user's time zone; refusals that say why; sessions that expire mid-page; the archive search."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from dashboard.accounts.models import UserSession
from dashboard.archive.models import ArchivedRecord
from tests.browser.conftest import sign_in
from tests.conftest import OTHER_DOMAIN, TEAM_DOMAIN


def whole_page(page) -> None:
    """The full layout is there: header, navigation, filters, results — not a bare fragment."""
    expect(page.locator("header.topbar nav")).to_be_visible()
    expect(page.locator("form.filters")).to_be_visible()
    expect(page.locator("#results")).to_have_count(1)


def read_csv(download) -> list[list[str]]:
    with open(download.path(), encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("path", "change", "expect_in_url"),
    [
        ("/records/?window=7d&size=20", ("#id_status", "failed"), "status=failed"),
        ("/audit/", ("#id_action", "drift"), "action=drift"),
        ("/domains/", ("#id_status", "online"), "status=online"),
    ],
)
def test_back_forward_and_reload_always_show_the_whole_page(
    watched, live_server, people, path, change, expect_in_url
):
    page = watched
    sign_in(page, live_server, "lead")
    if path.startswith("/audit/"):
        _make_audit_history(page, live_server)
    page.goto(live_server.url + path)
    whole_page(page)
    first_url = page.url
    first_text = page.locator("#results").inner_text().splitlines()[0]
    page.select_option(*change)  # filter by htmx
    expect(page).to_have_url(re.compile(expect_in_url))
    filtered_url = page.url
    filtered_text = page.locator("#results").inner_text()
    page.go_back()
    expect(page).to_have_url(first_url)
    expect(page.locator("#results")).to_contain_text(first_text)  # restored, not stale
    whole_page(page)
    page.go_forward()
    expect(page).to_have_url(filtered_url)
    whole_page(page)
    expect(page.locator("#results")).to_contain_text(filtered_text.splitlines()[0])
    page.reload()
    whole_page(page)
    expect(page.locator(change[0])).to_have_value(change[1])
    assert page.problems == []


def _make_audit_history(page, live_server) -> None:
    """A few audit entries of different kinds, so filtering the log changes what it shows."""
    from dashboard.audit.models import AuditEntry

    for action in ["update", "drift", "reveal"]:
        AuditEntry.objects.create(
            domain_name=TEAM_DOMAIN, kind="record", action=action, outcome="success"
        )


def test_paging_then_back_and_forward_on_records(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator(".pager")).to_contain_text("Page 2 of")
    page.go_back()
    whole_page(page)
    expect(page.locator(".pager")).to_contain_text("Page 1 of")
    page.go_forward()
    whole_page(page)
    expect(page.locator(".pager")).to_contain_text("Page 2 of")
    assert page.problems == []


def test_the_records_export_carries_exactly_the_filters_on_screen(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?stream=studio&status=failed&window=7d&size=500")
    page.fill("#id_stream", "flash-sale")  # changed by htmx, no reload
    expect(page).to_have_url(re.compile(r"stream=flash-sale"))
    page.select_option("#id_status", "")
    expect(page).not_to_have_url(re.compile(r"status=failed"))
    expect(page.locator("table.records tbody.record").first).to_contain_text("flash-sale")
    shown = page.locator("table.records tbody.record").count()
    with page.expect_download() as download:
        page.locator("#export").click()
    rows = read_csv(download.value)
    header, data = rows[0], rows[1:]
    assert len(data) == shown  # size=500 shows them all
    assert {r[header.index("stream")] for r in data} == {"flash-sale"}
    assert {r[header.index("result")] for r in data} == {"success", "failed"}
    assert page.problems == []


def test_an_export_clicked_just_after_typing_a_filter_takes_that_filter(
    watched, live_server, people
):
    """Type a stream's name, click Export CSV at once (before the results have asked for the
    name): the file was every stream's, while the box said "flash-sale"."""
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?window=7d&size=500")
    expect(page.locator("table.records tbody.record").first).to_be_visible()
    page.fill("#id_stream", "flash-sale")
    with page.expect_download() as download:
        page.locator("#export").click()  # within the 400 ms the typing waits
    rows = read_csv(download.value)
    header, data = rows[0], rows[1:]
    assert data and {r[header.index("stream")] for r in data} == {"flash-sale"}
    expect(page).to_have_url(re.compile(r"stream=flash-sale"))  # the screen follows
    # the same for the counts' links: "failed" of the name just typed, and the name kept
    page.fill("#id_stream", "studio")
    page.locator("#counts a.badge.bad").click()
    expect(page).to_have_url(
        re.compile(r"stream=studio.*status=failed|status=failed.*stream=studio")
    )
    expect(page.locator("#id_stream")).to_have_value("studio")
    assert page.problems == []


def test_the_audit_export_carries_the_filters_on_screen(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "lead")
    _make_audit_history(page, live_server)
    page.goto(f"{live_server.url}/audit/")
    page.select_option("#id_action", "drift")
    expect(page).to_have_url(re.compile(r"action=drift"))
    with page.expect_download() as download:
        page.locator("#export").click()
    rows = read_csv(download.value)
    assert len(rows) == 2 and rows[1][rows[0].index("action")] == "drift"
    assert page.problems == []


def test_paging_the_audit_log_while_a_team_edits_shows_each_entry_once(
    watched, live_server, people
):
    """A lead pages back through the log's drift entries while more are written: page 2 goes
    on from page 1's last row (it showed again the rows the new ones had pushed down), and
    Back, Forward and reload keep the pages; a new filter reads the log as it is now."""
    from dashboard.audit.models import AuditEntry

    def write(n: int) -> None:
        for _ in range(n):
            AuditEntry.objects.create(
                domain_name=TEAM_DOMAIN, kind="record", action="drift", outcome="success"
            )

    page = watched
    sign_in(page, live_server, "lead")
    _make_audit_history(page, live_server)
    write(59)  # with the history's one: 60, two pages
    page.goto(f"{live_server.url}/audit/")
    page.select_option("#id_action", "drift")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2")
    rows = page.locator("#results tbody tr")
    first = [rows.nth(i).get_attribute("id") for i in range(rows.count())]
    write(5)
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"(?=.*[?&]page=2)(?=.*[?&]as_of=\d+)"))
    expect(page.locator("#as-of")).to_contain_text("read as the log was")
    second = [rows.nth(i).get_attribute("id") for i in range(rows.count())]
    assert len(first) == 50 and len(second) == 10 and not set(first) & set(second)
    page.reload()
    expect(page.locator("#as-of")).to_be_visible()
    assert [rows.nth(i).get_attribute("id") for i in range(rows.count())] == second
    page.go_back()
    expect(page.locator(".pager")).to_contain_text("Page 1 of")
    page.go_forward()
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")
    page.select_option("#id_action", "update")  # a new filter: the log as it is now
    expect(page.locator("#results")).to_contain_text("1 entry")
    expect(page.locator("#as-of")).to_have_count(0)
    assert page.problems == []


def test_times_are_in_the_browsers_zone_and_say_so(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=24h")
    expect(page.locator("footer.tzfoot")).to_contain_text("Asia/Shanghai (UTC+08:00)")
    first = page.locator("table.records time").first
    utc = first.get_attribute("title").removesuffix(" UTC")
    import datetime as dt

    moment = dt.datetime.strptime(utc, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    shanghai = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
    expect(first).to_have_text(shanghai.strftime("%Y-%m-%d %H:%M:%S"))
    assert page.problems == []


def test_refusals_are_pages_that_say_why_and_forms_keep_their_input(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "editor")
    response = page.goto(f"{live_server.url}/domains/{OTHER_DOMAIN}/record/edit/")
    assert response.status == 403
    expect(page.locator("header.topbar nav")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        f"{OTHER_DOMAIN} belongs to team Sports, and you are not in it."
    )
    page.goto(f"{live_server.url}/domains/{OTHER_DOMAIN}/")
    expect(page.locator("#why-readonly")).to_contain_text("belongs to team Sports")
    # The signature checker keeps what was typed, and says why the key may not be used.
    page.goto(f"{live_server.url}/tools/signature/")
    page.fill("#id_url", "https://callbacks.sportsnow.tv/record")
    page.fill("#id_timestamp", "1700000000")
    page.fill("#id_signature", "a" * 32)
    page.fill("#id_domain", OTHER_DOMAIN)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("main")).to_contain_text("You may not use this domain's key")
    expect(page.locator("#id_url")).to_have_value("https://callbacks.sportsnow.tv/record")
    expect(page.locator("#id_timestamp")).to_have_value("1700000000")


def test_generating_a_key_keeps_the_url_being_typed(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/snapshot/edit/")
    page.fill("#id_notify_url", "https://hooks.example-shop.com/live/snapshot-v2")
    page.get_by_role("link", name="Generate key").click()
    expect(page.locator("#id_notify_auth_key")).to_have_value(re.compile(r"^[A-Za-z0-9]{32}$"))
    expect(page.locator("#id_notify_url")).to_have_value(
        "https://hooks.example-shop.com/live/snapshot-v2"
    )
    assert page.problems == []


def test_a_session_that_expired_sends_the_browser_to_sign_in(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?window=24h")
    UserSession.objects.all().delete()  # signed out elsewhere, or expired
    page.select_option("#id_status", "failed")  # an htmx request now
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("#results")).to_have_count(0)  # not swapped into the old page
    sign_in(page, live_server, "support")


def test_support_finds_a_stream_in_any_domain_opens_it_and_comes_back(watched, live_server, people):
    """ "Did stream X's callback arrive?": one search box, no domain chosen."""
    page = watched
    sign_in(page, live_server, "support")
    page.get_by_role("link", name="Records").click()
    page.fill("#id_stream", "MATCH-04")  # part of the name, another case
    page.select_option("#id_window", "7d")
    expect(page).to_have_url(re.compile(r"stream=MATCH-04"))
    rows = page.locator("table.records tbody.record")
    expect(rows.first).to_contain_text("match-04")
    domains = set(page.locator("table.records td[data-label=Domain]").all_inner_texts())
    expected = set(
        ArchivedRecord.objects.filter(stream_name__icontains="match-04")
        .values_list("domain_name", flat=True)
        .distinct()
    )
    assert domains <= expected and len(expected) >= 1
    listing = page.url
    rows.first.locator("time").click()  # the record's own page
    expect(page).to_have_url(re.compile(r"/records/\d+/$"))
    expect(page.locator("h1")).to_contain_text("match-04")
    permalink = page.url
    page.reload()
    expect(page).to_have_url(permalink)
    expect(page.locator("#config-then")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(listing)
    whole_page(page)
    expect(page.locator("#id_stream")).to_have_value("MATCH-04")
    assert page.problems == []
