"""What support, leads and editors met on the pages (issue: "Support's answer in two steps,
ticket links that are always right, and the rough edges people hit"), as they meet it:
Chromium in Asia/Shanghai, English and Chinese, 1280 and 390 px wide."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.audit.models import AuditEntry
from tests.browser.conftest import choose, sign_in
from tests.conftest import OTHER_DOMAIN, PASSWORD, TEAM_DOMAIN, harvest_now


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # an htmx swap settles after its request


def screen(page) -> tuple[str, str, list[str]]:
    """What the records page shows: the pager's words, the stream field, the first rows."""
    pager = page.locator(".pager > span")
    pager = pager.first.inner_text() if pager.count() else ""
    streams = page.locator("table.records td[data-label='App / stream']").all_inner_texts()[:5]
    return pager, page.locator("#id_stream").input_value(), streams


@pytest.mark.parametrize("width", [1280, 390])
def test_typing_then_paging_at_once_leaves_the_url_equal_to_the_screen(
    watched, live_server, people, width
):
    page = watched
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?window=7d&size=20")
    expect(page.locator(".pager")).to_contain_text("Page 1 of")
    next_page = page.locator(".pager").get_by_role("link", name="Next ›")
    next_page.wait_for()
    page.locator("#id_stream").click()
    page.keyboard.type("o")  # streams with an "o": many pages of them too
    next_page.click()  # at once: before the typing's own request, raced by its blur
    both = re.compile(r"(?=.*[?&]stream=o(&|$))(?=.*[?&]page=2)")
    expect(page).to_have_url(both, timeout=15_000)
    settle(page)
    before = screen(page)
    assert before[0].startswith("Page 2 of") and before[1] == "o"
    assert before[2] and all("o" in s.split("/")[-1] for s in before[2]), before
    page.reload()
    settle(page)
    assert screen(page) == before  # a link copied into a ticket shows what the screen showed
    assert page.problems == []


def test_typing_then_opening_details_keeps_one_result(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?window=24h&stream=room")
    expect(page.locator("table.records")).to_be_visible()
    page.locator("#id_stream").fill("")
    page.locator("#id_stream").type("room-1")
    page.locator("table.records details summary").first.click()
    expect(page).to_have_url(re.compile(r"[?&]stream=room-1(&|$)"), timeout=15_000)
    settle(page)
    shown = screen(page)
    page.reload()
    settle(page)
    assert screen(page) == shown
    page.locator("table.records details summary").first.click()
    expect(page.locator("table.records details[open] pre").first).to_be_visible()
    assert page.problems == []


def test_support_answers_did_it_arrive_in_two_steps_from_any_page(watched, live_server, people):
    """Type part of a stream's name in the header, Enter; open a row: the receiver's answer."""
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/incidents/")  # any page
    page.locator("#header-search").fill("STUDIO")  # 1: type and Enter
    page.locator("#header-search").press("Enter")
    expect(page).to_have_url(re.compile(r"/records/\?name=STUDIO&window=24h"))
    rows = page.locator("table.records tbody.record")
    expect(rows.first).to_contain_text("studio")
    timing = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].serverTiming"
        ".filter(t => t.name === 'app').map(t => t.duration)"
    )
    assert timing and timing[0] <= 300, f"server time {timing} ms"
    failed = page.locator("table.records tbody.record:has(.badge.bad)")
    target = failed.first if failed.count() else rows.first
    target.locator("details summary").click()  # 2: open the row
    expect(target.locator("details[open] pre").nth(1)).to_be_visible()  # NotifyResponse
    record = target.get_attribute("data-record")
    # a domain's name goes to the domain; a record's number to the record
    page.locator("#header-search").fill(TEAM_DOMAIN.upper())
    page.locator("#header-search").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    page.locator("#header-search").fill(f"#{record}")
    page.locator("#header-search").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/records/{record}/")
    assert page.problems == []


def test_a_whole_chat_message_pasted_in_the_header_search_is_read_whole(
    watched, live_server, people
):
    """A customer's message pasted as it came: the box kept its first 253 characters (a
    domain's longest name), and the push URL at its end was cut off — a name search."""
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/incidents/")
    key = "1700000000-0-0-" + "0a1b2c3d" * 4
    message = (
        "您好，我们这边从昨天晚上开始一直收不到录制回调，" * 10
        + f"推流地址：rtmp://push.example-shop.com/sports/studio?auth_key={key}&order_id=42，"
        + "麻烦帮忙查一下，谢谢！"
    )
    assert len(message) > 300
    page.locator("#header-search").focus()
    page.keyboard.insert_text(message)  # a paste: the box's maxlength applies
    assert page.locator("#header-search").input_value() == message
    page.locator("#header-search").press("Enter")
    expect(page).to_have_url(
        re.compile(r"/records/streams/sports/studio/|app=sports&stream=studio")
    )
    assert page.problems == []


