"""Accessibility (axe-core, bundled), small screens, keyboard, and the Chinese journeys."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import TEAM_DOMAIN

PAGES = [
    "/domains/",
    f"/domains/{TEAM_DOMAIN}/",
    f"/domains/{TEAM_DOMAIN}/record/edit/",
    f"/domains/{TEAM_DOMAIN}/snapshot/delete/",
    f"/records/?domain={TEAM_DOMAIN}&window=7d&status=failed",
    "/records/overview/",
    "/audit/",
    "/tools/signature/",
]


def serious(results) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_has_no_serious_violations_on_main_pages(watched, live_server, people):
    page = watched
    axe = Axe()
    page.goto(f"{live_server.url}/accounts/login/")
    assert serious(axe.run(page)) == []
    sign_in(page, live_server, "lead")
    found = {}
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if path.startswith("/records/?"):
            page.locator("table.records details summary").first.click()
        problems = serious(axe.run(page))
        if problems:
            found[path] = problems
    assert found == {}
    assert page.problems == []


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen(browser, live_server, people, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, "lead")
    overflowing, sideways_tables = {}, {}
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if path.startswith("/records/?"):
            page.locator("table.records details summary").first.click()
        excess = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if excess > 0:
            overflowing[path] = excess
        # On a phone the tables turn into labelled cards: nothing to scroll sideways either.
        tables = page.evaluate(
            """() => [...document.querySelectorAll('.table-wrap')]
                .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1).length"""
        )
        if tables:
            sideways_tables[path] = tables
    if width == 390:
        page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d")
        cell = page.locator("table.records td[data-label]").first
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"Time"'  # each cell says what it is once the header row is gone
    context.close()
    assert overflowing == {}
    assert sideways_tables == {}


def test_keyboard_reaches_and_operates_links_with_visible_focus(watched, live_server, people):
    page = watched
    sign_in(page, live_server, "support")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        if focused == TEAM_DOMAIN:
            break
    else:
        pytest.fail("the domain link was not reachable with Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/domains/{re.escape(TEAM_DOMAIN)}/$"))
    assert page.problems == []


def test_sign_in_and_records_journey_in_chinese(watched, live_server, people):
    page = watched
    page.goto(f"{live_server.url}/accounts/login/")
    page.select_option("#lang-select", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("#id_username", "support")
    page.fill("#id_password", "wrong")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("[role=alert]")).to_be_visible()
    sign_in(page, live_server, "support")
    expect(page.locator("h1")).to_have_text("域名")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    page.select_option("#id_status", "failed")
    expect(page).to_have_url(re.compile("status=failed"))
    page.locator(".pager").get_by_role("link", name="下一页 ›").click()
    expect(page.locator(".pager")).to_contain_text("第 2 页")
    page.reload()
    expect(page.locator(".pager")).to_contain_text("第 2 页")  # the choice is remembered
    page.locator("table.records details summary").first.click()
    expect(page.locator("details[open] h4").first).to_contain_text("NotifyContent")
    assert page.problems == []


def test_more_filters_open_under_their_toggle_side_by_side(browser, live_server, people):
    """The records page's "More filters", opened: in Chromium 156 the filters stood in one
    column of screen-wide boxes with the toggle at their foot (a flex layout given to the
    <details> itself, whose content the browser now wraps in a box of its own). They lie under
    the toggle, side by side, like the filters above them."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?domain={TEAM_DOMAIN}&window=7d")
    page.get_by_text("More filters").click()
    toggle = page.locator("details.more > summary").bounding_box()
    kind = page.get_by_label("Type", exact=True).bounding_box()
    failure = page.get_by_label("Failure", exact=True).bounding_box()
    context.close()
    assert toggle["y"] + toggle["height"] <= kind["y"]  # the toggle above what it opened
    assert kind["y"] == failure["y"] and kind["x"] + kind["width"] < failure["x"]  # one row
    assert kind["width"] < 400  # a filter's width, not the screen's


