"""The callback that never came: Live's push history (the sandbox's plan, over the signed HTTP
path) checked against the archive, as `check_pushes` does it."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord, HarvestCursor, PushedSession
from dashboard.archive.pushes import SAME_PUSH, SHORT_PUSH, pushes_check
from dashboard.domains.models import Domain, StreamNotifyConfig
from dashboard.sandbox import traffic
from dashboard.sandbox.models import SandboxDomain
from tests.conftest import ALL_DATABASES, add_record, harvest_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

INGEST = "push.example-shop.com"
UNCONFIGURED = "push.edu-streams.cn"  # an ingest domain with no stream callback


def planned(name: str, start: dt.datetime, end: dt.datetime) -> list[traffic.PushSession]:
    """The sandbox's own plan of `name`'s pushes with a publish in [start, end)."""
    ingest = SandboxDomain.objects.get(name=name)
    fed = traffic.push_pair(ingest)[1]
    return [
        s
        for s in traffic.push_sessions(fed, ingest.records_per_hour / 2, start, end)
        if start <= s.began < end
    ]


def recheck(name: str):
    HarvestCursor.objects.filter(domain__name=name).update(pushes_checked_until=None)
    PushedSession.objects.filter(domain__name=name).delete()
    return pushes_check()


def test_every_push_is_stored_and_only_the_lost_publish_done_are_flagged(archived):
    cursor = HarvestCursor.objects.get(domain__name=INGEST)
    end = cursor.pushes_checked_until
    assert end is not None and end <= cursor.harvested_until - SAME_PUSH
    # the suite's sandbox keeps the first hour of the 7 days empty (tests/conftest.py)
    start = end - dt.timedelta(days=7) + dt.timedelta(hours=1, minutes=10)
    plan = planned(INGEST, start, end - dt.timedelta(minutes=1))
    assert len(plan) > 100
    stored = {
        (p.app_name, p.stream_name, p.publish_time): p
        for p in PushedSession.objects.filter(domain__name=INGEST)
    }
    assert {(s.app, s.stream, s.began) for s in plan} <= set(stored)
    # the sandbox loses the publish_done of some pushes (about 4%): exactly those are flagged
    judged = [s for s in plan if s.ended + SAME_PUSH <= end and s.ended - s.began >= SHORT_PUSH]
    lost = {(s.app, s.stream, s.began) for s in judged if s.done_lost}
    flagged = {k for k in stored if k in {(s.app, s.stream, s.began) for s in judged}}
    flagged = {k for k in flagged if stored[k].missing}
    assert lost and flagged == lost
    assert {stored[k].missing for k in lost} == {"publish_done"}


def test_a_publish_callback_missing_from_the_archive_is_flagged(archived):
    now = timezone.now()
    publish = (
        ArchivedRecord.objects.filter(
            domain_name=INGEST,
            notify_type="publish",
            notify_time__range=(now - dt.timedelta(hours=30), now - dt.timedelta(hours=6)),
        )
        .order_by("notify_time")
        .first()
    )
    ArchivedRecord.objects.filter(pk=publish.pk).delete()  # the callback that never came
    report = recheck(INGEST)
    assert not report.failed
    push = PushedSession.objects.get(
        domain__name=INGEST,
        app_name=publish.app_name,
        stream_name=publish.stream_name,
        publish_time__range=(publish.notify_time - SAME_PUSH, publish.notify_time + SAME_PUSH),
    )
    assert "publish" in push.missing_types


def test_a_domain_without_a_stream_callback_expects_none(archived):
    StreamNotifyConfig.objects.filter(domain__name=INGEST).delete()
    ArchivedRecord.objects.filter(domain_name=INGEST).delete()
    recheck(INGEST)
    pushes = PushedSession.objects.filter(domain__name=INGEST)
    assert pushes.count() > 100 and not pushes.exclude(missing="").exists()


def stream_config_changed(action: str, *, at: dt.datetime, before, after) -> None:
    """The audit log's entry of a change to INGEST's stream callback, made `at`."""
    from dashboard.audit.models import AuditEntry
    from dashboard.audit.services import audit_entry_create

    entry = audit_entry_create(
        domain=Domain.objects.get(name=INGEST),
        kind="stream",
        action=action,
        before=before,
        after=after,
        actor_name="editor",
    )
    AuditEntry._base_manager.filter(pk=entry.pk).update(created_at=at)  # a test backdates


def flagged_before_and_after(moment: dt.datetime) -> tuple[int, int]:
    """How many callbacks are flagged missing that Live would have sent before `moment` (less
    SAME_PUSH), and after it. A flag is judged at its callback's moment, not its push's start:
    a push begun before `moment` whose publish_done was lost after it is rightly flagged."""
    before = after = 0
    for push in PushedSession.objects.filter(domain__name=INGEST).exclude(missing=""):
        for kind in push.missing_types:
            when = push.publish_time if kind == "publish" else push.stop_time
            before += when < moment - SAME_PUSH
            after += when > moment
    return before, after


def test_a_stream_callback_set_up_yesterday_expects_nothing_of_the_pushes_before(archived):
    """Pushes before the callback was set up sent nothing and are not flagged for it; those
    after it still are judged (the sandbox's lost publish_done)."""
    url = StreamNotifyConfig.objects.get(domain__name=INGEST).notify_url
    set_up = timezone.now() - dt.timedelta(days=2)
    ArchivedRecord.objects.filter(domain_name=INGEST, notify_time__lt=set_up).delete()
    stream_config_changed("add", at=set_up, before=None, after={"notify_url": url})
    recheck(INGEST)
    before, after = flagged_before_and_after(set_up)
    assert before == 0
    assert after > 0  # the check still works after the change
    assert PushedSession.objects.filter(domain__name=INGEST, publish_time__lt=set_up).count() > 50


def test_a_push_begun_before_the_callback_was_set_up_still_expects_its_publish_done(archived):
    """Set up while a stream was pushing: its publish was never sent and is not flagged, but
    its publish_done was due; when it never came, that one is flagged."""
    url = StreamNotifyConfig.objects.get(domain__name=INGEST).notify_url
    recheck(INGEST)
    now = timezone.now()
    push = (
        PushedSession.objects.filter(
            domain__name=INGEST,
            missing="",
            publish_time__range=(now - dt.timedelta(days=3), now - dt.timedelta(days=1)),
            stop_time__gt=F("publish_time") + SHORT_PUSH + SAME_PUSH * 4,
        )
        .order_by("publish_time")
        .first()
    )
    set_up = push.publish_time + SAME_PUSH * 2
    ArchivedRecord.objects.filter(domain_name=INGEST, notify_time__lt=set_up).delete()
    ArchivedRecord.objects.filter(
        domain_name=INGEST,
        app_name=push.app_name,
        stream_name=push.stream_name,
        notify_type="publish_done",
        notify_time__range=(push.stop_time - SAME_PUSH, push.stop_time + SAME_PUSH),
    ).delete()  # the publish_done that never came
    stream_config_changed("add", at=set_up, before=None, after={"notify_url": url})
    recheck(INGEST)
    again = PushedSession.objects.get(
        domain__name=INGEST,
        app_name=push.app_name,
        stream_name=push.stream_name,
        publish_time=push.publish_time,
    )
    assert again.missing_types == ["publish_done"]
    assert flagged_before_and_after(set_up)[0] == 0


def test_a_stream_callback_deleted_today_still_expects_its_callbacks_before(archived):
    """The callback deleted at noon: a push of the morning whose publish never came is
    flagged; the pushes after it expect nothing."""
    url = StreamNotifyConfig.objects.get(domain__name=INGEST).notify_url
    deleted = timezone.now() - dt.timedelta(hours=12)
    StreamNotifyConfig.objects.filter(domain__name=INGEST).delete()
    stream_config_changed("delete", at=deleted, before={"notify_url": url}, after=None)
    ArchivedRecord.objects.filter(domain_name=INGEST, notify_time__gte=deleted).delete()
    lost = (
        ArchivedRecord.objects.filter(
            domain_name=INGEST, notify_type="publish", notify_time__lt=deleted - SAME_PUSH * 2
        )
        .order_by("-notify_time")
        .first()
    )
    ArchivedRecord.objects.filter(pk=lost.pk).delete()
    recheck(INGEST)
    flagged = PushedSession.objects.filter(domain__name=INGEST).exclude(missing="")
    assert flagged.filter(
        app_name=lost.app_name,
        stream_name=lost.stream_name,
        publish_time__range=(lost.notify_time - SAME_PUSH, lost.notify_time + SAME_PUSH),
    ).exists()
    assert flagged_before_and_after(deleted)[1] == 0


def test_a_push_still_running_is_read_again_until_it_stops(archived):
    domain = Domain.objects.get(name=INGEST)
    cursor = HarvestCursor.objects.get(domain=domain)
    open_since = cursor.pushes_checked_until - dt.timedelta(hours=5)
    PushedSession.objects.create(
        domain=domain,
        app_name="live",
        stream_name="still-pushing",
        publish_time=open_since,
        stop_time=None,
        checked_at=timezone.now(),
    )
    HarvestCursor.objects.filter(pk=cursor.pk).update(
        harvested_until=cursor.harvested_until + dt.timedelta(minutes=1)
    )
    report = pushes_check()
    checked = next(d for d in report.domains if d.domain == INGEST)
    assert checked.start == open_since  # not where the last check ended


def test_pushes_republished_within_the_second_are_kept_once(archived):
    """An encoder that reconnects within the second: two sessions of one stream with one
    PublishTime. The check keeps the one that stopped last; before, PostgreSQL refused the
    whole upsert and the push check of every domain after it stopped for 7 days."""
    from collections import Counter

    sandbox = SandboxDomain.objects.get(name=INGEST)
    SandboxDomain.objects.filter(pk=sandbox.pk).update(records_per_hour=1200)  # 600 pushes/h
    cursor = HarvestCursor.objects.get(domain__name=INGEST)
    end = cursor.pushes_checked_until
    start = end - dt.timedelta(hours=3)
    HarvestCursor.objects.filter(pk=cursor.pk).update(pushes_checked_until=start)
    PushedSession.objects.filter(domain__name=INGEST).delete()
    plan = planned(INGEST, start, end)
    keys = Counter((s.app, s.stream, s.began.replace(microsecond=0)) for s in plan)
    twice = [key for key, n in keys.items() if n > 1]
    assert twice  # the plan has them: the test is not vacuous

    report = pushes_check()

    checked = next(d for d in report.domains if d.domain == INGEST)
    assert not checked.error
    stored = {
        (p.app_name, p.stream_name, p.publish_time): p.stop_time
        for p in PushedSession.objects.filter(domain__name=INGEST)
    }
    assert len(stored) == len(keys) == checked.pushes
    now = timezone.now()
    for key in twice:
        ends = [
            s.ended.replace(microsecond=0)
            for s in plan
            if (s.app, s.stream, s.began.replace(microsecond=0)) == key
        ]
        last = max(ends)
        assert stored[key] == (last if last <= now else None)
    assert HarvestCursor.objects.get(pk=cursor.pk).pushes_checked_until == end


def test_nothing_is_checked_before_the_domains_records_are_archived(archived):
    HarvestCursor.objects.filter(domain__name=INGEST).update(
        harvested_until=None, pushes_checked_until=None
    )
    report = pushes_check()
    assert INGEST not in {d.domain for d in report.domains}
    assert HarvestCursor.objects.get(domain__name=INGEST).pushes_checked_until is None


def test_a_refusing_push_history_changes_nothing_and_is_said(archived):
    from dashboard.sandbox import app as sandbox_app

    pushes = PushedSession.objects.count()
    HarvestCursor.objects.update(
        pushes_checked_until=timezone.now() - dt.timedelta(hours=1)
    )  # something to check
    before = dict(HarvestCursor.objects.values_list("domain__name", "pushes_checked_until"))
    sandbox_app.faults.configure("DescribeLiveStreamsPublishList:internal=1")
    out = StringIO()
    call_command("check_pushes", stdout=out)
    assert "✗" in out.getvalue() and "InternalError" in out.getvalue()
    assert dict(HarvestCursor.objects.values_list("domain__name", "pushes_checked_until")) == (
        before
    )
    assert PushedSession.objects.count() == pushes


def test_an_unconfigured_ingest_domain_is_checked_too(archived):
    assert Domain.objects.filter(name=UNCONFIGURED, domain_type=Domain.Type.INGEST).exists()
    assert HarvestCursor.objects.get(domain__name=UNCONFIGURED).pushes_checked_until is not None
    assert not PushedSession.objects.filter(domain__name=UNCONFIGURED).exclude(missing="").exists()


# --- a callback that came after all ----------------------------------------------------------


def listed_late(push: PushedSession, *, after: dt.timedelta) -> None:
    """Live lists `push`'s publish_done only now (`after` its stop): in the sandbox's records."""
    add_record(
        domain_name=INGEST,
        app_name=push.app_name,
        stream_name=push.stream_name,
        notify_type="publish_done",
        notify_url="https://hooks.example-shop.com/live/stream",
        notify_time=push.stop_time + after,
    )


def test_a_callback_listed_late_takes_its_pushs_flag_back(client, viewer, archived, settings):
    flagged = list(
        PushedSession.objects.filter(domain__name=INGEST, missing="publish_done").order_by(
            "-stop_time"
        )[:2]
    )
    assert len(flagged) == 2
    came, other = flagged
    listed_late(came, after=dt.timedelta(seconds=40))  # its own: within SAME_PUSH of the stop
    listed_late(other, after=SAME_PUSH + dt.timedelta(minutes=3))  # a later one, not its own
    # the next harvest's overlap reaches back to them: both are older than the cursor (late)
    cursor = HarvestCursor.objects.get(domain__name=INGEST)
    back = cursor.harvested_until - other.stop_time
    settings.ARCHIVE_HARVEST_OVERLAP = int(back.total_seconds()) + 600
    report = harvest_now()
    assert not report.failed and report.inserted == 2
    came.refresh_from_db()
    other.refresh_from_db()
    assert came.missing == "" and other.missing == "publish_done"
    client.force_login(viewer)
    listed = client.get("/records/", {"status": "missing", "window": "7d", "domain": INGEST})
    assert listed.status_code == 200
    pushes = [p for p, _ in listed.context["missing_rows"]]
    assert other in pushes and came not in pushes


def test_rebuild_rollups_takes_back_the_flags_the_archive_disproves(archived):
    told = (
        PushedSession.objects.filter(domain__name=INGEST, missing="", stop_time__isnull=False)
        .order_by("-publish_time")
        .first()
    )
    # a push flagged wrongly (before this was mended, a late callback left its flag)
    PushedSession.objects.filter(pk=told.pk).update(missing="publish publish_done")
    lost = PushedSession.objects.filter(domain__name=INGEST, missing="publish_done").count()
    out = StringIO()
    since = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    call_command("rebuild_rollups", "--since", since, "--no-incidents", stdout=out)
    assert f"{INGEST}: 1 flagged push whose callbacks are archived after all" in out.getvalue()
    told.refresh_from_db()
    assert told.missing == ""
    # the callbacks that truly never came stay flagged
    assert PushedSession.objects.filter(domain__name=INGEST, missing="publish_done").count() == lost


# --- where people meet it: the explorer, the domain page ------------------------------------


def flagged_push():
    return (
        PushedSession.objects.filter(domain__name=INGEST)
        .exclude(missing="")
        .order_by("-publish_time")
        .first()
    )


def test_the_explorer_lists_the_pushes_whose_callbacks_never_came(client, viewer, archived):
    client.force_login(viewer)
    push = flagged_push()
    response = client.get("/records/", {"status": "missing", "window": "7d"})
    assert response.status_code == 200
    listed = [p for p, _ in response.context["missing_rows"]]
    assert push in listed and all(p.missing for p in listed)
    assert (
        response.context["total"]
        == PushedSession.objects.exclude(missing="")
        .filter(publish_time__gte=timezone.now() - dt.timedelta(days=7))
        .count()
    )
    body = response.content.decode()
    assert f"/records/streams/{push.app_name}/{push.stream_name}/" in body
    assert "publish_done" in body and 'id="missing"' in body
    # one domain's, one stream's
    only = client.get(
        "/records/",
        {"status": "missing", "window": "7d", "domain": INGEST, "stream": push.stream_name},
    )
    assert {p.stream_name for p, _ in only.context["missing_rows"]} == {push.stream_name}
    # the stream as the records' filters read it: a timeline's "records of this stream" link
    # gives it in quotes, support types it in any case or a part of it; each listed nothing
    # and said "Every push in this time window has the callbacks"
    for typed in (f'"{push.stream_name}"', push.stream_name.upper(), push.stream_name[1:-1]):
        for field in ("stream", "name"):
            found = client.get(
                "/records/", {"status": "missing", "window": "7d", "domain": INGEST, field: typed}
            )
            assert push in [p for p, _ in found.context["missing_rows"]], (field, typed)
    quoted_app = client.get(
        "/records/",
        {"status": "missing", "window": "7d", "app": f'"{push.app_name}"', "stream": typed},
    )
    assert push in [p for p, _ in quoted_app.context["missing_rows"]]
    other_case = client.get(
        "/records/",
        {"status": "missing", "window": "7d", "stream": f'"{push.stream_name.upper()}"'},
    )
    assert push.stream_name.upper() != push.stream_name  # in quotes, in its own case only
    assert push not in [p for p, _ in other_case.context["missing_rows"]]
    none = client.get("/records/", {"status": "missing", "window": "7d", "domain": UNCONFIGURED})
    assert none.context["missing_rows"] == []
    assert "Every push in this time window has the callbacks" in none.content.decode()


def test_a_streaming_domains_pushes_that_never_came_are_its_ingest_domains(
    client, viewer, archived
):
    """Support knows the streaming domain their customer uses, not the ingest domain Live
    maps to it: its pushes are those the ingest domain's push history tells. Before, the
    streaming domain listed none and said "every push has the callbacks it should have"."""
    from tests.conftest import TEAM_DOMAIN

    client.force_login(viewer)
    query = {"status": "missing", "window": "7d"}
    through_ingest = client.get("/records/", {**query, "domain": INGEST})
    streaming = client.get("/records/", {**query, "domain": TEAM_DOMAIN})
    assert through_ingest.context["total"] > 0
    assert streaming.context["total"] == through_ingest.context["total"]
    body = streaming.content.decode()
    assert "Every push in this time window has the callbacks" not in body
    assert f"come in through {INGEST}" in body
    assert f'data-label="Domain">{INGEST}<' in body  # the rows say where they came in
    # a streaming domain no ingest domain is mapped to has no push history to check
    unmapped = client.get("/records/", {**query, "domain": "live.fitclass.cn"}).content.decode()
    assert "Every push in this time window has the callbacks" not in unmapped
    assert "no ingest domain is mapped to live.fitclass.cn" in unmapped


def test_an_ingest_domains_pushes_that_never_came_are_its_own(client, viewer, archived):
    """Two ingest domains may feed one streaming domain: each lists its own pushes, the
    streaming domain those of both."""
    from dashboard.domains.models import Domain
    from tests.conftest import TEAM_DOMAIN

    other = Domain.objects.get(name="ingest.sportsnow.tv")
    other.mapped.add(Domain.objects.get(name=TEAM_DOMAIN))  # as a sync would read it
    client.force_login(viewer)
    query = {"status": "missing", "window": "7d"}

    def listed(domain):
        rows = client.get("/records/", {**query, "domain": domain}).context["missing_rows"]
        return {push.domain.name for push, _ in rows}

    assert listed(INGEST) == {INGEST}
    assert listed(other.name) == {other.name}
    assert listed(TEAM_DOMAIN) == {INGEST, other.name}


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"source": "live", "domain": INGEST}, "status", "found in the archive only"),
        ({"failure": "http_5xx"}, "failure", "no result to filter by"),
        ({"q": "order_id"}, "q", "no result to filter by"),
    ],
)
def test_never_came_with_filters_it_cannot_take_is_refused(
    client, viewer, archived, extra, field, message
):
    client.force_login(viewer)
    response = client.get("/records/", {"status": "missing", "window": "24h", **extra})
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])