def test_a_players_url_says_whose_stream_it_is_after_back_forward_and_reload(
    watched, live_server, people
):
    """A transcoded rendition's player URL opens the pushed stream's timeline, saying why: the
    explanation was a one-time message, gone after a reload or Back then Forward (and from a
    link sent on to a colleague): the page then showed another name than the one searched."""
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/incidents/")
    page.locator("#header-search").fill(
        f"https://{TEAM_DOMAIN}/sports/studio_lhd.flv?auth_key=1-0-0-x"
    )
    page.locator("#header-search").press("Enter")
    expect(page).to_have_url(re.compile(r"/records/streams/sports/studio/\?.*played_as="))
    note = page.locator("#played-as")
    expect(note).to_contain_text("studio_lhd is a playback name of the stream studio")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/incidents/")
    page.go_forward()
    expect(note).to_contain_text("studio_lhd is a playback name")
    page.reload()
    expect(note).to_contain_text("studio_lhd is a playback name")
    page.select_option("#id_window", index=1)  # another window: still said
    page.locator("#timeline-window button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"window=.*played_as=studio_lhd|played_as=studio_lhd"))
    expect(note).to_contain_text("studio_lhd is a playback name")
    assert page.problems == []


def test_the_domain_search_is_no_dead_end_for_a_stream(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/domains/?q=studio")
    expect(page.locator("#results")).to_contain_text("No domains match")
    page.locator("#search-records a").click()
    expect(page.locator("table.records tbody.record").first).to_contain_text("studio")
    assert page.problems == []


def test_a_link_without_window_or_size_shows_what_the_table_shows(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/domains/{TEAM_DOMAIN}/")
    page.get_by_role("link", name="See this domain's callback records").click()
    expect(page.locator("#id_window")).to_have_value("24h")
    expect(page.locator("#id_size")).to_have_value("50")
    page.select_option("#id_status", "failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    assert "window=24h" in page.url and "size=50" in page.url  # the next change kept them
    # a custom window with only its start runs until now
    shanghai = dt.timezone(dt.timedelta(hours=8))  # the browser's zone
    start = timezone.localtime(timezone.now(), shanghai) - dt.timedelta(hours=3)
    page.goto(
        f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=custom"
        f"&start={start:%Y-%m-%dT%H:%M}"
    )
    expect(page.locator("#results [role=alert]")).to_have_count(0)
    expect(page.locator("#id_end")).to_have_value("")
    expect(page.locator("#counts")).to_contain_text("callback")
    assert page.problems == []


def test_an_entry_filter_on_the_audit_log_is_visible_and_removable(watched, live_server, people):
    page = watched
    for n in range(3):
        AuditEntry.objects.create(
            domain_name=TEAM_DOMAIN,
            kind="record",
            action="update",
            outcome="success",
            before={"notify_url": f"https://a{n}.example.com"},
            after={"notify_url": f"https://b{n}.example.com"},
        )
    entry = AuditEntry.objects.order_by("pk").first()
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/audit/?entry={entry.pk}")
    expect(page.locator("#entry-filter")).to_contain_text(f"Showing entry #{entry.pk} only")
    expect(page.locator("#id_entry")).to_have_value(str(entry.pk))
    expect(page.locator("#results")).not_to_contain_text("[invalid name]")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.locator("#entry-filter a").click()
    expect(page.locator("#results tbody tr")).to_have_count(3)
    expect(page.locator("#results")).to_contain_text("→")  # what changed, before → after
    assert page.problems == []


def test_changing_ones_password_and_signing_out_everywhere(watched, live_server, people, browser):
    page = watched
    sign_in(page, live_server, "editor")
    other = browser.new_context().new_page()  # another computer
    sign_in(other, live_server, "editor")
    page.get_by_role("link", name="Editor").first.click()  # the name in the header
    expect(page.locator("h1")).to_have_text("Your account")
    expect(page.locator("#time-zone")).to_contain_text("Asia/Shanghai")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "a-new-long-pass-phrase-7")
    page.fill("#id_new_password2", "a-new-long-pass-phrase-7")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".messages")).to_contain_text("Your password is changed")
    other.goto(f"{live_server.url}/domains/")
    expect(other.locator("h1")).to_have_text("Sign in")  # the other session ended
    sign_in(other, live_server, "editor", "a-new-long-pass-phrase-7")
    expect(other.locator("h1")).to_have_text("Domains")
    page.goto(f"{live_server.url}/account/")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("#kept-note")).to_be_hidden()  # nothing was typed: nothing is kept
    other.goto(f"{live_server.url}/domains/")
    expect(other.locator("h1")).to_have_text("Sign in")
    assert AuditEntry.objects.filter(action__in=["password", "signout"]).count() == 2
    assert page.problems == []