def test_filter_fields_line_up_when_one_has_a_hint_or_an_error(browser, live_server, people):
    """A search from the top bar adds "App or stream" with a hint under it, and a domain that
    does not exist gets its error under the box: the row's other inputs stood lower than that
    one (the row was lined up by its fields' feet). Inputs in a row share their top, and a
    form's button stands on the inputs' line, not at the foot of a hint."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/search/?q=room")
    searched = page.get_by_label("App or stream").bounding_box()
    stream = page.get_by_label("Stream", exact=True).bounding_box()
    page.goto(f"{live_server.url}/records/?domain=nowhere.example.com")
    domain = page.locator("#id_domain").bounding_box()
    result = page.get_by_label("Result").bounding_box()
    page.goto(f"{live_server.url}/alerts/")
    until = page.get_by_label("Mute until").bounding_box()
    mute = page.get_by_role("button", name="Mute domain").bounding_box()
    page.goto(f"{live_server.url}/domains/")
    team = page.get_by_label("Team").bounding_box()
    gone = page.get_by_label("Include gone").bounding_box()
    heads = [
        page.get_by_role(kind, name=name).bounding_box()
        for kind, name in [("link", "Bulk change"), ("button", "Sync all")]
    ]
    context.close()
    assert searched["y"] == stream["y"]
    assert domain["y"] == result["y"]
    # the button's middle within the input's height (not beside the hint under it)
    assert until["y"] <= mute["y"] + mute["height"] / 2 <= until["y"] + until["height"]
    # a checkbox on the inputs' line too, not at the labels' top
    assert team["y"] <= gone["y"] + gone["height"] / 2 <= team["y"] + team["height"]
    # the page's actions together at its right: Sync all stood apart from the others (the
    # head spread its three parts across the page)
    bulk, sync = heads
    assert bulk["y"] == sync["y"] and 0 < sync["x"] - (bulk["x"] + bulk["width"]) < 20


@pytest.mark.parametrize("who", ["support", "lead"])
def test_the_language_switch_stands_with_the_signed_in_persons_name(
    browser, live_server, people, who
):
    """The header wrapped the language switch onto a line of its own, at its start under the
    brand, away from the name and Sign out it belongs with (support's always; a lead's when
    the name and the menu filled the first line). Now it stands beside Sign out, at the
    header's right edge."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, who)
    page.goto(f"{live_server.url}/records/")
    switch = page.locator("#lang-select").bounding_box()
    sign_out = page.locator(".topbar .who button.link").bounding_box()
    context.close()
    assert switch["x"] > sign_out["x"] + sign_out["width"]  # after Sign out
    assert abs((switch["y"] + switch["height"] / 2) - (sign_out["y"] + sign_out["height"] / 2)) < 8
    assert 1280 - (switch["x"] + switch["width"]) < 120  # at the right edge, not the left