def test_never_came_is_listed_not_exported(client, viewer, archived):
    client.force_login(viewer)
    response = client.get("/records/export.csv", {"status": "missing", "window": "24h"})
    assert response.status_code == 400
    assert "listed, not exported" in response.content.decode()


def test_the_ingest_domain_page_counts_its_pushes_with_callbacks_missing(client, viewer, archived):
    client.force_login(viewer)
    body = client.get(f"/domains/{INGEST}/").content.decode()
    since = timezone.now() - dt.timedelta(days=7)
    n = PushedSession.objects.filter(domain__name=INGEST, publish_time__gte=since)
    n = n.exclude(missing="").count()
    assert n and f"{n} pushes in the last 7 days have callbacks that never came" in body
    assert "status=missing" in body
    quiet = client.get(f"/domains/{UNCONFIGURED}/").content.decode()
    assert "has the stream callbacks it should have" in quiet
    # the streaming domain it feeds: the same pushes (support opens the domain they know)
    streaming = client.get("/domains/live.example-shop.com/").content.decode()
    assert f"{n} pushes in the last 7 days have callbacks that never came" in streaming
    # a streaming domain no ingest domain is mapped to has no push history: no claim
    unmapped = client.get("/domains/live.fitclass.cn/").content.decode()
    assert 'id="missing-pushes"' not in unmapped


