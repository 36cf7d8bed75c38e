"""Stream callbacks in headless Chromium: an editor sets an ingest domain's stream callback,
support opens a stream's timeline from the header search and reads its sessions (a missing
file flagged), Back and Forward keep the pages, and a push parameter finds its stream."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import expect

from dashboard.domains.models import Domain
from dashboard.sandbox.models import SandboxStreamConfig
from tests.browser.conftest import sign_in
from tests.conftest import TEAM_DOMAIN, archive

INGEST = "push.example-shop.com"


def test_an_editor_sets_a_stream_callback_with_a_long_key(watched, live_server, people):
    Domain.objects.filter(name=INGEST).update(team=Domain.objects.get(name=TEAM_DOMAIN).team)
    page = watched
    sign_in(page, live_server, "editor")
    page.goto(f"{live_server.url}/domains/{INGEST}/")
    card = page.locator("#editor-stream")
    expect(card).to_contain_text("Stream callback")
    expect(page.locator("#editor-record")).to_have_count(0)
    card.get_by_role("link", name="Edit", exact=True).click()
    page.locator("#id_notify_url").fill("https://hooks.example-shop.com/live/stream-v2")
    page.locator("#id_exception_notify_url").fill("http://10.1.2.3/exceptions")
    key = "Stream" * 10 + "Key1"  # 64 letters and digits
    page.locator("#id_notify_auth_key").fill(key)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_exception_notify_url-error")).to_contain_text("Unsafe")
    expect(page.locator("#id_notify_url")).to_have_value(
        "https://hooks.example-shop.com/live/stream-v2"
    )  # what was typed is kept
    page.locator("#id_exception_notify_url").fill("")
    page.locator("#id_notify_auth_key").fill(key)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text(key)  # the new key, shown this once
    expect(page.locator("#editor-stream")).to_contain_text("/live/stream-v2")
    stored = SandboxStreamConfig.objects.get(domain__name=INGEST)
    assert stored.notify_auth_key == key and stored.exception_notify_url == ""
    page.reload()
    expect(page.locator("#editor-stream")).not_to_contain_text(key)
    assert page.problems == []


def test_support_reads_a_streams_sessions_from_the_header_search(watched, live_server, people):
    ingest, streaming = Domain.objects.get(name=INGEST), Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now().replace(microsecond=0)
    second = dt.timedelta(seconds=1)

    def told(domain, notify_type, when, result="success"):
        archive(domain, (result, when), notify_type=notify_type, stream="browser-cam")

    t1 = now - dt.timedelta(hours=6)  # complete
    told(ingest, "publish", t1)
    told(streaming, "record_started", t1 + 3 * second)
    told(ingest, "publish_done", t1 + 900 * second)
    told(streaming, "file_created", t1 + 960 * second)
    t2 = now - dt.timedelta(hours=3)  # recorded, ended, no file
    told(ingest, "publish", t2)
    told(streaming, "record_started", t2 + 3 * second)
    told(ingest, "publish_done", t2 + 600 * second)

    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/domains/")
    search = page.get_by_placeholder(re.compile("Stream, app"))
    search.fill("live/browser-cam")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/records/streams/live/browser-cam/$"))
    sessions = page.locator("section.session")
    expect(sessions).to_have_count(2)
    newest, oldest = sessions.nth(0), sessions.nth(1)
    expect(newest).to_have_class(re.compile("anomalous"))
    expect(newest).to_contain_text("no recording file callback came")
    expect(oldest).not_to_have_class(re.compile("anomalous"))
    types = oldest.locator("span.badge.type").all_inner_texts()
    assert types == ["publish", "record_started", "publish_done", "file_created"]
    # times in the browser's zone (Asia/Shanghai), as everywhere else
    local = timezone.localtime(t1, dt.timezone(dt.timedelta(hours=8)))
    expect(oldest.locator("h2")).to_contain_text(local.strftime("%Y-%m-%d %H:%M:%S"))
    # a row's stream name leads to the same timeline; Back and Forward keep the pages
    oldest.get_by_role("link", name=re.compile("2026|20")).first.click()
    expect(page).to_have_url(re.compile(r"/records/\d+/$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/records/streams/live/browser-cam/$"))
    expect(page.locator("section.session")).to_have_count(2)
    page.go_forward()
    expect(page.get_by_role("link", name="This stream's timeline")).to_be_visible()
    # the push URL a customer hands over, pasted whole: the same stream, on its domain's family
    search = page.get_by_placeholder(re.compile("Stream, app"))
    search.fill(f"rtmp://{INGEST}/live/browser-cam?auth_key=1700000000-0-0-0a1b2c3d&order_id=7")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/records/streams/live/browser-cam/\?domain={INGEST}$"))
    expect(page.locator("section.session")).to_have_count(2)
    assert page.problems == []


def test_a_push_parameter_typed_in_the_header_finds_its_stream(watched, live_server, people):
    from dashboard.archive.models import ArchivedRecord

    publish = ArchivedRecord.objects.filter(
        domain_name=INGEST,
        notify_type="publish",
        notify_time__gte=timezone.now() - dt.timedelta(hours=20),
    ).first()
    order = re.search(r"order_id=\d+", publish.notify_content).group(0)
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/")
    search = page.get_by_placeholder(re.compile("Stream, app"))
    search.fill(order)
    search.press("Enter")
    # one stream was pushed with it: its timeline on its domains, the push's publish among its
    # callbacks
    timeline = f"/records/streams/{publish.app_name}/{publish.stream_name}/?domain="
    expect(page).to_have_url(re.compile(re.escape(timeline) + r"[^&]+&window=24h&at=.*#focus$"))
    # the page that holds that push, the push marked
    focused = page.locator("section.session.focus")
    expect(focused).to_have_count(1)
    expect(focused.locator(f'tbody.record[data-record="{publish.pk}"]')).to_be_visible()
    assert page.problems == []


def test_support_lists_the_callbacks_that_never_came_and_opens_one(watched, live_server, people):
    from dashboard.archive.models import PushedSession

    push = PushedSession.objects.exclude(missing="").order_by("-publish_time").first()
    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/?window=7d")
    page.get_by_label("Result").select_option(label="Never came (push history)")
    expect(page).to_have_url(re.compile(r"status=missing"))
    rows = page.locator("#missing tr.missing-push")
    expect(rows.first).to_be_visible()
    expect(page.locator("#counts")).to_contain_text("callbacks that never came")
    newest = rows.first
    expect(newest).to_contain_text(push.stream_name)
    expect(newest.locator("span.badge.bad")).to_contain_text(push.missing_types[0])
    newest.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/records/streams/{push.app_name}/{push.stream_name}/"))
    page.go_back()
    expect(page.locator("#missing tr.missing-push").first).to_be_visible()
    # from the stream's timeline to its records, and there its pushes that never came: the
    # crumb gives the names in quotes, which this list took for names with quotes (none)
    page.go_forward()
    page.locator("nav.crumbs").get_by_role("link", name="Callback records").click()
    expect(page).to_have_url(re.compile(r"stream=%22"))
    page.get_by_label("Time window").select_option(label="Last 7 days")
    expect(page).to_have_url(re.compile(r"window=7d"))
    page.get_by_label("Result").select_option(label="Never came (push history)")
    expect(page).to_have_url(re.compile(r"status=missing"))
    own = page.locator("#missing tr.missing-push")
    expect(own.first).to_contain_text(push.stream_name)
    assert set(own.locator("td a").all_inner_texts()) == {f"{push.app_name} / {push.stream_name}"}
    assert page.problems == []


def test_support_chooses_between_two_streams_of_one_name(watched, live_server, people):
    """The same names pushed on two unrelated families of domains: the header search asks
    which, each choice shows only its own sessions, Back returns to the question and Forward
    to the choice, reloading keeps it, and a row of the other stream links to its own."""
    ingest, streaming = Domain.objects.get(name=INGEST), Domain.objects.get(name=TEAM_DOMAIN)
    unrelated = Domain.objects.get(name="live.fitclass.cn")
    now = timezone.now().replace(microsecond=0)
    archive(ingest, ("success", now - dt.timedelta(hours=2)), notify_type="publish", stream="twin")
    archive(
        streaming,
        ("success", now - dt.timedelta(hours=2) + dt.timedelta(seconds=3)),
        notify_type="record_started",
        stream="twin",
    )
    archive(
        unrelated,
        ("failed", now - dt.timedelta(hours=1)),
        notify_type="file_created",
        stream="twin",
    )

    page = watched
    sign_in(page, live_server, "support")
    page.goto(f"{live_server.url}/records/")
    search = page.get_by_placeholder(re.compile("Stream, app"))
    search.fill("live/twin")
    search.press("Enter")
    choice = page.locator("#choose-family")
    expect(choice).to_be_visible()
    expect(page.locator("section.session")).to_have_count(0)
    choice.get_by_role("link", name=f"{TEAM_DOMAIN} + {INGEST}").click()
    expect(page).to_have_url(re.compile(rf"domain={re.escape(TEAM_DOMAIN)}"))
    expect(page.locator("#family")).to_contain_text(f"on {TEAM_DOMAIN} + {INGEST}")
    sessions = page.locator("section.session")
    expect(sessions).to_have_count(1)
    expect(sessions.first).not_to_contain_text("live.fitclass.cn")
    page.reload()
    expect(page.locator("section.session")).to_have_count(1)
    page.go_back()
    expect(page.locator("#choose-family")).to_be_visible()
    page.go_forward()
    expect(page.locator("#family")).to_contain_text(TEAM_DOMAIN)
    # the other stream of that name, from the note, is a session of its own with its failure
    page.locator("#elsewhere").get_by_role("link", name="live.fitclass.cn").click()
    expect(page.locator("section.session")).to_have_count(1)
    expect(page.locator("section.session")).to_contain_text(
        "A recording file callback failed and was never redelivered."
    )
    assert page.problems == []
