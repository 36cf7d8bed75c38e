"""The records explorer on the archive (and the Live API on request): search across domains,
filters, bad input, windows, paging, permalinks, export, escaping, the failure overview."""

import csv
import datetime as dt
import html
import io
import re
import time
import zoneinfo
from urllib.parse import quote

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.archive.store import fingerprint
from dashboard.domains.models import Domain
from dashboard.live import NotifyRecord
from dashboard.records.overview import overview_order
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxNotifyRecord
from tests.conftest import (
    ALL_DATABASES,
    OTHER_DOMAIN,
    TEAM_DOMAIN,
    add_record,
    archive,
    harvest_now,
    make_user,
)

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
HX = {"HX-Request": "true"}


@pytest.fixture
def browse(client, viewer, archived):
    client.force_login(viewer)
    return client


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def upstream_count(since: dt.timedelta, **filters) -> int:
    """What the Live API holds, counted as the archive stores it (one row per fingerprint)."""
    now = timezone.now()
    rows = SandboxNotifyRecord.objects.filter(notify_time__gte=now - since, **filters)
    return len({fingerprint(NotifyRecord.from_item(_item(r))) for r in rows})


def _item(r) -> dict:
    return {
        "AppName": r.app_name,
        "DomainName": r.domain_name,
        "StreamName": r.stream_name,
        "NotifyType": r.notify_type,
        "NotifyUrl": r.notify_url,
        "NotifyContent": r.notify_content,
        "NotifyHeader": r.notify_header,
        "NotifyResponse": r.notify_response,
        "NotifyResult": r.notify_result,
        "NotifyTime": r.notify_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Description": r.description,
        "StorageType": r.storage_type,
    }


def test_the_page_opens_on_every_domains_last_24_hours(browse):
    response = browse.get("/records/")
    assert response.status_code == 200
    assert response.context["total"] == upstream_count(dt.timedelta(hours=24))
    body = response.content.decode()
    assert "The archive holds every domain" in body and "callbacks" in body


def test_the_redelivery_runs_and_ones_exports_are_reached_from_the_records_page(browse):
    """Both lists were linked from nowhere but their own children's breadcrumbs: a lead
    auditing redeliveries had to know the address."""
    body = browse.get("/records/").content.decode()
    head = re.search(r'<div class="pagehead">(.*?)</div>', body, re.S).group(1)
    for path, heading in (
        ("/redelivery/", "Redelivery runs"),
        ("/records/exports/", "Your exports"),
    ):
        assert f'<a class="button" href="{path}">{heading}</a>' in head
        assert browse.get(path).status_code == 200


def test_a_domains_week_in_the_archive_equals_what_the_live_api_holds(browse):
    response = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    assert response.status_code == 200
    week = dt.timedelta(days=7) - dt.timedelta(minutes=3)  # the harvest started just inside
    assert response.context["total"] == upstream_count(week, domain_name=TEAM_DOMAIN)
    assert len(response.context["rows"]) == 20
    assert "app;dur=" in response["Server-Timing"]


def test_part_of_a_stream_name_in_another_case_finds_it_on_every_domain(browse):
    response = browse.get("/records/?stream=ROOM-10&window=7d&size=500")
    rows = response.context["rows"]
    assert rows and all("room-10" in r["record"].stream_name for r in rows)
    domains = {r["record"].domain_name for r in rows}
    expected = set(
        SandboxNotifyRecord.objects.filter(stream_name__contains="room-10")
        .values_list("domain_name", flat=True)
        .distinct()
    )
    assert domains == expected and len(domains) >= 2


@pytest.mark.parametrize(
    "query",
    [
        {"stream": "übertragung"},
        {"stream": "CAFÉ"},
        {"app": "ÉVÉNEMENTS"},
        {"name": "übertragung-CAFÉ"},
        {"q": "KÖLN"},
        {"domain": "umlaut.example.com", "stream": "übertragung"},
    ],
)
def test_a_name_in_other_capitals_finds_it_with_accented_letters_too(browse, query):
    """Any part of a name in any case finds it — Ü as ü, É as é — on SQLite as on PostgreSQL:
    SQLite's LIKE folded the case of ASCII letters only, so `übertragung` found nothing."""
    domain = Domain.objects.create(name="umlaut.example.com", domain_type="liveVideo")
    archive(
        domain,
        ("failed", timezone.now() - dt.timedelta(minutes=5)),
        app="événements",
        stream="ÜBERTRAGUNG-Café",
        response="Köln receiver down",
    )
    response = browse.get("/records/", {**query, "window": "1h"})
    assert response.status_code == 200
    assert [r["record"].stream_name for r in response.context["rows"]] == ["ÜBERTRAGUNG-Café"]
    assert response.context["total"] == 1


def test_filters_narrow_by_result_type_failure_class_status_and_text(browse):
    # an nginx 404 of the team's receiver, for the text and status filters to find: the
    # sandbox's random traffic left the team domain without one in some runs
    now = timezone.now()
    archive(
        Domain.objects.get(name=TEAM_DOMAIN),
        ("failed", now - dt.timedelta(hours=2)),
        why="HTTP 404 Not Found",
        response="<html><body><h1>404 Not Found</h1><hr><center>nginx</center></body></html>",
    )
    # one fixed span for the two requests compared: a moving "last 7 days" drops the records
    # at its edge between them (the sandbox's records go back 8 days)
    span = f"window=custom&start={local(now - dt.timedelta(days=6))}&end={local(now)}"
    failed = browse.get(f"/records/?domain={TEAM_DOMAIN}&{span}&status=failed&size=500")
    assert all(r["record"].notify_result == "failed" for r in failed.context["rows"])
    counts = failed.context["counts"]
    assert counts.failed == counts.total and counts.classes
    name, count = counts.classes[0]
    by_class = browse.get(f"/records/?domain={TEAM_DOMAIN}&{span}&failure={name}&size=500")
    assert by_class.context["total"] == count
    assert all(r["record"].failure_class == name for r in by_class.context["rows"])
    typed = browse.get("/records/?window=7d&type=record_paused&size=500")
    assert all(r["record"].notify_type == "record_paused" for r in typed.context["rows"])
    http = browse.get("/records/?window=7d&http=404&size=500")
    assert http.context["rows"] and all(
        r["record"].http_status == 404 for r in http.context["rows"]
    )
    text = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&q=nginx&size=500")
    assert text.context["rows"] and all(
        "nginx" in r["record"].notify_response for r in text.context["rows"]
    )
    # free text across every domain looks at one day at most (it reads record by record)
    wide = browse.get("/records/?window=7d&q=nginx")
    assert wide.status_code == 400
    assert "Text is searched in at most 24 hours across all domains" in wide.content.decode()
    assert browse.get("/records/?window=24h&q=nginx").status_code == 200