def test_the_failure_overview_puts_an_outage_in_progress_first(watched, live_server, people):
    page = watched
    # three minutes ago the shop's receiver broke: every callback since has failed
    call_command("sandbox_callbacks", TEAM_DOMAIN, fail=100, cause="HTTP 503", rate=7200)
    from dashboard.sandbox.models import SandboxDomain

    SandboxDomain.objects.filter(name=TEAM_DOMAIN).update(
        records_generated_until=timezone.now() - dt.timedelta(minutes=3)
    )
    harvest_now()
    sign_in(page, live_server, "lead")
    page.get_by_role("link", name="Failures").click()
    first = page.locator("#overview tbody tr").first
    expect(first).to_contain_text(TEAM_DOMAIN)
    rate = first.locator("td[data-label='Last hour'] .badge").inner_text()
    assert float(rate.rstrip("%")) > 80, rate
    assert page.problems == []


def test_chinese_pages_have_no_english_leftovers(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/accounts/login/")
    page.select_option("#lang-select", "zh-hans")
    page.locator("form.lang button").click()
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d&status=failed")
    classes = page.locator("table.records td[data-label] .small").all_inner_texts()
    english = {"Timeout", "Connection refused", "Other", "Signature rejected"}
    assert classes and not english & set(classes), classes
    page.goto(f"{live_server.url}/alerts/new/")
    expect(page.locator("label[for=id_condition]")).to_have_text("触发条件")
    expect(page.locator("main")).not_to_contain_text("Select an option")
    assert page.problems == []


def test_the_alert_form_shows_only_what_applies_and_fits_a_phone(watched, live_server, people):
    page = watched
    page.set_viewport_size({"width": 390, "height": 900})
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/alerts/new/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    expect(page.locator("#id_threshold_percent")).to_be_visible()
    expect(page.locator("#id_consecutive")).to_be_hidden()
    choose(
        page,
        "#id_condition",
        "consecutive",
        shown=["#id_consecutive"],
        hidden=["#id_threshold_percent"],
    )
    choose(
        page,
        "#id_condition",
        "silence",
        shown=["#id_window_minutes"],
        hidden=["#id_min_deliveries"],
    )
    choose(page, "#id_scope", "team", shown=["#id_team"], hidden=["#id_domain_name"])
    # a robot that signs (DingTalk, Feishu) asks for its secret; one that does not, not
    for robot, secret in [("feishu", "shown"), ("wecom", "hidden"), ("dingtalk", "shown")]:
        choose(page, "#id_webhook_format", robot, **{secret: ["#id_dingtalk_secret"]})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # Back gives the form its choices again: the fields shown are still those they choose
    # (they were the defaults' once: "Silence" chosen, the failure rate's fields shown)
    page.goto(f"{live_server.url}/alerts/")
    page.go_back()
    expect(page.locator("#id_condition")).to_have_value("silence")
    expect(page.locator("#id_window_minutes")).to_be_visible()
    expect(page.locator("#id_threshold_percent")).to_be_hidden()
    expect(page.locator("#id_team")).to_be_visible()
    expect(page.locator("#id_domain_name")).to_be_hidden()
    assert page.problems == []


def test_an_editor_of_another_team_is_told_why_there_is_no_resend(watched, live_server, people):
    page = watched
    from dashboard.archive.models import ArchivedRecord

    record = ArchivedRecord.objects.filter(domain_name=OTHER_DOMAIN).first()
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/records/{record.pk}/")
    expect(page.locator("#why-no-resend")).to_contain_text("you are not in it")
    assert page.problems == []


@pytest.mark.parametrize(
    ("path", "field", "name"),
    [("/domains/", "#id_q", "q"), ("/incidents/", "#id_domain", "domain")],
)
def test_typing_on_while_the_server_is_slow_shows_what_was_typed_last(
    watched, live_server, people, path, field, name
):
    """Type, and go on typing while the server is still answering the first words: the list
    kept the first words' answer (htmx dropped the later request while one was in flight),
    under a box showing the whole text, and the address said the first words too."""
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}{path}")
    held = []

    def hold_the_first(route):
        if route.request.headers.get("hx-request") and not held:
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(re.escape(path) + r"\?"), hold_the_first)
    page.locator(field).click()
    page.keyboard.type("live")
    for _ in range(100):  # past the typing's debounce: its request is on its way
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    page.keyboard.type(".example-shop")
    page.wait_for_timeout(800)  # the rest's request, while the first is unanswered
    held[0].continue_()
    # on a busy machine the last words' request may still be on its way: wait for it (the
    # first words' answer staying is what this catches, and then it never comes)
    expect(page).to_have_url(re.compile(rf"[?&]{name}=live\.example-shop"), timeout=15_000)
    expect(page.locator("#results")).to_contain_text(TEAM_DOMAIN, timeout=15_000)
    settle(page)
    shown = page.locator("#results").inner_text()
    page.reload()
    settle(page)
    assert page.locator(field).input_value() == "live.example-shop"
    assert page.locator("#results").inner_text() == shown
    assert page.problems == []


