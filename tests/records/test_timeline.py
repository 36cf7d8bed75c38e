"""One stream's timeline as support reads it: every callback of the stream across both
families and domains, grouped into push sessions in time order, with what is missing marked."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, archive, duplicate_ids

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

INGEST = "push.example-shop.com"
STREAM = "timeline-cam"  # the demo's own streams stay out of it


@pytest.fixture
def sessions(archived):
    """Four push sessions of live/timeline-cam, told by the ingest and the streaming domain."""
    ingest, streaming = Domain.objects.get(name=INGEST), Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now().replace(microsecond=0)
    s = dt.timedelta(seconds=1)

    def told(domain, notify_type, when, result="success"):
        archive(domain, (result, when), notify_type=notify_type, stream=STREAM)

    # 1. complete: publish → record_started → publish_done → the file, 40 s after the push
    t1 = now - dt.timedelta(hours=30)
    told(ingest, "publish", t1)
    told(streaming, "record_started", t1 + 3 * s)
    told(ingest, "publish_done", t1 + 3600 * s)
    told(streaming, "file_created", t1 + 3640 * s)
    # 2. recorded, ended, but no file came
    t2 = now - dt.timedelta(hours=20)
    told(ingest, "publish", t2)
    told(streaming, "record_started", t2 + 3 * s)
    told(ingest, "publish_done", t2 + 1800 * s)
    # 3. its file callback failed (and nobody resent it)
    t3 = now - dt.timedelta(hours=10)
    told(ingest, "publish", t3)
    told(streaming, "record_started", t3 + 3 * s)
    told(ingest, "publish_done", t3 + 600 * s)
    told(streaming, "file_created", t3 + 630 * s, result="failed")
    # 4. pushed five hours ago, never a publish_done, never recorded
    told(ingest, "publish", now - dt.timedelta(hours=5))
    return now


def page(client, window="7d"):
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": STREAM})
    return client.get(f"{url}?window={window}")


def test_sessions_in_time_order_with_what_is_missing_marked(client, viewer, sessions):
    client.force_login(viewer)
    response = page(client)
    assert response.status_code == 200
    timeline = response.context["timeline"]
    assert timeline.total == 12 and timeline.domains == [TEAM_DOMAIN, INGEST]
    newest_first = timeline.sessions
    assert len(newest_first) == 4
    complete = newest_first[3]
    assert [e.notify_type for e in complete.events] == [
        "publish",
        "record_started",
        "publish_done",
        "file_created",
    ]
    assert [e.domain_name for e in complete.events] == [INGEST, TEAM_DOMAIN, INGEST, TEAM_DOMAIN]
    assert complete.anomalies == [] and complete.files == 1
    assert [str(a) for a in newest_first[2].anomalies] == [
        "Recording started, but no recording file callback came."
    ]
    assert [str(a) for a in newest_first[1].anomalies] == [
        "A recording file callback failed and was never redelivered."
    ]
    assert [str(a) for a in newest_first[0].anomalies] == [
        "No publish_done: the push ended without a callback, or its callback was lost.",
        "Pushed, but no record_started although this stream is recorded.",
    ]
    body = response.content.decode()
    assert body.count('class="card session') == 4 and body.count("anomalous") == 3
    # each session's table reads top to bottom in time order
    first = body[body.rindex('id="session-4"') :]
    order = [
        first.index(t) for t in ("publish<", "record_started<", "publish_done<", "file_created<")
    ]
    assert order == sorted(order)
    # each record's Copy buttons copy that record (their targets' ids were c1, r1, h1… again
    # in every session: each copied the first session's record)
    assert duplicate_ids(body) == []


UNRELATED = "live.fitclass.cn"  # a streaming domain no ingest domain of the account feeds


def test_the_same_names_on_an_unrelated_domain_are_another_stream(client, viewer, sessions):
    """Stream names are not unique in an account: another team's domain records its own
    live/timeline-cam. Its callbacks were merged into this stream's sessions (its
    record_started hid the missing one, its failed file became this stream's anomaly). The
    domains that tell one stream's story are an ingest domain and the streaming domain it feeds
    — DescribeLiveDomainMapping, read by the sync — and the names on two such families are
    two streams: the page asks which, each record links to its own, each shows only its own."""
    unrelated = Domain.objects.get(name=UNRELATED)
    assert sorted(Domain.objects.get(name=INGEST).mapped.values_list("name", flat=True)) == [
        TEAM_DOMAIN
    ]  # as the sync read it from the Live API
    pushed = sessions - dt.timedelta(hours=5)
    for notify_type, when, result in (
        ("record_started", pushed + dt.timedelta(seconds=4), "success"),
        ("file_created", pushed + dt.timedelta(minutes=20), "failed"),
    ):
        archive(unrelated, (result, when), notify_type=notify_type, stream=STREAM)
    client.force_login(viewer)

    asked = page(client)
    body = asked.content.decode()
    assert asked.status_code == 200 and 'id="choose-family"' in body
    assert 'class="card session' not in body  # no merged sessions
    base = reverse("stream_timeline", kwargs={"app": "live", "stream": STREAM})
    assert f'href="?window=7d&amp;domain={TEAM_DOMAIN}">{TEAM_DOMAIN} + {INGEST}</a>' in body
    assert f'href="?window=7d&amp;domain={UNRELATED}">{UNRELATED}</a>' in body

    ours = client.get(f"{base}?window=7d&domain={TEAM_DOMAIN}")
    timeline = ours.context["timeline"]
    assert timeline.total == 12 and timeline.domains == [TEAM_DOMAIN, INGEST]
    assert [str(a) for a in timeline.sessions[0].anomalies] == [
        "No publish_done: the push ended without a callback, or its callback was lost.",
        "Pushed, but no record_started although this stream is recorded.",
    ]
    body = ours.content.decode()
    assert f"on {TEAM_DOMAIN} + {INGEST}" in body
    assert f'<input type="hidden" name="domain" value="{TEAM_DOMAIN}">' in body  # kept
    assert f'domain={UNRELATED}">{UNRELATED}</a>' in body  # "the same name, elsewhere"
    # the ingest domain names the same family
    assert client.get(f"{base}?window=7d&domain={INGEST}").context["timeline"].total == 12

    theirs = client.get(f"{base}?window=7d&domain={UNRELATED}").context["timeline"]
    assert theirs.total == 2 and theirs.domains == [UNRELATED]
    assert [str(a) for s in theirs.sessions for a in s.anomalies] == [
        "A recording file callback failed and was never redelivered."
    ]
    rows = client.get(f"/records/?stream={STREAM}&domain={UNRELATED}&window=7d").content.decode()
    assert rows.count(f'href="{base}?domain={UNRELATED}&amp;window=') == 2

    nowhere = client.get(f"{base}?domain=no-such.example.com")
    assert nowhere.status_code == 404 and "No domain is named" in nowhere.content.decode()


def test_two_streaming_domains_fed_by_one_ingest_domain_are_one_family(client, viewer, archived):
    """An ingest domain may feed two streaming domains: a stream recorded on both (and whose
    publish is not in the window) is one stream, joined through the ingest domain — it was
    asked about as two, while naming either showed all three."""
    ingest = Domain.objects.get(name=INGEST)
    unrelated = Domain.objects.get(name=UNRELATED)
    ingest.mapped.add(unrelated)  # as a sync would read it
    now = timezone.now().replace(microsecond=0)
    for domain in (Domain.objects.get(name=TEAM_DOMAIN), unrelated):
        archive(
            domain,
            ("success", now - dt.timedelta(hours=1)),
            notify_type="file_created",
            stream="fed-twice",
        )
    client.force_login(viewer)
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": "fed-twice"})
    timeline = client.get(url).context["timeline"]
    assert not timeline.choose and timeline.families == [[TEAM_DOMAIN, UNRELATED, INGEST]]
    assert timeline.total == 2
    assert client.get(f"{url}?domain={UNRELATED}").context["timeline"].total == 2


def test_a_shorter_window_shows_only_its_sessions(client, viewer, sessions):
    client.force_login(viewer)
    timeline = page(client, "24h").context["timeline"]
    assert len(timeline.sessions) == 3 and timeline.total == 8
    # an unknown window is the default one, not an error
    assert page(client, "forever").context["window"] == "7d"


def test_every_record_row_links_to_its_streams_timeline(client, viewer, sessions):
    client.force_login(viewer)
    body = client.get(f"/records/?stream={STREAM}&window=7d").content.decode()
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": STREAM})
    # each on its own domain's family (the same names elsewhere are another stream), opened
    # at that record
    links = re.findall(
        rf'href="{re.escape(url)}\?domain=([^&"]+)&amp;window=\w+&amp;record=(\d+)#focus-record"',
        body,
    )
    assert sorted(domain for domain, _ in links) == sorted([INGEST] * 7 + [TEAM_DOMAIN] * 5)
    assert {record for _, record in links} == set(re.findall(r'data-record="(\d+)"', body))
    record = links[0][1]
    assert f'href="{url}?domain=' in client.get(f"/records/{record}/").content.decode()


def test_a_stream_with_nothing_archived_is_an_empty_page_not_an_error(client, viewer, archived):
    client.force_login(viewer)
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": "never-pushed"})
    response = client.get(url)
    assert response.status_code == 200
    assert "The archive holds no callbacks of this stream" in response.content.decode()
    hostile = reverse("stream_timeline", kwargs={"app": "<img src=x>", "stream": "a\u202eb"})
    body = client.get(hostile).content.decode()
    assert "<img src=x>" not in body and "&lt;img src=x&gt;" in body


def test_signing_in_is_required(client, archived):
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": STREAM})
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_sessions_come_twenty_a_page_newest_first(client, viewer, archived):
    ingest = Domain.objects.get(name=INGEST)
    now = timezone.now().replace(microsecond=0)
    archive(
        ingest,
        *[("success", now - dt.timedelta(hours=n + 1)) for n in range(21)],
        notify_type="publish",
        stream="paged-cam",
    )
    client.force_login(viewer)
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": "paged-cam"})
    first = client.get(url).content.decode()
    assert first.count('class="card session') == 20 and "Older sessions" in first
    second = client.get(url + "?page=2")
    assert second.content.decode().count('class="card session') == 1
    assert second.context["sessions"][0]["session"].published == now - dt.timedelta(hours=21)
    assert client.get(url + "?page=junk").status_code == 200  # the first page, not an error


@pytest.mark.parametrize(
    ("typed", "lands_on"),
    [
        (f"live/{STREAM}", f"/records/streams/live/{STREAM}/"),
        (f"  live/{STREAM} ", f"/records/streams/live/{STREAM}/"),
        ("order_id=42", "/records/?q=order_id%3D42&window=24h"),  # never seen: a text search
        ("live/", "/records/?name=live%2F&window=24h"),  # not a stream: a name search
        ("a/b/c", "/records/?name=a%2Fb%2Fc&window=24h"),
        # no stream of these names: the streams holding them (an empty timeline, a dead end)
        ("live/timeline", "/records/?app=live&stream=timeline&window=7d"),
        ("Live/timeline-cam", "/records/?app=Live&stream=timeline-cam&window=7d"),
        # keyed with a Chinese input method: in its full-width mode, or with the `/` key's `、`
        ("ｌｉｖｅ／ｔｉｍｅｌｉｎｅ－ｃａｍ", f"/records/streams/live/{STREAM}/"),
        (f"live、{STREAM}", f"/records/streams/live/{STREAM}/"),
        ("order_id＝４２", "/records/?q=order_id%3D42&window=24h"),
        ("ｔｉｍｅｌｉｎｅ", "/records/?name=timeline&window=24h"),
        (
            "直播、回放、cam",
            "/records/?name=%E7%9B%B4%E6%92%AD%E3%80%81%E5%9B%9E%E6%94%BE%E3%80%81cam&window=24h",
        ),
    ],
)
def test_the_header_search_opens_a_streams_timeline_or_searches_push_parameters(
    client, viewer, archived, typed, lands_on
):
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("success", timezone.now() - dt.timedelta(hours=1)), stream=STREAM)
    client.force_login(viewer)
    response = client.get("/search/", {"q": typed})
    assert response.status_code == 302 and response["Location"] == lands_on


def test_a_stream_named_in_full_width_letters_is_found_as_typed(client, viewer, archived):
    """Names may hold any character: the header search reads full-width letters as ASCII
    (how a Chinese input method types them) only when no stream is named as they are."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("success", timezone.now() - dt.timedelta(hours=1)), stream="ｃａｍ１")
    client.force_login(viewer)
    response = client.get("/search/", {"q": "live/ｃａｍ１"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "stream_timeline", kwargs={"app": "live", "stream": "ｃａｍ１"}
    )


@pytest.mark.parametrize(
    ("pasted", "lands_on"),
    [
        # a push URL as a customer hands it over, its auth_key and business parameters too
        (
            f"rtmp://{INGEST}/live/{STREAM}?auth_key=1700000000-0-0-0a1b2c&order_id=42",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        (
            f"RTMPS://{INGEST.upper()}:1936/live/{STREAM}",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        # playback: HTTP-FLV and HLS (the format's suffix is no part of the name), RTS
        (
            f"https://{TEAM_DOMAIN}/live/{STREAM}.flv?auth_key=1-0-0-x",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}",
        ),
        (
            f"http://{TEAM_DOMAIN}/live/{STREAM}.M3U8",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}",
        ),
        (
            f"artc://{TEAM_DOMAIN}/live/{STREAM}",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}",
        ),
        # SRT names the stream in its streamid
        (
            f"srt://{INGEST}:1105?streamid=#!::h={INGEST},r=/live/{STREAM}?auth_key=1-0-0-x,m=publish",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        # over RTMP a name is as it is pushed: ".flv" is part of it (no such stream here)
        (f"rtmp://{INGEST}/live/{STREAM}.flv", f"/records/?app=live&stream={STREAM}.flv&window=7d"),
        # Live's own protocol on a host that is none of the domains (a CNAME): every domain's
        (f"rtmp://live.cdn.example.net/live/{STREAM}", f"/records/streams/live/{STREAM}/"),
        # no stream of these names: the streams holding them, as "app/stream" typed
        (f"rtmp://{INGEST}/live/no-such-cam", "/records/?app=live&stream=no-such-cam&window=7d"),
        # a receiver's URL (a web URL on a host that is no domain): the callbacks sent there
        (
            "https://hooks.example-shop.com/live/record",
            "/records/?receiver=hooks.example-shop.com&window=24h",
        ),
        (
            "https://Hooks.Example.com:8443/a/b/c?x=1",
            "/records/?receiver=hooks.example.com&window=24h",
        ),
        ("http://[2001:db8::1]:9000/cb", "/records/?receiver=%5B2001%3Adb8%3A%3A1%5D&window=24h"),
        # a domain's URL that names no stream: the domain's page
        (f"https://{TEAM_DOMAIN}/", f"/domains/{TEAM_DOMAIN}/"),
        # copied out of a chat: quotes around it, a Chinese comma after it
        (
            f"“rtmp://{INGEST}/live/{STREAM}?auth_key=1-0-0-x”，",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        (
            f"(https://{TEAM_DOMAIN}/live/{STREAM}.m3u8).",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}",
        ),
        # a whole line of chat around it
        (
            f"推流地址：rtmp://{INGEST}/live/{STREAM}?auth_key=1-0-0-x，麻烦查一下回调",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        (
            "callbacks to https://hooks.example-shop.com/live/record fail since 9am",
            "/records/?receiver=hooks.example-shop.com&window=24h",
        ),
        # no URL after all: a name search, as before
        ("rtmp://[::1", "/records/?name=rtmp%3A%2F%2F%5B%3A%3A1&window=24h"),
        (
            "ftp://files.example.com/live/cam",
            "/records/?name=ftp%3A%2F%2Ffiles.example.com%2Flive%2Fcam&window=24h",
        ),
    ],
)
def test_a_url_pasted_into_the_header_search_opens_its_stream_or_its_receivers_callbacks(
    client, viewer, archived, pasted, lands_on
):
    """Support staff are handed the URL a customer pushes to or plays from, or the one their
    callbacks should reach, and paste it whole: it was a text search of the last 24 hours that
    found nothing (its auth_key made it a push parameter's; without one its slashes made it no
    "app/stream")."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("success", timezone.now() - dt.timedelta(hours=1)), stream=STREAM)
    client.force_login(viewer)
    response = client.get("/search/", {"q": pasted})
    assert response.status_code == 302 and response["Location"] == lands_on
    assert client.get(lands_on).status_code == 200


@pytest.mark.parametrize(
    ("typed", "lands_on"),
    [
        # a domain's URL copied without its scheme (an address bar, a chat): as pasted whole
        (f"{TEAM_DOMAIN}/", f"/domains/{TEAM_DOMAIN}/"),
        (
            f"{INGEST}/live/{STREAM}?auth_key=1-0-0-x",
            f"/records/streams/live/{STREAM}/?domain={INGEST}",
        ),
        (
            f"{TEAM_DOMAIN.upper()}:443/live/{STREAM}.m3u8",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}",
        ),
        # a receiver's host name alone, one a domain's callbacks go to: the callbacks sent there
        ("hooks.example-shop.com", "/records/?receiver=hooks.example-shop.com&window=24h"),
        ("Hooks.Example-Shop.com.", "/records/?receiver=hooks.example-shop.com&window=24h"),
        # a name that only begins as a receiver's does: a name search, as before
        ("hooks.example-shop.co", "/records/?name=hooks.example-shop.co&window=24h"),
        ("hooks.example-shop", "/records/?name=hooks.example-shop&window=24h"),
        # a path on a host that is no domain: as before
        ("cdn.example.net/live/cam", "/records/?name=cdn.example.net%2Flive%2Fcam&window=24h"),
    ],
)
def test_a_domains_url_without_its_scheme_or_a_receivers_host_alone_is_found(
    client, viewer, synced, archived, typed, lands_on
):
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("success", timezone.now() - dt.timedelta(hours=1)), stream=STREAM)
    client.force_login(viewer)
    response = client.get("/search/", {"q": typed})
    assert response.status_code == 302 and response["Location"] == lands_on


@pytest.mark.parametrize(
    ("typed", "lands_on"),
    [
        # the tail of a player's address, copied without its host
        (f"/live/{STREAM}.m3u8?auth_key=1-0-0-x", f"/records/streams/live/{STREAM}/"),
        (f"live/{STREAM}.flv", f"/records/streams/live/{STREAM}/"),
        (f"/live/{STREAM}/", f"/records/streams/live/{STREAM}/"),
        (f"“live/{STREAM}?from=app”", f"/records/streams/live/{STREAM}/"),
        (f"live/{STREAM}_lhd.flv", f"/records/streams/live/{STREAM}/?played_as={STREAM}_lhd"),
        # a stream named with the suffix is itself
        (f"live/{STREAM}-rec.flv", f"/records/streams/live/{STREAM}-rec.flv/"),
        # names no stream has: a name search, as before
        ("/live/no-such-cam.flv", "/records/?name=%2Flive%2Fno-such-cam.flv&window=24h"),
        (f"/live/{STREAM}/x", f"/records/?name=%2Flive%2F{STREAM}%2Fx&window=24h"),
    ],
)
def test_a_players_path_copied_without_its_host_opens_the_stream(
    client, viewer, archived, typed, lands_on
):
    """The tail of a player's address, "/live/cam.m3u8?auth_key=…", found 0 callbacks (a name
    search of the text as typed); "live/cam.flv" a timeline of no stream."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    when = timezone.now() - dt.timedelta(hours=1)
    archive(streaming, ("success", when), stream=STREAM)
    archive(streaming, ("success", when), stream=f"{STREAM}-rec.flv")
    archive(streaming, ("success", when), stream=f"{STREAM}-rec")
    client.force_login(viewer)
    response = client.get("/search/", {"q": typed})
    assert response.status_code == 302 and response["Location"] == lands_on


@pytest.mark.parametrize(
    ("typed", "lands_on"),
    [
        # a transcoded stream is played as <stream>_<template id>, a delayed one as -alidelay
        (
            f"https://{TEAM_DOMAIN}/live/{STREAM}_lhd.flv?auth_key=1-0-0-x",
            f"/records/streams/live/{STREAM}/?domain={TEAM_DOMAIN}&played_as={STREAM}_lhd",
        ),
        (
            f"live/{STREAM}_720p-h265",
            f"/records/streams/live/{STREAM}/?played_as={STREAM}_720p-h265",
        ),
        (f"live/{STREAM}-alidelay", f"/records/streams/live/{STREAM}/?played_as={STREAM}-alidelay"),
        # a name of its own, known: itself
        (f"live/{STREAM}_backup", f"/records/streams/live/{STREAM}_backup/"),
        # nothing known under the name before the template's: the streams holding it
        ("live/no-such-cam_lhd", "/records/?app=live&stream=no-such-cam_lhd&window=7d"),
    ],
)
def test_a_playback_name_of_a_transcoded_or_delayed_stream_opens_the_pushed_streams_timeline(
    client, viewer, archived, typed, lands_on
):
    """A customer hands over the URL their player plays — a transcoded rendition's, whose name
    Live never sends a callback or lists a push under: it was "no stream of these names"."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    when = timezone.now() - dt.timedelta(hours=1)
    archive(streaming, ("success", when), stream=STREAM)
    archive(streaming, ("success", when), stream=f"{STREAM}_backup")
    client.force_login(viewer)
    response = client.get("/search/", {"q": typed}, follow=True)
    assert response.redirect_chain[0][0] == lands_on
    page = html.unescape(response.content.decode())
    said = "is a playback name of the stream"
    if "played_as=" in lands_on:
        name = typed.rsplit("/", 1)[1].split(".")[0]
        note = (
            f"{name} is a playback name of the stream {STREAM} (transcoded or delayed): "
            f"Live's callbacks and pushes are {STREAM}'s."
        )
        assert note in page
        # said by the URL, not once: a reload (and Back, and the link sent on) says it again
        assert note in html.unescape(client.get(lands_on).content.decode())
        # the window form keeps it
        assert f'name="played_as" value="{name}"' in page
    else:
        assert said not in page


@pytest.mark.parametrize(
    "played_as",
    [
        "other-stream_lhd",  # another stream's rendition
        f"{STREAM}_",  # no template after the name
        f"{STREAM}x_lhd",
        "Call +86 400 000: your account is locked",  # a message someone wants shown
    ],
)
def test_a_timeline_link_cannot_be_made_to_say_another_streams_name(
    client, viewer, archived, played_as
):
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("success", timezone.now() - dt.timedelta(hours=1)), stream=STREAM)
    client.force_login(viewer)
    page = client.get(f"/records/streams/live/{STREAM}/", {"played_as": played_as})
    assert page.status_code == 200
    body = page.content.decode()
    assert "playback name" not in body and 'name="played_as"' not in body


def test_a_pasted_receivers_url_lists_the_callbacks_sent_to_it(client, viewer, archived):
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(streaming, ("failed", now - dt.timedelta(minutes=5)), url="https://rx.example.org/cb")
    client.force_login(viewer)
    landed = client.get("/search/", {"q": "https://rx.example.org/cb?token=1"}, follow=True)
    rows = landed.context["rows"]
    assert [r["record"].notify_url for r in rows] == ["https://rx.example.org/cb"]


def test_a_stream_pushed_in_the_demo_reads_as_its_pushes(client, viewer, archived):
    """make run's demo, harvested: a stream pushed through push.example-shop.com reads as its
    pushes, each session opened by its own publish, with at most its record_started, its
    publish_done and its file. Before, the pushes shared the background recording traffic's
    dozen names and overlapped one another: one stream showed thousands of sessions, most of
    them "missing or failed"."""
    from collections import Counter

    from dashboard.sandbox import traffic
    from dashboard.sandbox.models import SandboxDomain

    now = timezone.now()
    since, until = now - dt.timedelta(hours=22), now - dt.timedelta(hours=1)
    per_hour = SandboxDomain.objects.get(name=INGEST).records_per_hour / 2
    plan = [
        s
        for s in traffic.push_sessions(TEAM_DOMAIN, per_hour, since, until)
        if since <= s.began < until and not getattr(s, "blip", False)
    ]
    (app, stream), pushes = Counter((s.app, s.stream) for s in plan).most_common(1)[0]
    assert pushes >= 3  # the test is not vacuous
    url = reverse("stream_timeline", kwargs={"app": app, "stream": stream})
    client.force_login(viewer)
    response = client.get(f"{url}?window=24h&domain={TEAM_DOMAIN}")
    inside = [s for s in response.context["timeline"].sessions if since <= s.start < until]
    assert all(s.published for s in inside), "sessions of callbacks that no push opened"
    assert sorted(s.published for s in inside) == sorted(
        s.began.replace(microsecond=0) for s in plan if (s.app, s.stream) == (app, stream)
    )
    for session in inside:
        kinds = Counter(e.notify_type for e in session.events)
        assert set(kinds) <= {"publish", "record_started", "publish_done", "file_created"}
        assert max(kinds.values()) == 1, kinds


def test_a_session_of_thousands_shows_its_ends_and_links_the_rest(client, viewer, archived):
    """A stream recorded for days (a 24/7 channel) is one session of thousands of callbacks:
    its card shows the first and last ten and links those between to the records list (the
    page was every one of them: 10 MB for one demo stream)."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=20)
    every = [start + dt.timedelta(minutes=10 * n) for n in range(45)]  # one file each 10 min
    archive(streaming, *(("success", t) for t in every), stream="channel-24")
    client.force_login(viewer)
    url = reverse("stream_timeline", kwargs={"app": "live", "stream": "channel-24"})
    response = client.get(url)
    body = response.content.decode()
    (session,) = response.context["timeline"].sessions
    assert len(session.events) == 45 and "45 callbacks" in body
    assert body.count('<tbody class="record"') == 20
    shown = re.findall(r'<time datetime="([^"]+)"', body)
    expected = every[:10] + every[-10:]
    assert [dt.datetime.fromisoformat(t) for t in shown] == expected
    assert "25 more callbacks of this session" in body
    link = re.search(r'<tbody class="between">.*?href="([^"]+)"', body, re.S).group(1)
    between = client.get(link.replace("&amp;", "&"))
    assert between.status_code == 200
    listed = {r["record"].notify_time for r in between.context["rows"]}
    assert set(every[10:-10]) <= listed <= set(every)


def test_the_link_to_a_sessions_callbacks_between_opens_those_only(client, viewer, archived):
    """Callbacks seconds apart (status notifications of a busy stream): "25 more callbacks of
    this session" opened the whole minutes they spanned, 27 with two of those shown."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(second=30, microsecond=0) - dt.timedelta(hours=2)
    every = [start + dt.timedelta(seconds=20 * n) for n in range(45)]
    archive(streaming, *(("success", t) for t in every), stream="busy")
    client.force_login(viewer)
    body = client.get(reverse("stream_timeline", kwargs={"app": "live", "stream": "busy"}))
    body = body.content.decode()
    assert "25 more callbacks of this session" in body
    link = re.search(r'<tbody class="between">.*?href="([^"]+)"', body, re.S).group(1)
    between = client.get(html.unescape(link))
    assert between.context["total"] == 25
    assert {r["record"].notify_time for r in between.context["rows"]} == set(every[10:-10])
    # the window's ends show their seconds, and the inputs take them
    page = between.content.decode()
    first = timezone.localtime(every[10]).strftime("%Y-%m-%dT%H:%M:%S")
    assert re.search(
        rf'<input type="datetime-local" name="start" value="{first}"[^>]*step="1"', page
    )


def test_a_record_opens_its_streams_timeline_at_itself(client, viewer, archived):
    """From a record's page, "This stream's timeline" opens at that record: its session's page
    (over a window that holds it), the record shown with five either side even in the middle
    of a long session, and marked."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=20)
    every = [start + dt.timedelta(minutes=10 * n) for n in range(45)]
    records = archive(streaming, *(("success", t) for t in every), stream="channel-old")
    # newer sessions of the same stream, so that the record's is not on the first page
    for day in range(25):
        later = start + dt.timedelta(days=1, hours=12 * day)
        archive(streaming, ("success", later), stream="channel-old")
    middle = records[22]
    client.force_login(viewer)
    page = client.get(f"/records/{middle.id}/").content.decode()
    link = re.search(r'href="([^"]+)">This stream', page).group(1).replace("&amp;", "&")
    assert "window=30d" in link and link.endswith("#focus-record")
    response = client.get(link.split("#")[0])
    body = response.content.decode()
    assert response.context["page"].number == 2  # 26 sessions, 20 a page: the oldest is on 2
    marked = r'<tbody class="record focus" id="focus-record"[^>]*data-record="(\d+)"'
    assert re.findall(marked, body) == [str(middle.id)]
    shown = [dt.datetime.fromisoformat(t) for t in re.findall(r'<time datetime="([^"]+)"', body)]
    assert shown[-31:] == every[:10] + every[17:28] + every[-10:]  # the oldest session: last
    assert body.count('<tbody class="between">') == 2
    assert body.count("… 7 more callbacks of this session") == 2


def test_a_record_older_than_the_callbacks_shown_is_said_and_linked(client, viewer, archived):
    """A busy stream holds more than the 5,000 callbacks a timeline reads in the window: opened
    at an older record, the page says so and links that record's hour in the records list,
    rather than open silently somewhere else."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(days=4)
    every = [start + dt.timedelta(minutes=n) for n in range(5_010)]
    oldest = archive(streaming, *(("success", t) for t in every), stream="busy-cam")[0]
    client.force_login(viewer)
    page = client.get(f"/records/{oldest.id}/").content.decode()
    link = re.search(r'href="([^"]+)">This stream', page).group(1).replace("&amp;", "&")
    body = client.get(link.split("#")[0]).content.decode()
    assert 'id="focus-record"' not in body
    note = re.search(r'id="record-not-shown">(.*?)</p>', body, re.S).group(1)
    assert f"Record #{oldest.id}, which this page was opened at, is older" in note
    hour = re.search(r'href="([^"]+)"', note).group(1).replace("&amp;", "&")
    listed = client.get(hour).context["rows"]
    assert oldest.id in {row["record"].pk for row in listed}
    # a record that is shown, or of another stream, says nothing
    assert (
        "record-not-shown"
        not in client.get(
            link.split("#")[0].replace(f"record={oldest.id}", "record=1")
        ).content.decode()
    )


def test_a_push_whose_callback_never_came_is_found_from_the_push_history(client, viewer, archived):
    """Every push of Live's push history has its publish callback in the archive — until one
    is lost: then the timeline shows that push as a session of its own, marked."""
    from dashboard.archive.models import ArchivedRecord
    from dashboard.archive.pushes import SAME_PUSH

    now = timezone.now()
    publishes = ArchivedRecord.objects.filter(notify_type="publish")
    # one with no other publish of its stream near it (on any domain: the timeline is the
    # stream's): a push within SAME_PUSH has that one's callback to show for it, and the
    # demo's pushes are random
    publish = next(
        p
        for p in publishes.filter(
            domain_name=INGEST,
            notify_time__range=(now - dt.timedelta(hours=20), now - dt.timedelta(hours=4)),
        ).order_by("notify_time")
        if not publishes.filter(
            app_name=p.app_name,
            stream_name=p.stream_name,
            notify_time__range=(p.notify_time - SAME_PUSH, p.notify_time + SAME_PUSH),
        )
        .exclude(pk=p.pk)
        .exists()
    )
    url = reverse(
        "stream_timeline", kwargs={"app": publish.app_name, "stream": publish.stream_name}
    )
    url += f"?domain={INGEST}&"  # the demo's stream names are on several unrelated domains
    client.force_login(viewer)
    never = "the callback never came"
    assert never not in client.get(url + "window=24h").content.decode()
    ArchivedRecord.objects.filter(pk=publish.pk).delete()  # the callback that never came
    response = client.get(url + "window=24h")
    ghosts = [
        s
        for s in response.context["timeline"].sessions
        if any(never in str(a) for a in s.anomalies)
    ]
    assert [g.published for g in ghosts] == [publish.notify_time] and ghosts[0].events == []
    on_page = response.context["timeline"].sessions.index(ghosts[0]) // 20 + 1
    shown = client.get(url + f"window=24h&page={on_page}").content.decode()
    assert shown.count(never) == 1


def test_the_timeline_reads_the_checked_push_history_and_says_how_far(client, viewer, sessions):
    """The page never asks Live itself (an account's hundreds of ingest domains at 3 calls a
    second would not fit in a page view): it shows what check_pushes stored, and says up to
    when — or that no check has run yet."""
    from dashboard.archive.models import HarvestCursor
    from dashboard.sandbox import app as sandbox_app

    sandbox_app.faults.configure("DescribeLiveStreamsPublishList:error=1")
    client.force_login(viewer)
    body = page(client, "30d").content.decode()
    assert body.count('class="card session') == 4
    assert "push history is checked against the archive up to" in body
    HarvestCursor.objects.filter(domain__name=INGEST).update(pushes_checked_until=None)
    body = page(client, "30d").content.decode()
    assert "has not been checked against the archive yet" in body


def test_a_stream_whose_name_has_a_slash_has_a_timeline_too(client, viewer, archived):
    """Live's records may name a stream "events/2026-12"; a path segment cannot carry it, so
    its rows link to the same page addressed by query, whose window form keeps the names."""
    ingest = Domain.objects.get(name=INGEST)
    now = timezone.now().replace(microsecond=0)
    archive(ingest, ("success", now - dt.timedelta(hours=2)), notify_type="publish", stream="ev/12")
    client.force_login(viewer)
    rows = client.get("/records/?stream=ev%2F12&window=24h").content.decode()
    by_query = "/records/streams/?app=live&amp;stream=ev%2F12"
    assert f'href="{by_query}&amp;domain={INGEST}&amp;window=' in rows
    page = client.get("/records/streams/?app=live&stream=ev%2F12")
    body = page.content.decode()
    assert page.status_code == 200 and "<h1>live / ev/12</h1>" in body
    assert body.count('class="card session') == 1
    assert '<input type="hidden" name="stream" value="ev/12">' in body
    week = client.get("/records/streams/?app=live&stream=ev%2F12&window=30d")
    assert week.context["window"] == "30d" and week.context["timeline"].total == 1
    # the header search keeps "a/b/c" a name search (which slash splits it is anyone's guess)
    assert client.get("/search/?q=live/ev/12")["Location"].startswith("/records/?name=")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "Name the app and the stream"),
        ("app=live", "Name the app and the stream"),
        ("app=live&stream=%20", "Name the app and the stream"),
        ("app=live&stream=" + "x" * 257, "at most 256 characters"),
        ("app=live&stream=a%00b", "“stream” contains a NUL character"),
    ],
)
def test_a_timeline_by_query_without_usable_names_is_a_400_that_says_so(
    client, viewer, archived, query, says
):
    client.force_login(viewer)
    answer = client.get(f"/records/streams/?{query}")
    assert answer.status_code == 400 and says in answer.content.decode()


def test_a_session_over_midnight_shows_the_date_its_end_is_on(client, viewer, archived):
    """A push from 23:50 to 00:20 in Shanghai read "Pushed 2026-12-06 23:50:00 → 00:20:00", and
    a run of callbacks "08:23:47 → 00:53:10": ending before it began."""
    ingest, streaming = Domain.objects.get(name=INGEST), Domain.objects.get(name=TEAM_DOMAIN)
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    today = timezone.now().astimezone(shanghai).date()
    start = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(23, 50), tzinfo=shanghai)
    end = start + dt.timedelta(minutes=30)
    archive(ingest, ("success", start), notify_type="publish", stream=STREAM)
    archive(ingest, ("success", end), notify_type="publish_done", stream=STREAM)
    # a run of callbacks without a publish, within one day
    alone = start - dt.timedelta(hours=12)
    archive(streaming, ("success", alone), notify_type="file_created", stream=STREAM)
    archive(streaming, ("success", alone + dt.timedelta(minutes=5)), stream=STREAM)
    client.force_login(viewer)
    client.cookies["tz"] = "Asia%2FShanghai"
    body = html.unescape(page(client).content.decode())
    assert f"Pushed {start:%Y-%m-%d %H:%M:%S} → {end:%Y-%m-%d %H:%M:%S}" in body
    later = alone + dt.timedelta(minutes=5)
    assert f"Callbacks {alone:%Y-%m-%d %H:%M:%S} → {later:%H:%M:%S} " in body
    # in UTC the push ends on its own day: the time alone
    client.cookies["tz"] = "UTC"
    body = html.unescape(page(client).content.decode())
    utc = dt.UTC
    assert (
        f"Pushed {start.astimezone(utc):%Y-%m-%d %H:%M:%S} → {end.astimezone(utc):%H:%M:%S} "
        in body
    )


@pytest.mark.parametrize("field", ["stream", "name"])  # name: the header search's
@pytest.mark.parametrize("typed", [f"{STREAM}_lhd", f'"{STREAM}-alidelay"'])
def test_a_records_filter_on_a_playback_name_offers_the_pushed_streams_callbacks(
    client, viewer, archived, typed, field
):
    """The stream name from a customer's player typed into *Records*, or alone into the header
    search: "0 callbacks", a dead end; Live sends the callbacks under the pushed stream's
    name."""
    streaming = Domain.objects.get(name=TEAM_DOMAIN)
    archive(streaming, ("failed", timezone.now() - dt.timedelta(hours=1)), stream=STREAM)
    client.force_login(viewer)
    body = html.unescape(client.get("/records/", {field: typed, "window": "24h"}).content.decode())
    name = typed.strip('"')
    assert f"{name} is a playback name of the stream {STREAM}" in body
    link = re.search(r'id="played-as">.*?<a href="([^"]+)">', body, re.S).group(1)
    assert f"stream=%22{STREAM}%22" in link and "window=24h" in link
    shown = html.unescape(client.get("/records/" + link).content.decode())
    assert "1 callback" in shown and "playback name" not in shown
    # a name nobody pushes under: nothing offered
    other = client.get("/records/", {field: "no-such-cam_lhd", "window": "24h"})
    assert "playback name" not in other.content.decode()