def test_the_receiver_filter_takes_a_host_or_a_url_on_it(browse):
    """A domain whose recording and snapshot callbacks go to two hosts: "did the callbacks to
    this one arrive?" had no filter (an incident is one receiver's, and its link showed every
    receiver's failures)."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(domain, *[("failed", now - dt.timedelta(minutes=m)) for m in (3, 4)],
            url="https://Snap.Example-Shop.com/cb")  # fmt: skip
    archive(
        domain, ("success", now - dt.timedelta(minutes=5)), url="https://snap.example-shop.com/x"
    )
    for receiver in ("snap.example-shop.com", "SNAP.example-shop.com ",
                     "https://snap.example-shop.com:8443/anything?x=1"):  # fmt: skip
        page = browse.get(
            "/records/", {"domain": TEAM_DOMAIN, "window": "1h", "receiver": receiver}
        )
        assert page.status_code == 200
        assert page.context["counts"].total == 3 and page.context["counts"].failed == 2
        # the box shows the host it filters by, whatever was typed or pasted
        assert 'name="receiver" value="snap.example-shop.com"' in page.content.decode()
        assert {r["record"].receiver_host for r in page.context["rows"]} == {
            "snap.example-shop.com"
        }
    # across every domain too (the receiver's host is the domain's own business)
    everywhere = browse.get("/records/", {"window": "1h", "receiver": "snap.example-shop.com"})
    assert everywhere.context["total"] == 3
    # a receiver at an IPv6 address: the archive keeps its host without the brackets
    archive(domain, ("failed", now - dt.timedelta(minutes=6)), url="https://[2400:cb00::1]/cb")
    for receiver in ("https://[2400:cb00::1]:8443/x", "[2400:cb00::1]", "2400:CB00::1"):
        v6 = browse.get("/records/", {"domain": TEAM_DOMAIN, "window": "1h", "receiver": receiver})
        assert v6.status_code == 200 and v6.context["total"] == 1, receiver
    for bad_host in ("snap example", "a:b", "[a:b]", "user@host"):
        refused = browse.get("/records/", {"window": "1h", "receiver": bad_host})
        assert refused.status_code == 400, bad_host
    bad = browse.get("/records/", {"window": "1h", "receiver": "snap example"})
    assert bad.status_code == 400
    assert "Enter the receiver&#x27;s host name (hooks.example.com)" in bad.content.decode()


def test_a_receiver_or_a_domain_named_in_its_own_script_is_found(browse):
    """A receiver whose host is Chinese: Live records its URL in ASCII (`xn--zbss05j…`), and
    the host typed as people write it, or a URL on it pasted, found nothing; a domain typed so
    in the header search was no domain."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(
        domain,
        *[("failed", now - dt.timedelta(minutes=m)) for m in (3, 4)],
        url="https://xn--zbss05j.example-shop.com/cb",
    )
    for receiver in ("回调.example-shop.com", "https://回调.Example-Shop.com/cb?x=1"):
        page = browse.get("/records/", {"window": "1h", "receiver": receiver})
        assert page.status_code == 200 and page.context["total"] == 2, receiver
        assert 'name="receiver" value="xn--zbss05j.example-shop.com"' in page.content.decode()
    chinese = Domain.objects.create(name="xn--z6ut02b.example.cn", domain_type="liveVideo")
    for typed in ("直播.example.cn", "https://直播.example.cn/"):
        found = browse.get("/search/", {"q": typed})
        assert found.status_code == 302, typed
        assert found["Location"] == f"/domains/{chinese.name}/", typed
    # the domain list's search: a label typed as people write it
    listed = browse.get("/domains/", {"q": "直播"})
    assert [d.name for d in listed.context["page"].object_list] == [chinese.name]
    # a Chinese input method's full stops and full-width letters are the same name
    typed_plainly = browse.get("/records/", {"window": "1h", "domain": TEAM_DOMAIN})
    for typed in ("live。example-shop。com", "ｌｉｖｅ．ｅｘａｍｐｌｅ－ｓｈｏｐ．ｃｏｍ"):
        found = browse.get("/records/", {"window": "1h", "domain": typed})
        assert found.status_code == 200, typed
        assert found.context["total"] == typed_plainly.context["total"] > 0, typed
    # the incidents' and the audit log's domain filters read it so too
    from dashboard.audit.models import AuditEntry
    from dashboard.incidents.models import Incident

    archive(chinese, ("failed", now - dt.timedelta(minutes=2)))
    AuditEntry.objects.create(
        actor_name="lead", domain_name=chinese.name, action=AuditEntry.Action.UPDATE
    )
    assert Incident.objects.filter(domain=chinese).exists()
    incidents = browse.get("/incidents/", {"domain": "直播"}).context["page"].object_list
    assert {i.domain_id for i in incidents} == {chinese.pk}
    from dashboard.accounts.roles import LEAD

    browse.force_login(make_user("auditor", LEAD))  # the audit log is the leads'
    entries = browse.get("/audit/", {"domain": "直播。example"}).context["page"].object_list
    assert [e.domain_name for e in entries] == [chinese.name]
    # and the name as people write it stands beside Live's, on the list and the domain's page
    assert '<span class="muted small written-as">直播.example.cn</span>' in listed.content.decode()
    page = browse.get(f"/domains/{chinese.name}/").content.decode()
    assert f'{chinese.name} <span class="muted small written-as">直播.example.cn</span>' in page


