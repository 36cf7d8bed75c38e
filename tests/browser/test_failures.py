"""A team lead audits failures: the overview ranks the worst domain first; its chart marks the
config change a test just made at the right time; "Restore" puts the earlier config back
through the ordinary form, and the audit log says it was a rollback."""

from __future__ import annotations

import re
import zoneinfo

from django.utils import timezone
from playwright.sync_api import expect

from dashboard.audit.models import AuditEntry
from dashboard.domains.kinds import KINDS
from dashboard.domains.models import Domain
from dashboard.domains.services import config_save
from dashboard.sandbox.models import SandboxRecordConfig
from tests.browser.conftest import sign_in


def test_lead_finds_the_worst_domain_sees_the_change_on_its_chart_and_rolls_it_back(
    watched, live_server, people
):
    page = watched
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/records/overview/")
    # failing now comes first; the lead orders by the day's rate instead
    page.locator("#overview thead").get_by_role("link", name="24 h rate").click()
    expect(page).to_have_url(re.compile(r"sort=-rate24"))
    names = page.locator("#overview tbody td:first-child a").all_inner_texts()
    # worst first: no domain below has a higher 24-hour rate
    rates = [
        float(t.rstrip("%")) if t.endswith("%") else -1
        for t in page.locator("#overview tbody td:nth-child(5)").all_inner_texts()
    ]
    assert rates == sorted(rates, reverse=True) and rates[0] > 0
    # The worst domain that records (an ingest domain's failures are stream callbacks, and
    # the random traffic sometimes ranks one first): its recording callback is the one to change.
    recording = set(SandboxRecordConfig.objects.values_list("domain__name", flat=True))
    index, worst = next((i, name) for i, name in enumerate(names) if name in recording)
    assert rates[index] > 0
    worst_row = page.locator("#overview tbody tr").nth(index)

    # Meanwhile someone changes its recording callback (through the service layer).
    domain = Domain.objects.get(name=worst)
    kind = KINDS["record"]
    old_url = SandboxRecordConfig.objects.get(domain__name=worst).notify_url
    config_save(
        domain=domain,
        kind=kind,
        data={"notify_url": "https://broken-hooks.example.com/cb", "need_status_notify": True},
        actor=people["lead"],
        expected_version=domain.version("record"),
    )
    change = AuditEntry.objects.filter(domain=domain, action="update").latest("pk")

    worst_row.locator("td").first.locator("a").click()
    expect(page.locator("h1")).to_have_text(worst)
    page.locator(".chart-periods a", has_text="24h").click()
    expect(page).to_have_url(re.compile(r"period=24h"))
    marker = page.locator(f'svg.bars a.marker[data-entry="{change.pk}"]')
    expect(marker).to_have_count(1)
    title = marker.locator("title").text_content()
    local = timezone.localtime(change.created_at, zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in title  # the time where the lead is
    assert f"{old_url} → https://broken-hooks.example.com/cb" in title
    # At the right end of a 24-hour axis: the change happened a moment ago.
    box = marker.locator("line").first.bounding_box()
    svg = page.locator("svg.bars").bounding_box()
    assert box["x"] > svg["x"] + svg["width"] * 0.95

    marker.focus()
    marker.press("Enter")  # the marker leads to the change in the list under the chart
    expect(page).to_have_url(re.compile(rf"#change-{change.pk}$"))
    item = page.locator(f"#change-{change.pk}")
    expect(item).to_be_visible()
    item.get_by_role("link", name="Restore the configuration before this").click()

    expect(page.locator("#id_notify_url")).to_have_value(old_url)
    expect(
        page.get_by_text(f"Restoring the configuration from before entry #{change.pk}")
    ).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text(worst)
    expect(page.locator(".messages")).to_contain_text("Saved.")
    assert SandboxRecordConfig.objects.get(domain__name=worst).notify_url == old_url

    rollback = AuditEntry.objects.filter(domain=domain).latest("pk")
    assert rollback.rollback_of_id == change.pk and rollback.actor_name == "lead"
    page.goto(f"{live_server.url}/audit/?entry={rollback.pk}")
    row = page.locator(f"#audit-{rollback.pk}")
    expect(row).to_contain_text(f"rollback of entry #{change.pk}")
    expect(row).to_contain_text("lead")
    assert page.problems == []


def test_lead_pages_through_an_overview_of_many_domains_and_back(watched, live_server, people):
    """Many domains: fifty a page; Next swaps the table alone and the URL says which page;
    Back, Forward and reload show the whole page with the right table."""
    Domain.objects.bulk_create(
        [Domain(name=f"quiet-{n:03}.example.net", domain_type="liveVideo") for n in range(60)]
    )
    page = watched
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/records/overview/")
    rows = page.locator("#overview tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#overview-count")).to_contain_text("Domains 1–50 of")
    first_name = rows.first.locator("td").first.inner_text()
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#overview-count")).to_contain_text("Domains 51–")
    expect(page.locator("#trend")).to_have_count(1)  # the chart stayed: the table was swapped
    second_name = rows.first.locator("td").first.inner_text()
    assert second_name != first_name
    page.go_back()
    expect(page.locator("#overview-count")).to_contain_text("Domains 1–50 of")
    expect(rows.first.locator("td").first).to_have_text(first_name)
    expect(page.locator("header.topbar nav")).to_be_visible()
    page.go_forward()
    expect(page.locator("#overview-count")).to_contain_text("Domains 51–")
    page.reload()
    expect(page.locator("#overview-count")).to_contain_text("Domains 51–")
    expect(page.locator("#trend")).to_have_count(1)
    # sorting again starts from the first page
    page.locator("#overview thead").get_by_role("link", name="Domain").click()
    expect(page).not_to_have_url(re.compile(r"page="))
    expect(page.locator("#overview-count")).to_contain_text("Domains 1–50 of")
    assert page.problems == []