def test_never_came_by_type_lists_only_the_pushes_missing_that_callback(client, viewer, archived):
    domain = Domain.objects.get(name=INGEST)
    now = timezone.now().replace(microsecond=0)
    for stream, missing in (("no-publish", "publish"), ("no-done", "publish_done")):
        PushedSession.objects.create(
            domain=domain,
            app_name="live",
            stream_name=stream,
            publish_time=now - dt.timedelta(hours=1),
            stop_time=now - dt.timedelta(minutes=30),
            missing=missing,
            checked_at=now,
        )
    client.force_login(viewer)

    def listed(kind: str) -> set[str]:
        query = {"status": "missing", "window": "24h", "app": "live", "type": kind}
        response = client.get("/records/", query)
        return {p.stream_name for p, _ in response.context["missing_rows"]} & {
            "no-publish",
            "no-done",
        }

    assert listed("publish") == {"no-publish"}  # "publish_done" is not "publish"
    assert listed("publish_done") == {"no-done"}


def test_paging_the_pushes_that_never_came_while_the_check_finds_more(client, viewer, archived):
    """Page 2 of "Never came" went on from rows page 1 had shown, pushed down by the pushes the
    check found meanwhile (the newest first)."""
    import re

    domain = Domain.objects.get(name=INGEST)
    PushedSession.objects.filter(domain=domain).delete()
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)

    def push(i: int) -> PushedSession:
        return PushedSession.objects.create(
            domain=domain,
            app_name="live",
            stream_name=f"paged-{i:02}",
            publish_time=start + dt.timedelta(minutes=i),
            stop_time=start + dt.timedelta(minutes=i, seconds=30),
            missing="publish_done",
            checked_at=timezone.now(),
        )

    for i in range(25):
        push(i)
    client.force_login(viewer)
    query = {"status": "missing", "window": "24h", "domain": INGEST, "size": "20"}

    def streams(response) -> list[str]:
        assert response.status_code == 200
        return [p.stream_name for p, _ in response.context["missing_rows"]]

    first = client.get("/records/", query)
    as_of = re.search(r'name="as_of" form="filters" value="(\d+)"', first.content.decode())
    page_one = streams(first)
    push(30), push(31)  # found by the check meanwhile: the newest, on top
    second = client.get("/records/", {**query, "page": "2", "as_of": as_of.group(1)})
    assert streams(second) == [f"paged-{i:02}" for i in range(4, -1, -1)]
    assert not set(streams(second)) & set(page_one)
    assert 'id="as-of"' in second.content.decode()
    # the first page, read now, shows them
    assert streams(client.get("/records/", query))[:2] == ["paged-31", "paged-30"]