def test_a_name_typed_whole_that_is_part_of_others_says_so_and_quotes_find_it_alone(browse):
    """The stream filter finds any part of a name: `cam1` counted, listed, exported and
    offered to resend cam10's and cam11's failures too, and the timeline's link to "Callback
    records" did the same. Quotes find the one name; the page says when a whole name typed
    finds others, and links to it alone."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    for n, stream in enumerate(("cam1", "cam10", "cam11")):
        archive(domain, ("failed", now - dt.timedelta(minutes=n + 2)), stream=stream)
    wide = browse.get("/records/", {"stream": "cam1", "window": "1h"})
    assert wide.context["total"] == 3
    note = wide.content.decode()
    note = note[note.index('id="also-matched-stream"') :].split("</p>")[0]
    assert "“cam1” is part of other names too" in note and "cam10, cam11" in note
    only = html.unescape(re.search(r'<a href="([^"]+)">Only cam1</a>', note).group(1))
    assert "window=1h" in only  # the other filters kept
    alone = browse.get("/records/" + only)
    assert alone.context["total"] == 1 and "also-matched" not in alone.content.decode()
    assert [r["record"].stream_name for r in alone.context["rows"]] == ["cam1"]
    for typed in ('"cam1"', "“cam1”"):  # as a Chinese input method types quotes
        assert browse.get("/records/", {"stream": typed, "window": "1h"}).context["total"] == 1
    assert browse.get("/records/", {"stream": '"cam"', "window": "1h"}).context["total"] == 0
    # the header search's "App or stream" too
    searched = browse.get("/records/", {"name": "cam1", "window": "1h"}).content.decode()
    assert 'id="also-matched-name"' in searched and "cam10, cam11" in searched
    # a fragment is a fragment: no note
    assert not browse.get("/records/", {"stream": "cam", "window": "1h"}).context["also_matched"]
    # the timeline's own link opens its stream's records only
    timeline = browse.get("/records/streams/live/cam1/").content.decode()
    crumb = re.search(r'<nav class="crumbs"[^>]*><a href="([^"]+)"', timeline).group(1)
    assert browse.get(html.unescape(crumb)).context["total"] == 1


def test_a_name_typed_as_it_reads_finds_the_name_with_a_character_that_draws_nothing(browse):
    """The stream `live<U+200B>test` reads as "livetest" (the page shows its box; a customer's
    ticket says "livetest"): typed so, in the header search or the stream filter, nothing was
    found. It is found, and the page says why it is there."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(domain, ("failed", now - dt.timedelta(minutes=2)), stream="live\u200btest")
    archive(domain, ("failed", now - dt.timedelta(minutes=3)), stream="other")
    for query in ({"name": "LiveTest", "window": "24h"}, {"stream": "livetest", "window": "1h"}):
        page = browse.get("/records/", query)
        assert page.context["total"] == 1, query
        assert [r["record"].stream_name for r in page.context["rows"]] == ["live\u200btest"]
        body = page.content.decode()
        note = body[body.index('class="note small also-matched"') :].split("</p>")[0]
        assert "No name holds “" in note and "” as typed; these read as it" in note
        assert 'live<span class="ctl" title="Invisible character: ZERO WIDTH SPACE"' in note
    # the header search lands there too, and as "app/stream" (it opened the empty timeline
    # of a stream no one pushed: "The archive holds no callbacks of this stream")
    for typed in ("livetest", "live/livetest", "LIVE/LiveTest"):
        landed = browse.get("/search/", {"q": typed}, follow=True)
        assert landed.context["total"] == 1, typed
        assert [r["record"].stream_name for r in landed.context["rows"]] == ["live\u200btest"]
    # a stream of those very names opens its timeline, as it always did
    timeline = browse.get("/search/", {"q": "live/live\u200btest"})
    assert timeline.url == "/records/streams/live/live%E2%80%8Btest/"
    # a name that holds what was typed is found as it always was, without the note
    archive(domain, ("failed", now - dt.timedelta(minutes=4)), stream="livetest")
    plain = browse.get("/records/", {"stream": "livetest", "window": "1h"})
    assert [r["record"].stream_name for r in plain.context["rows"]] == ["livetest"]
    assert not plain.context["also_matched"]
    assert browse.get("/records/", {"stream": "nothing", "window": "1h"}).context["total"] == 0