@pytest.mark.parametrize("click", ["Next ›", "Domain"])
def test_typing_then_paging_or_sorting_domains_at_once_shows_what_the_box_says(
    watched, live_server, people, click
):
    """On the domain list (and the incidents and audit lists, built alike), a page or sort
    link clicked just after typing asked for the address it was drawn with — without the
    words just typed — beside the typing's own request: whichever answered last stayed, so
    the box could say one thing and the list show another. Links now ask through the form."""
    from dashboard.domains.models import Domain

    Domain.objects.bulk_create(
        Domain(name=f"pad-{n:02}.example.net", domain_type=Domain.Type.STREAMING) for n in range(60)
    )
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/domains/")
    link = page.locator("#results").get_by_role("link", name=click, exact=True).first
    link.wait_for()
    page.locator("#id_q").click()
    page.keyboard.type("pad-")
    link.click()  # at once: before the typing's own request
    expect(page).to_have_url(re.compile(r"[?&]q=pad-"), timeout=15_000)
    settle(page)
    assert ("page=2" if click.startswith("Next") else "sort=") in page.url, page.url
    shown = page.locator("#results").inner_text()
    assert "60 domains" in shown
    page.reload()
    settle(page)
    assert page.locator("#results").inner_text() == shown
    assert page.problems == []


def test_paging_while_callbacks_arrive_shows_each_row_once(watched, live_server, people):
    """A busy domain's failures, paged while the harvester archives more: Next showed again
    the rows the new callbacks had pushed down. The pages after the first are read as the
    archive was at the first (and say so); reload keeps a page, Back and Forward too, and the
    first page shows the newest."""
    from dashboard.domains.models import Domain
    from tests.conftest import archive

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now().replace(microsecond=0)
    archive(
        domain,
        *(("failed", now - dt.timedelta(minutes=20, seconds=i)) for i in range(40)),
        stream="busy",
    )
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?stream=busy&window=1h&size=20")
    times = page.locator("table.records tbody.record tr:first-child td:first-child")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2")
    first = times.all_inner_texts()
    archive(
        domain,
        *(("failed", now - dt.timedelta(minutes=1, seconds=i)) for i in range(5)),
        stream="busy",
    )
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"(?=.*[?&]page=2)(?=.*[?&]as_of=\d+)"))
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")  # as it was read: no empty 3rd
    expect(page.locator("#as-of")).to_contain_text("read as the archive was")
    second = times.all_inner_texts()
    assert len(second) == 20 and not set(second) & set(first)
    page.reload()
    expect(page.locator("#as-of")).to_be_visible()
    assert times.all_inner_texts() == second
    page.go_back()
    expect(page.locator(".pager")).to_contain_text("Page 1 of")
    page.go_forward()
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")
    assert times.all_inner_texts() == second
    page.locator(".pager").get_by_role("link", name="« First").click()
    expect(page.locator(".pager")).to_contain_text("Page 1 of 3")
    expect(page.locator("#as-of")).to_have_count(0)
    assert times.first.inner_text() not in first  # the five that came since lead it
    assert page.problems == []