@pytest.mark.parametrize("width", [390, 1280])
def test_long_unbroken_names_and_urls_stay_on_the_screen(browser, live_server, people, width):
    """Names and URLs come from pushers, receivers and people: a stream name of 120 characters
    without a space, URLs of 180 to 1,000, a one-word description of 200, an answer of 300, a
    note of one pasted word, a rule's name of 120, a file name of 200, a directory group of 255,
    a person's name of 150, a token's of 100. A record's page ran 1,508 px past a phone's screen
    (its description did not break), an incident's 18,655 (a note; its streams and latest
    failures 641), an alert rule's 7,156 (its webhook URL), a person's 2,057 (the name as the
    heading), a record's 8,923 once its domain's URL was 1,024 long (where Resend would send
    it). Every page that shows them keeps to the screen: nothing to scroll sideways."""
    from django.utils import timezone

    from dashboard.accounts.models import GroupMapping
    from dashboard.accounts.roles import VIEWER
    from dashboard.alerts.models import AlertRule
    from dashboard.api.tokens import token_create
    from dashboard.audit.models import AuditEntry
    from dashboard.audit.services import audit_entry_create
    from dashboard.configs.models import ConfigRun
    from dashboard.domains.models import Domain, RecordNotifyConfig
    from dashboard.incidents.models import Incident, IncidentNote
    from tests.conftest import archive, make_user

    stream = "s" * 120
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    (row,) = archive(
        domain,
        ("failed", timezone.now()),
        url="https://hooks.example-shop.com/" + "p" * 150,
        why="x" * 200,
        stream=stream,
        response="r" * 300,
    )
    incident = Incident.objects.filter(domain=domain).order_by("-last_seen").first()
    long_url = "https://hooks.example-shop.com/" + "u" * 900
    audit_entry_create(
        kind=AuditEntry.Kind.RECORD,
        action=AuditEntry.Action.UPDATE,
        domain=domain,
        actor_name="lead",
        before={"notify_url": "https://hooks.example-shop.com/live/record"},
        after={"notify_url": long_url},
        error_code="E" * 100,  # as long as it is kept
    )
    # what people type: a note of one pasted word, a rule's name of 120, a webhook URL of 1,000
    IncidentNote.objects.create(incident=incident, author_name="lead", text="n" * 2000)
    rule = AlertRule.objects.create(
        name="r" * 120,
        domain=domain,
        condition="silence",
        emails="ops@example.com",
        webhook_url="https://hooks.example-shop.com/" + "w" * 970,
    )
    run = ConfigRun.objects.create(
        created_by=people["lead"], created_by_name="lead", state="planned", title="f" * 200
    )
    GroupMapping.objects.create(group="g" * 255, role="Viewer")
    person = make_user("p" * 150, VIEWER)
    person.first_name, person.email = "q" * 150, "e" * 64 + "@" + "d" * 180 + ".com"
    person.save()
    token_create(user=people["lead"], name="t" * 100, days=7)
    # the domain's recording callback as Live may hold it: URLs of 1,024
    RecordNotifyConfig.objects.filter(domain=domain).update(
        notify_url="https://" + "h" * 60 + ".example-shop.com/" + "v" * 938,  # 1,024
        on_demand_url="https://hooks.example-shop.com/" + "o" * 990,
    )
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, "lead")
    overflowing = {}
    for path in [
        f"/records/?domain={TEAM_DOMAIN}&window=24h",
        f"/records/{row.id}/",
        f"/records/streams/live/{stream}/",
        "/incidents/",
        f"/incidents/{incident.pk}/",
        f"/domains/{TEAM_DOMAIN}/",
        "/records/overview/",
        f"/search/?q={stream}",
        "/audit/",
        "/alerts/",
        f"/alerts/{rule.pk}/",
        "/configs/",
        f"/configs/runs/{run.pk}/",
        "/people/groups/",
        "/people/",
        f"/people/{person.pk}/",
        "/account/tokens/",
        "/domains/",
        f"/domains/{TEAM_DOMAIN}/record/edit/",
        f"/redelivery/new/?domain={TEAM_DOMAIN}&stream={stream}&status=failed&window=24h",
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        excess = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if excess > 0:
            overflowing[path] = excess
    context.close()
    assert overflowing == {}


def test_characters_that_draw_nothing_show_as_what_they_are_and_copy_as_they_are(
    browser, live_server, people
):
    """A pusher's stream `live<RLO>1-tset` read as "livetest-1" wherever it was shown — in
    the records, the record's heading and tab, its timeline, the incident's streams and
    latest failures, the search, a redelivery — and a receiver's `<RLO>ok` as "ko"; a
    zero-width space drew nothing at all. What the browser shows holds none of them: each
    reads as its code point. Copy still copies the receiver's answer as it is."""
    from django.utils import timezone

    from dashboard.audit.models import AuditEntry
    from dashboard.audit.services import audit_entry_create
    from dashboard.domains.models import Domain
    from dashboard.incidents.models import Incident
    from dashboard.invisible import INVISIBLE_RANGES
    from tests.conftest import archive

    stream = "live\u202e1-tset"
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    (row,) = archive(
        domain,
        ("failed", timezone.now()),
        stream=stream,
        why="refused\u200b",
        response="HTTP 500 \u202eok\u202c",
    )
    incident = Incident.objects.filter(domain=domain).order_by("-last_seen").first()
    audit_entry_create(  # an upstream refusal, its message as Live sent it
        kind=AuditEntry.Kind.RECORD,
        action=AuditEntry.Action.UPDATE,
        domain=domain,
        actor_name="lead",
        before={},
        after={},
        outcome="failure",
        error_code="InvalidNotifyUrl.Malformed",
        error_message="Specified \u202eNotifyUrl\u202c is invalid.",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    sign_in(page, live_server, "lead")
    hidden, unnamed = {}, []
    for path in [
        f"/records/?domain={TEAM_DOMAIN}&window=24h",
        f"/records/{row.id}/",
        f"/records/streams/live/{stream}/",
        f"/incidents/{incident.pk}/",
        f"/search/?q={stream}",
        f"/redelivery/new/?domain={TEAM_DOMAIN}&stream={stream}&status=failed&window=24h",
        "/audit/",
    ]:
        page.goto(live_server.url + path)
        text = page.locator("body").inner_text() + page.title()
        found = re.findall(f"[{INVISIBLE_RANGES}]", text)
        if found:
            hidden[path] = [f"U+{ord(ch):04X}" for ch in found]
        if "U+202E" not in text:
            unnamed.append(path)
    page.goto(f"{live_server.url}/records/{row.id}/")
    assert page.locator("h1").inner_text() == "live / liveU+202E1-tset"
    page.locator("#response").scroll_into_view_if_needed()
    page.get_by_role("button", name="Copy").nth(1).click()  # NotifyResponse's
    expect(page.get_by_role("button", name="✓")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    context.close()
    assert hidden == {} and unnamed == []
    assert copied == "HTTP 500 \u202eok\u202c"