def test_the_header_search_reads_names_as_typed_when_an_app_or_a_stream_holds_them(browse):
    """The header search looks in apps and streams at once. `livetest` typed for the stream
    livetest brought the app `live<U+200B>test` with it (no app held "livetest" as typed, so
    the apps were read as they read) — its callbacks in the counts, an export, a resend."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(domain, ("failed", now - dt.timedelta(minutes=2)), stream="livetest")
    archive(domain, ("failed", now - dt.timedelta(minutes=3)), app="live\u200btest")
    page = browse.get("/records/", {"name": "livetest", "window": "1h"})
    assert [r["record"].stream_name for r in page.context["rows"]] == ["livetest"]
    assert page.context["total"] == 1 and not page.context["also_matched"]
    # the app is found as it reads when nothing holds the text as typed
    apps = browse.get("/records/", {"name": "LIVETEST", "window": "1h", "status": "failed"})
    assert apps.context["total"] == 1  # livetest holds it, in another case: as typed
    alone = browse.get("/records/", {"name": "vetes", "window": "1h"})
    assert alone.context["total"] == 1
    archive(domain, ("failed", now - dt.timedelta(minutes=4)), app="other\u200bapp")
    hidden = browse.get("/records/", {"name": "otherapp", "window": "1h"})
    assert [r["record"].app_name for r in hidden.context["rows"]] == ["other\u200bapp"]
    assert hidden.context["also_matched"][0]["reads_as"]


def test_the_pages_after_the_first_stay_put_while_callbacks_arrive(browse):
    """Support pages through a busy domain's failures. Between the first page and the next,
    the harvester archived newer callbacks (and one Live listed late, older than them all):
    the next page began with as many rows the first had already shown. It is read as the
    archive was at the first page; the first page, asked again, shows the newest."""
    domain = Domain.objects.create(name="paging.example.net", domain_type="liveVideo")
    now = timezone.now().replace(microsecond=0)
    ago = [now - dt.timedelta(minutes=20, seconds=i) for i in range(50)]
    archive(domain, *(("failed", moment) for moment in ago), stream="busy")
    # one domain: counted from its rollups (and the hours' edges from the records)
    query = {"domain": domain.name, "window": "1h", "size": "20"}

    def shown(response):
        return [r["record"].pk for r in response.context["rows"]]

    first = browse.get("/records/", query)
    as_of = re.search(r'name="as_of" form="filters" value="(\d+)"', first.content.decode())
    assert as_of and 'id="as-of"' not in first.content.decode()
    later = [now - dt.timedelta(minutes=1, seconds=i) for i in range(7)]
    archive(domain, *(("failed", moment) for moment in later), stream="busy")
    archive(domain, ("failed", now - dt.timedelta(minutes=45)), stream="busy")  # late
    pages = [shown(first)]
    for number in (2, 3):
        page = browse.get("/records/", {**query, "page": number, "as_of": as_of.group(1)})
        pages.append(shown(page))
        body = page.content.decode()
        assert 'id="as-of"' in body and f'value="{as_of.group(1)}"' in body  # kept on
        # counted as read: a third page, counted with the callbacks since, came out empty
        assert page.context["total"] == 50 and f"Page {number} of 3" in body
        assert page.context["counts"].classes == [("http_5xx", 50)]
        assert f"as_of={as_of.group(1)}" in html.unescape(body)  # the links without JS too
    seen = [pk for rows in pages for pk in rows]
    assert len(seen) == len(set(seen)) == 50  # each once, none left out
    newest = browse.get("/records/", query)  # the first page again: what has come since
    assert len(shown(newest)) == 20 and shown(newest)[:7] != pages[0][:7]
    assert int(
        re.search(r'name="as_of" form="filters" value="(\d+)"', newest.content.decode())[1]
    ) > int(as_of.group(1))
    # what cannot be a record's number, or a first page: read as the archive is now
    for junk in ("", "-1", "x", "1" * 40, "\u0661\u0662", "1.5"):
        page = browse.get("/records/", {**query, "page": 2, "as_of": junk})
        assert page.status_code == 200 and 'id="as-of"' not in page.content.decode()
    assert shown(browse.get("/records/", {**query, "page": 1, "as_of": as_of.group(1)})) == shown(
        newest
    )


def test_counts_by_result_and_class_sit_above_the_table(browse):
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d").content.decode()
    counts_html = body[body.index('id="counts"') :].split("</p>")[0]
    assert "delivered" in counts_html and "failed" in counts_html
    assert "failure=" in counts_html  # each class links to its records


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("window=custom&start={days100}&end={now}", "The archive keeps 90 days"),
        ("source=live&domain=" + TEAM_DOMAIN + "&window=custom&start={days8}&end={now}", "7 days"),
        ("source=live", "Choose a domain to ask the Live API"),
        ("source=live&domain=" + TEAM_DOMAIN + "&failure=timeout", "cannot filter by this"),
        ("window=custom&start={now}&end={hour_ago}", "end must be after the start"),
        ("window=custom", "Enter the start"),
        ("window=custom&end={hour_ago}", "Enter the start"),
        ("window=forever", "Select a valid choice"),
        ("status=maybe", "Select a valid choice"),
        ("failure=cosmic-rays", "Select a valid choice"),
        ("http=99", "greater than or equal to 100"),
        ("size=7", "Select a valid choice"),
        ("page=0", "greater than or equal to 1"),
        ("page=abc", "Enter a whole number"),
        ("start=yesterday&window=custom&end={now}", "Enter a valid date/time"),
        ("domain=nope.example.com", "There is no domain called nope.example.com"),
    ],
)
def test_bad_input_is_400_with_the_forms_message(browse, query, message):
    now = timezone.now()
    query = query.format(
        now=local(now),
        hour_ago=local(now - dt.timedelta(hours=1)),
        days8=local(now - dt.timedelta(days=8)),
        days100=local(now - dt.timedelta(days=100)),
    )
    response = browse.get(f"/records/?{query}", headers=HX)
    assert response.status_code == 400, response.content.decode()[:300]
    assert message in response.content.decode()
    if "start=yesterday" in query:  # what is wrong with the start given, not "enter one"
        assert "Enter the start" not in response.content.decode()


def test_a_custom_window_without_an_end_runs_until_now_and_says_so(browse):
    now = timezone.now()
    response = browse.get(f"/records/?window=custom&start={local(now - dt.timedelta(hours=3))}")
    assert response.status_code == 200
    filters = response.context["filters"]
    assert now - filters["end"] < dt.timedelta(minutes=1)
    assert response.context["form"]["end"].value() == ""  # shown empty: "until now"
    # a link without window or size shows the defaults it uses
    plain = browse.get(f"/records/?domain={TEAM_DOMAIN}")
    assert plain.context["form"]["window"].value() == "24h"
    assert plain.context["form"]["size"].value() == "50"


def test_paging_forward_deep_and_past_the_end(browse):
    first = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    pages = first.context["page"].paginator.num_pages
    assert pages > 2
    # without JS too, read as the archive was at the first page (as_of, its newest record)
    query = rf"domain={re.escape(TEAM_DOMAIN)}&amp;window=7d&amp;size=20&amp;page=2"
    link = rf'href="\?{query}&amp;as_of=\d+"'
    assert re.search(link, first.content.decode())
    second = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20&page=2", headers=HX)
    assert "<html" not in second.content.decode() and "Page 2 of" in second.content.decode()
    newest_second = max(r["record"].notify_time for r in second.context["rows"])
    assert min(r["record"].notify_time for r in first.context["rows"]) >= newest_second
    beyond = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20&page={pages + 5}")
    assert beyond.status_code == 200 and beyond.context["rows"]
    assert f"Page {pages} of {pages}" in beyond.content.decode()


def test_the_live_api_on_request_with_its_errors_shown(browse):
    sandbox_app.stats.reset()
    live = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=24h&size=100&source=live")
    assert live.status_code == 200 and "Asked the Live API directly" in live.content.decode()
    assert sandbox_app.stats.calls == {"DescribeLiveRecordNotifyRecords": 1}
    sandbox_app.faults.configure("DescribeLiveRecordNotifyRecords:error=1")
    failing = browse.get(
        f"/records/?domain={TEAM_DOMAIN}&window=24h&source=live", headers=HX
    ).content.decode()
    assert "The Live API could not answer" in failing and "RequestId" in failing
    # The archive answers without the Live API, whatever it is doing.
    archive = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=24h")
    assert archive.status_code == 200 and archive.context["rows"]


def test_the_archive_offers_the_live_api_for_the_newest_minutes(browse):
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h").content.decode()
    note = body[body.index('id="source-note"') :].split("</p>")[0]
    assert "complete for this domain up to" in note and "source=live" in note


def test_late_records_appear_after_the_next_harvest(browse):
    add_record(stream_name="late-arrival", notify_time=timezone.now() - dt.timedelta(minutes=9))
    assert browse.get("/records/?stream=late-arrival&window=1h").context["total"] == 0
    harvest_now()
    assert browse.get("/records/?stream=late-arrival&window=1h").context["total"] == 1


def test_hostile_text_is_escaped(browse):
    hostile = "<script>alert('x')</script>"
    add_record(
        stream_name="<b>s</b>",
        notify_url="https://hooks.example-shop.com/live/record",
        notify_content=hostile,
        notify_header='{"X":"<img src=x onerror=alert(1)>"}',
        notify_response=hostile,
        notify_result="failed",
        description="<i>bad</i>",
    )
    harvest_now()
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h").content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>s</b>" not in body


def test_characters_that_draw_nothing_are_shown_as_what_they_are(browse):
    """A pusher's stream `live<RLO>1-tset` read as "livetest-1" on every page (the override
    turned the rest around), which no search finds; a receiver's `<RLO>ok` read as "ko"; a
    zero-width space made two streams look alike. Each shows as its code point in a box
    naming it, the box keeping the character for Copy; the page's title writes it out."""
    add_record(
        stream_name="live\u202e1-tset",
        notify_result="failed",
        notify_response="HTTP 500 \u202eok\u202c",
        description="refused\u200b",
        notify_content='{"stream": "live\u202e1-tset"}',
    )
    harvest_now()
    record = ArchivedRecord.objects.get(stream_name="live\u202e1-tset")
    for path in [f"/records/?domain={TEAM_DOMAIN}&window=1h", f"/records/{record.pk}/"]:
        body = browse.get(path).content.decode()
        box = '<span class="ctl" title="Invisible character: RIGHT-TO-LEFT OVERRIDE"'
        assert f'live{box} data-char="\u202e">U+202E</span>1-tset' in body, path
        assert 'data-char="\u202c">U+202C</span>' in body  # the pop that ends the override
        assert 'refused<span class="ctl" title="Invisible character: ZERO WIDTH SPACE"' in body
        # no override anywhere but in the boxes' attributes, where it draws nothing
        assert body.count("\u202e") == body.count('data-char="\u202e"') >= 3, path
    title = re.search("<title>(.*?)</title>", body, re.S).group(1)
    assert title.startswith("live[U+202E]1-tset ·")