def test_support_in_india_clicks_a_days_bar_and_sees_the_failures_it_counts(
    browser, live_server, people
):
    """In India (UTC+05:30; Chrome reports the legacy name Asia/Calcutta) a day begins inside
    an hour the archive counts whole: each day's bar runs from 00:30, its title says so, and
    clicking it lists as many failures as it counts."""
    page = browser.new_context(timezone_id="Asia/Kolkata", locale="en-GB").new_page()
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/domains/live.example-shop.com/?period=30d")
    expect(page.locator("footer.tzfoot")).to_contain_text("Asia/Calcutta (UTC+05:30)")
    bars = page.locator("#chart svg a:not(.marker)")
    expect(bars.first).to_be_attached()
    titles = [bars.nth(i).locator("title").text_content() for i in range(bars.count())]
    day = re.compile(r"\d{4}-\d\d-\d\d 00:30 – \d{4}-\d\d-\d\d 00:30: [\d,]+ delivered, ([\d,]+)")
    whole = [(i, day.match(t)) for i, t in enumerate(titles[:-1])]  # the last: today, so far
    index, found = next((i, m) for i, m in reversed(whole) if m and m[1] != "0")
    bars.nth(index).click()
    expect(page).to_have_url(re.compile(r"/records/\?.*window=custom.*status=failed"))
    expect(page.locator("#counts")).to_contain_text(f"{found[1]} callback")
    expect(page.locator("#id_start")).to_have_value(re.compile(r"T00:30"))
    page.context.close()


def test_lead_pages_through_incidents_while_a_receiver_fails_again(watched, live_server, people):
    """Page 1, Next, Back, Forward; meanwhile an incident of page 2 fails again (to the top of
    the list): page 2 read again shows the list as it was read, without it and without a row
    of page 1, saying one changed; its link reads the list again from the first page."""
    import datetime as dt

    from dashboard.incidents.models import Incident
    from tests.conftest import archive

    Incident.objects.all().delete()
    domain = Domain.objects.get(name="live.example-shop.com")
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    for n in range(55):
        url = f"https://h{n:02}.paging.example.org/cb"
        archive(domain, ("failed", start + dt.timedelta(minutes=n)), url=url)
    page = watched
    sign_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/incidents/")
    links = page.locator("#results td.wide a")
    expect(links).to_have_count(50)
    first = set(links.evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    page.locator(".pager").get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2&as_of=\d+"))
    expect(links).to_have_count(5)
    page.go_back()
    expect(links).to_have_count(50)
    page.go_forward()
    expect(page).to_have_url(re.compile(r"page=2&as_of=\d+"))
    expect(links).to_have_count(5)
    oldest = Incident.objects.get(receiver_host="h00.paging.example.org")
    expect(links.last).to_have_attribute("href", f"/incidents/{oldest.pk}/")
    archive(domain, ("failed", timezone.now()), url="https://h00.paging.example.org/cb")
    page.reload()
    expect(links).to_have_count(4)
    expect(page.locator("#changed-since")).to_contain_text("1 incident changed")
    shown = set(links.evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert not shown & first and f"/incidents/{oldest.pk}/" not in shown
    page.locator("#changed-since").get_by_role("link").click()
    expect(page).not_to_have_url(re.compile(r"page="))
    expect(links.first).to_have_attribute("href", f"/incidents/{oldest.pk}/")
    assert page.problems == []