def test_notify_content_is_pretty_printed_when_it_parses(browse):
    add_record(
        stream_name="pretty",
        notify_content='7月26日 16:14{"domain":"al.xxxx.com","stream":"livestream01"}',
    )
    harvest_now()
    body = browse.get("/records/?window=1h&stream=pretty").content.decode()
    assert "{\n  &quot;domain&quot;: &quot;al.xxxx.com&quot;," in body


def test_a_record_has_its_own_page_with_the_config_of_that_moment(browse, lead):
    from dashboard.domains import services
    from dashboard.domains.kinds import RECORD
    from dashboard.domains.models import Domain

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    services.config_save(
        domain=domain,
        kind=RECORD,
        data={"notify_url": "https://hooks.example-shop.com/live/v9", "notify_req_auth": True},
        actor=lead,
        expected_version=domain.version("record"),
    )
    time.sleep(1.1)  # a delivery in a later second than the change
    add_record(stream_name="after-change", notify_time=timezone.now().replace(microsecond=0))
    harvest_now()
    record = ArchivedRecord.objects.get(stream_name="after-change")
    page = browse.get(f"/records/{record.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and "after-change" in body
    then = body[body.index('id="config-then"') :]
    assert "https://hooks.example-shop.com/live/v9" in then and "From audit entry #" in then
    older = ArchivedRecord.objects.filter(domain=domain).order_by("notify_time").first()
    assert (
        "No change is recorded before this delivery"
        in browse.get(f"/records/{older.pk}/").content.decode()
    )
    assert browse.get("/records/999999999/").status_code == 404


def test_export_is_exactly_what_is_on_screen_with_permalinks(browse):
    query = f"stream=Room&window=7d&status=failed&domain={OTHER_DOMAIN}"
    on_screen = browse.get(f"/records/?{query}&size=500")
    response = browse.get(f"/records/export.csv?{query}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header, data = rows[0], rows[1:]
    assert len(data) == on_screen.context["total"]
    stream = header.index("stream")
    assert all("room" in r[stream].lower() for r in data)
    assert all(r[header.index("result")] == "failed" for r in data)
    assert all(r[header.index("permalink")].startswith("http://testserver/records/") for r in data)


def test_failure_overview_puts_failing_now_first_then_the_days_rate(browse):
    sandbox_app.stats.reset()
    page = browse.get("/records/overview/")
    assert sandbox_app.stats.calls == {}  # no upstream call per row
    rows = page.context["rows"]
    assert page.context["sort"] == "-now"

    def now_key(row):
        hour = row.sort_values["now"]
        enough = bool(hour and hour.total >= 10)
        # among equal rates, more failures first
        return (
            enough,
            hour.rate if hour and hour.rate is not None else -1,
            hour.failed if hour else 0,
        )

    def day_rate(row):
        day = row.sort_values["24h"]
        return day.rate if day and day.rate is not None else -1

    # failing now first; its ties in the order of the day's rate
    keys = [(*now_key(r), day_rate(r)) for r in rows]
    assert keys == sorted(keys, reverse=True) and len(rows) >= 4
    shop = next(r for r in rows if r.domain.name == TEAM_DOMAIN).sort_values
    # "24 h" is the last 24 whole hours, the current one included; 7 d and 30 d likewise
    # (their whole days from the daily rollups): each equals a direct count of the archive.
    end = timezone.now().astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    end += dt.timedelta(hours=1)
    for period, span in (("24h", 1), ("7d", 7), ("30d", 30)):
        archived = ArchivedRecord.objects.filter(
            domain__name=TEAM_DOMAIN, notify_time__gte=end - dt.timedelta(days=span)
        )
        assert shop[period].total == archived.count()
        assert shop[period].failed == archived.filter(notify_result="failed").count()
    # the last hour: the last sixty minutes, to the second
    hour = ArchivedRecord.objects.filter(
        domain__name=TEAM_DOMAIN, notify_time__gte=timezone.now() - dt.timedelta(hours=1)
    )
    assert abs(shop["now"].total - hour.count()) <= 1
    by_rate = browse.get("/records/overview/?sort=-rate24").context["rows"]
    rates = [r.sort_values["24h"].rate for r in by_rate if r.sort_values["24h"]]
    assert rates == sorted(rates, reverse=True)
    by_name = browse.get("/records/overview/?sort=name").context["rows"]
    names = [r.domain.name for r in by_name]
    assert names == sorted(names)
    assert browse.get("/records/overview/?sort=bogus").status_code == 200


def test_failure_overview_pages_through_many_domains_in_one_order(browse):
    """Fifty domains a page, the order running on from page to page; a page asked for by the
    pager (htmx) is the table alone; a sort starts again at page one; junk is said."""
    from dashboard.domains.models import Domain

    Domain.objects.bulk_create(
        [Domain(name=f"quiet-{n:03}.example.net", domain_type="liveVideo") for n in range(60)]
    )
    everyone = Domain.objects.filter(gone_at__isnull=True).count()
    assert everyone > 60
    first = browse.get("/records/overview/")
    assert first.status_code == 200
    assert len(first.context["rows"]) == 50
    body = first.content.decode()
    assert f"Domains 1–50 of {everyone}, in this order." in body
    assert 'rel="next"' in body and 'id="trend"' in body
    # the failing domains are on the first page, ahead of the quiet ones
    assert first.context["rows"][0].domain.name != "quiet-000.example.net"
    pages = [first]
    for number in range(2, -(-everyone // 50) + 1):
        pages.append(
            browse.get("/records/overview/", {"page": number}, headers={"HX-Request": "true"})
        )
    later = pages[1].content.decode()
    assert 'id="results"' in later and 'id="trend"' not in later and "<html" not in later
    names = [row.domain.name for page in pages for row in page.context["rows"]]
    assert len(names) == len(set(names)) == everyone  # each domain once, none left out
    whole = [r.name for r in overview_order(sort="-now", now=timezone.now())[:everyone]]
    assert names == whole
    # the domains with nothing to rank them by are together, in the order of their names
    quiet = [n for n in names if n.startswith("quiet-")]
    first = names.index(quiet[0])
    assert names[first : first + len(quiet)] == quiet == sorted(quiet)
    # a header's sort link leaves the page behind
    assert 'href="?sort=-rate24"' in later
    # a page past the end is the last one; junk is refused with a message
    assert (
        browse.get("/records/overview/", {"page": 99}).context["rows"] == pages[-1].context["rows"]
    )
    junk = browse.get("/records/overview/", {"page": "abc"})
    assert junk.status_code == 400
    assert 'class="error"' in junk.content.decode() and "Page:" in junk.content.decode()


def test_failure_overview_rows_show_each_domains_numbers_and_escape_its_team(browse):
    """What the rows show are the selectors' numbers, formatted and linked, and a team's name
    is text, not markup."""
    from dashboard.domains.models import Domain

    domain = Domain.objects.select_related("team").get(name=TEAM_DOMAIN)
    domain.team.name = "<img src=x onerror=alert(1)> Ops"
    domain.team.save()
    page = browse.get("/records/overview/?sort=name")
    body = page.content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; Ops" in body
    row = next(r for r in page.context["rows"] if r.domain.name == TEAM_DOMAIN)
    day, week = row.sort_values["24h"], row.sort_values["7d"]
    found = re.search(
        rf'<tr>\s*<td class="wide"><a href="/domains/{re.escape(TEAM_DOMAIN)}/">.*?</tr>',
        body,
        re.S,
    )
    assert found, "no row for the domain"
    cells = found.group(0)
    link = f"/records/?domain={TEAM_DOMAIN}"
    hrefs = {
        text: html.unescape(href)
        for href, text in re.findall(r'<a href="(/records/[^"]+)">([^<]+)</a>', cells)
    }
    assert f"{day.rate * 100:.1f}%</span>" in cells
    assert f'href="{link}&amp;window=1h"' in cells  # the last hour's number opens its records
    # each number opens the records it counted: the totals are of whole hours, and "Last 24
    # hours" opened more callbacks than the number said (1,421 for 1,403 at 22:40)
    opened = browse.get(hrefs[f"{day.total:,}"]).context
    assert opened["total"] == day.total and opened["filters"]["start"].minute == 0
    assert browse.get(hrefs[f"{day.failed:,}"]).context["total"] == day.failed
    assert browse.get(hrefs[f"{week.rate * 100:.1f}%"]).context["total"] == week.failed
    assert '<svg class="spark"' in cells
    # the numbers of every domain are in the table, in the order of the sort
    names = re.findall(r'<td class="wide"><a href="/domains/([^/"]+)/">', body)
    assert names == [r.domain.name for r in page.context["rows"]]


QUIET_DOMAIN = "cdn.webinar-hub.com"  # a domain of the demo account that has no deliveries


def test_a_sparkline_climbs_when_a_domains_failures_grow(client, viewer, synced):
    """A domain failing 1% of its deliveries six days ago and 8% today: on a 0–100% scale its
    line rose by one pixel, as flat as a domain that never changes. The line is drawn to the
    domain's own worst day (at least 5%), and its text says so."""
    from dashboard.archive.models import DailyRollup

    domain = Domain.objects.get(name=QUIET_DOMAIN)
    assert not DailyRollup.objects.filter(domain=domain).exists()
    now = timezone.now()
    today = max(now - dt.timedelta(minutes=5), now.replace(hour=0, minute=0, second=0))  # UTC
    for day, failed in ((today - dt.timedelta(days=6), 1), (today, 8)):
        archive(
            domain,
            *[
                ("failed" if n < failed else "success", day + dt.timedelta(milliseconds=n))
                for n in range(100)
            ],
        )
    client.force_login(viewer)
    for page in ("/records/overview/?sort=name", "/domains/"):
        body = client.get(page).content.decode()
        row = re.search(rf'href="/domains/{re.escape(QUIET_DOMAIN)}/">.*?</tr>', body, re.S)
        title, points = re.search(
            r"<title>([^<]*)</title><polyline points=\"([^\"]*)\"", row.group(0)
        ).groups()
        heights = [18 - float(point.split(",")[1]) for point in points.split()]
        assert heights[0] < 4 and heights[-1] > 16, (page, points)  # from the foot to the head
        assert "1.0%" in title and title.endswith("8.0%. The line is drawn from 0 to 8.0%.")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kathmandu"])
def test_a_sparklines_days_are_the_readers_and_say_their_dates(client, viewer, synced, zone):
    """The line's days were UTC days, unnamed: in Shanghai a callback that failed at 07:00
    counted with yesterday's, and the day that ended at 08:00 was "today". Its days are the
    reader's, from midnight (as the chart's day bars), and its text names each one."""
    domain = Domain.objects.get(name=QUIET_DOMAIN)
    here = zoneinfo.ZoneInfo(zone)
    now = timezone.now()
    today = timezone.localtime(now, here).date()

    def begins(day: dt.date) -> dt.datetime:
        """The first whole UTC hour from the day's midnight (00:45 in Nepal), as a bar's."""
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=here).astimezone(dt.UTC)
        whole = midnight.replace(minute=0)
        return whole if whole == midnight else whole + dt.timedelta(hours=1)

    # the last day with a callback: today, unless today has not begun (00:20 in Nepal)
    last = today if begins(today) <= now - dt.timedelta(seconds=5) else today - dt.timedelta(1)
    archive(domain, ("failed", begins(last)), ("success", begins(last) - dt.timedelta(seconds=1)))
    archive(domain, ("success", begins(today - dt.timedelta(days=6))))
    days = [today - dt.timedelta(days=n) for n in range(6, -1, -1)]
    rates = {days[0]: "0.0%", last - dt.timedelta(days=1): "0.0%", last: "100.0%"}
    listed = ", ".join(f"{day:%m-%d} {rates.get(day, '—')}" for day in days)
    client.force_login(viewer)
    client.cookies["tz"] = quote(zone, safe="")
    for page in ("/records/overview/?sort=name", "/domains/"):
        body = client.get(page).content.decode()
        row = re.search(rf'href="/domains/{re.escape(QUIET_DOMAIN)}/">.*?</tr>', body, re.S)
        title = re.search(r"<title>([^<]*)</title>", row.group(0)).group(1)
        assert f"over the last 7 days: {listed}." in title, (page, title)


def test_times_show_in_the_users_time_zone_with_utc_on_hover(browse):
    when = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=30)
    add_record(stream_name="tz-check", notify_time=when)
    harvest_now()
    browse.cookies["tz"] = "Asia%2FShanghai"  # as the browser's script stores it
    body = browse.get("/records/?window=1h&stream=tz-check").content.decode()
    shanghai = when.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    utc = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f'title="{utc} UTC">{shanghai}</time>' in body
    assert "Times are shown in Asia/Shanghai (UTC+08:00)." in body


def test_a_custom_window_is_read_in_the_users_zone(browse):
    browse.cookies["tz"] = "Asia%2FShanghai"
    shanghai = dt.timezone(dt.timedelta(hours=8))
    start = (timezone.now().astimezone(shanghai) - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    end = (timezone.now().astimezone(shanghai) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = browse.get(f"/records/?window=custom&start={start}&end={end}")
    assert response.status_code == 200, response.content.decode()[:500]
    expected = dt.datetime.strptime(start, "%Y-%m-%dT%H:%M").replace(tzinfo=shanghai)
    assert response.context["filters"]["start"] == expected


def test_a_window_over_the_hour_clocks_go_back_holds_both_of_its_times(browse, settings):
    """New York, 2026-11-01: 01:00–01:59 came twice (EDT, then EST). A window typed over it
    was refused ("couldn't be interpreted … may be ambiguous") — the hour a support person
    looks at when something broke at the change. Now the window runs from the first 01:00 to
    the second 01:59: both records of 01:20 are in it."""
    from tests.conftest import archive

    settings.ARCHIVE_RETENTION_DAYS = 36500  # the change is a fixed day, whenever this runs
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    edt = dt.datetime(2026, 11, 1, 5, 20, tzinfo=dt.UTC)  # 01:20 EDT
    est = dt.datetime(2026, 11, 1, 6, 20, tzinfo=dt.UTC)  # 01:20 EST, an hour later
    archive(domain, ("success", edt), ("failed", est), stream="clock-change")
    browse.cookies["tz"] = "America%2FNew_York"
    window = "window=custom&start=2026-11-01T01:00&end=2026-11-01T01:59"
    response = browse.get(f"/records/?{window}&stream=clock-change")
    assert response.status_code == 200, response.content.decode()[:800]
    assert sorted(r["record"].notify_time for r in response.context["rows"]) == [edt, est]
    body = response.content.decode()
    assert 'value="2026-11-01T01:00"' in body and 'value="2026-11-01T01:59"' in body


def test_a_time_the_clocks_skipped_is_read_and_shown_as_read(browse, settings):
    """Lord Howe Island, 2026-10-04: clocks went from 02:00 to 02:30. 02:15 never was; it was
    refused. It reads with the offset of before (02:15 +10:30 is 02:45 +11:00), and the form
    says so."""
    settings.ARCHIVE_RETENTION_DAYS = 36500
    browse.cookies["tz"] = "Australia%2FLord_Howe"
    response = browse.get("/records/?window=custom&start=2026-10-04T02:15&end=2026-10-04T03:00")
    assert response.status_code == 200, response.content.decode()[:800]
    assert response.context["filters"]["start"] == dt.datetime(2026, 10, 3, 15, 45, tzinfo=dt.UTC)
    assert 'value="2026-10-04T02:45"' in response.content.decode()


def test_domain_list_shows_the_24h_failure_rate_from_the_archive(browse):
    sandbox_app.stats.reset()
    body = browse.get("/domains/").content.decode()
    assert sandbox_app.stats.calls == {}
    # the rate opens the failures it counted ("f of n callbacks failed" in its title)
    found = re.search(
        rf'<a href="(/records/\?domain={re.escape(TEAM_DOMAIN)}&amp;[^"]+)" class="badge [^"]*" '
        r'title="([\d,]+) of ([\d,]+) callbacks failed"',
        body,
    )
    href, failed = html.unescape(found.group(1)), int(found.group(2).replace(",", ""))
    assert "status=failed" in href and browse.get(href).context["total"] == failed


def test_a_last_hour_too_quiet_to_rank_by_says_why_it_ranks_lower(browse):
    """Three deliveries in the last hour, all failed: 100%, yet after the domains with enough
    deliveries — the badge is marked and says why, and the page has the legend."""
    from dashboard.domains.models import Domain
    from tests.conftest import archive

    quiet = Domain.objects.create(name="quiet-fails.example.net", domain_type="liveVideo")
    now = timezone.now()
    archive(quiet, *[("failed", now - dt.timedelta(minutes=m)) for m in (5, 10, 15)])
    busy = Domain.objects.create(name="busy.example.net", domain_type="liveVideo")
    archive(
        busy,
        ("failed", now - dt.timedelta(minutes=2)),
        *[("success", now - dt.timedelta(minutes=3 + m)) for m in range(11)],
    )
    page = browse.get("/records/overview/")
    rows = page.context["rows"]
    row = next(r for r in rows if r.domain.name == quiet.name)
    assert row.now.text == "100.0%" and "few" in row.now.css
    assert row.now.title == (
        "Only 3 deliveries in the last hour: ranked after the domains with at least 10."
    )
    enough = [r for r in rows if r.sort_values["now"] and r.sort_values["now"].total >= 10]
    assert enough and all(not r.now.title and "few" not in r.now.css for r in enough)
    assert rows.index(row) > max(rows.index(r) for r in enough)
    body = page.content.decode()
    assert f'title="{row.now.title}"' in body and 'id="few-note"' in body


def test_freshness_under_a_minute_reads_as_such_not_as_zero_minutes(browse):
    """Just harvested: "complete up to less than a minute ago", never "0 minutes ago"; an
    older edge still reads as timesince writes it."""
    from django.core.cache import cache

    from dashboard.archive.models import HarvestCursor
    from dashboard.archive.selectors import archive_freshness

    HarvestCursor.objects.update(harvested_until=timezone.now() - dt.timedelta(seconds=20))
    cache.clear()
    assert archive_freshness().harvested_until is not None
    body = browse.get("/records/overview/").content.decode()
    assert "Complete up to less than a minute ago." in body and "0 minutes" not in body
    HarvestCursor.objects.update(harvested_until=timezone.now() - dt.timedelta(minutes=7))
    cache.clear()
    assert "Complete up to 7\xa0minutes ago." in browse.get("/records/overview/").content.decode()


def test_the_header_search_reads_a_record_number_in_any_digits_and_says_when_it_is_gone(
    client, viewer, synced
):
    """The search "#²" (a digit to str.isdigit(), not to int()) was a 500; a record number
    pasted from a ticket whose record is gone showed the records page filtered by the name
    "#376000000", "No callbacks match these filters". It says there is no such record, and
    why. "＃123", as a Chinese input method types it, was a name search."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    (row,) = archive(domain, ("success", timezone.now()))
    client.force_login(viewer)
    for q in ("#\u00b2", "\u2460", "#\u00b9\u00b2"):
        answer = client.get("/search/", {"q": q})
        assert answer.status_code == 302 and answer["Location"].startswith("/records/?name=")
    arabic = "".join(chr(0x0660 + int(d)) for d in str(row.id))  # Arabic-Indic digits
    assert client.get("/search/", {"q": f"#{arabic}"})["Location"] == f"/records/{row.id}/"
    # a Chinese input method types "＃" and full-width digits; a ticket may say "# 123"
    wide = "".join(chr(0xFF10 + int(d)) for d in str(row.id))
    for q in (f"\uff03{row.id}", f"\uff03{wide}", f"# {row.id}"):
        assert client.get("/search/", {"q": q})["Location"] == f"/records/{row.id}/", q
    gone_wide = client.get("/search/", {"q": f"\uff03{row.id + 1000}"}, follow=True)
    assert f"There is no record #{row.id + 1000}" in gone_wide.content.decode()
    gone = client.get("/search/", {"q": f"#{row.id + 1000}"}, follow=True)
    assert gone.redirect_chain[-1][0] == "/records/"
    body = gone.content.decode()
    assert f"There is no record #{row.id + 1000} in the archive: it keeps 90 days" in body
    huge = client.get("/search/", {"q": "#" + "9" * 30}, follow=True).content.decode()
    assert "There is no record #999999999999999999999999999999 in the archive" in huge
    # a bare number may be a stream's name: it stays a name search
    assert client.get("/search/", {"q": "376000000"})["Location"].startswith("/records/?name=")


def test_the_number_pages_are_read_up_to_covers_every_record_archived(archived):
    """The pages after the first leave out the records numbered above the first page's
    `as_of`: it must cover every record visible then, also on PostgreSQL right after
    migration 0011 set the sequence past the records it moved (no number drawn since)."""
    from django.db import connection

    from dashboard.archive.selectors import newest_record_id, record_number_now

    newest = newest_record_id()
    assert newest > 0 and record_number_now() >= newest
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('\"archive_archivedrecord\"', 'id'), %s, "
                "false)",
                [newest + 1],
            )
        assert record_number_now() == newest
