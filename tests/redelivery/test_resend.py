"""Resending archived callbacks: the exact bytes and signature a receiver gets (checked with
the project's own signature checker), SSRF refusals, the rate limit, bulk runs that never send
a record twice, and who may do it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from dashboard.live.ratelimit import SlotLimiter
from dashboard.receivers.signature import verify
from dashboard.redelivery import services
from dashboard.redelivery.models import RedeliveryAttempt, RedeliveryRun
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, archive

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

KEY = "Redeliver0123456789KEY"
CONTENT = '{"domain":"live.example-shop.com","app":"live","stream":"直播-7",  "duration":69.403}'
STREAM = "redeliver-test"  # the demo's own failures in the same minutes stay out of the runs
HEADER = json.dumps({"Content-Type": "application/json; charset=utf-8", "User-Agent": "Live"})


@pytest.fixture
def target(archived, receiver):
    """TEAM_DOMAIN's recording callback now points at the local receiver, signed."""
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url=receiver.url("/live/record"), notify_req_auth=True, notify_auth_key=KEY
    )
    return receiver


@pytest.fixture
def failed(archived):
    """Six failed callbacks of TEAM_DOMAIN an hour ago, to the old receiver URL."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    new = archive(
        domain,
        *[("failed", when + dt.timedelta(seconds=i)) for i in range(6)],
        url="https://old-hooks.example.com/live/record",
        content=CONTENT,
        header=HEADER,
        stream=STREAM,
    )
    return [ArchivedRecord.objects.get(pk=r.id) for r in new]


def test_the_receiver_gets_the_original_bytes_signed_as_live_signs(client, editor, target, failed):
    record = failed[0]
    client.force_login(editor)
    response = client.post(f"/redelivery/record/{record.pk}/", follow=True)
    body = response.content.decode()
    assert "Redelivered: the receiver answered HTTP 200" in body
    ((path, headers, sent),) = target.received
    assert path == "/live/record"
    assert sent == CONTENT.encode("utf-8")  # byte for byte, spacing and all
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Live-Redelivery"] == str(record.pk)
    assert headers["X-Live-Original-Notify-Time"] == record.notify_time.astimezone(dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    verdict = verify(
        host=target.host,
        timestamp=headers["ALI-LIVE-TIMESTAMP"],
        signature=headers["ALI-LIVE-SIGNATURE"],
        key=KEY,
    )
    assert verdict.valid and not verdict.stale
    attempt = RedeliveryAttempt.objects.get()
    assert attempt.ok and attempt.status_code == 200 and attempt.signed
    assert attempt.target_url == target.url("/live/record") and attempt.actor_name == "editor"
    assert '{"Code":0,"Msg":"Success"}' in attempt.response
    # The record's page lists the attempt, and says the URL is not the original one.
    assert "redelivered ✓ 200" in body and "not the URL this delivery went to" in body
    entry = AuditEntry.objects.filter(kind="redelivery").get()
    assert entry.action == "resend" and entry.after["record"] == record.pk
    assert KEY not in json.dumps(entry.after)
    # ... and the explorer shows the badge beside the record.
    listing = client.get("/records/", {"domain": TEAM_DOMAIN, "status": "failed", "window": "24h"})
    assert "redelivered ✓ 200" in listing.content.decode()


def test_unsigned_callbacks_are_resent_unsigned(client, editor, target, failed):
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(notify_req_auth=False)
    client.force_login(editor)
    client.post(f"/redelivery/record/{failed[0].pk}/")
    ((_path, headers, _body),) = target.received
    assert "ALI-LIVE-SIGNATURE" not in headers and "X-Live-Redelivery" in headers


def test_a_failed_answer_is_an_attempt_with_the_receivers_words(client, editor, target, failed):
    target.status, target.body = 503, b"<h1>maintenance</h1>" + b"x" * 5000
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{failed[0].pk}/", follow=True).content.decode()
    assert "Not delivered: The receiver answered HTTP 503" in body
    attempt = RedeliveryAttempt.objects.get()
    assert attempt.outcome == "failed" and attempt.status_code == 503
    assert len(attempt.response) == 4096 and attempt.response.startswith("<h1>maintenance")
    assert "&lt;h1&gt;maintenance" in body  # the receiver's words, escaped


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/cb",
        "http://[::1]/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/cb",
    ],
)
def test_private_addresses_are_refused_and_nothing_is_sent(client, editor, failed, url):
    # as if the config had been set in Alibaba's console, around the dashboard's checks
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(notify_url=url)
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{failed[0].pk}/", follow=True).content.decode()
    attempt = RedeliveryAttempt.objects.get()
    assert attempt.outcome == "refused" and attempt.status_code is None
    assert "Not delivered:" in body


def test_no_callback_config_means_nowhere_to_send(client, editor, failed):
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).delete()
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{failed[0].pk}/", follow=True).content.decode()
    # (it said "has no Recording callback callback now")
    assert f"{TEAM_DOMAIN} has no Recording callback now: there is nowhere to resend to" in body
    assert not RedeliveryAttempt.objects.exists()
    client.cookies["django_language"] = "zh-hans"
    body = client.post(f"/redelivery/record/{failed[0].pk}/", follow=True).content.decode()
    assert f"{TEAM_DOMAIN} 目前没有录制回调：无处可重新投递" in body


def test_why_a_resend_failed_is_said_in_each_readers_language(client, editor, lead, target, failed):
    """A support engineer reading in Chinese resends; a lead reading in English opens the
    record: the reason was stored as the first one read it, and shown so to everyone."""
    target.status = 500
    client.force_login(editor)
    client.cookies["django_language"] = "zh-hans"
    body = client.post(f"/redelivery/record/{failed[0].pk}/", follow=True).content.decode()
    assert "接收方返回 HTTP 500" in body
    client.force_login(lead)
    client.cookies["django_language"] = "en"
    page = client.get(f"/records/{failed[0].pk}/").content.decode()
    assert "The receiver answered HTTP 500 Internal Server Error." in page
    assert "接收方" not in page
    entry = AuditEntry.objects.filter(kind="redelivery").get()
    assert entry.message_in("en") == "The receiver answered HTTP 500 Internal Server Error."
    assert entry.message_in("zh-hans").startswith("接收方返回 HTTP 500")


def test_viewers_and_other_teams_see_attempts_but_cannot_resend(
    client, viewer, other_editor, editor, target, failed
):
    client.force_login(editor)
    client.post(f"/redelivery/record/{failed[0].pk}/")
    for user in (viewer, other_editor):
        client.force_login(user)
        page = client.get(f"/records/{failed[0].pk}/").content.decode()
        assert "redelivered ✓ 200" in page and "Resend this callback" not in page
        assert client.post(f"/redelivery/record/{failed[0].pk}/").status_code == 403
        query = f"?domain={TEAM_DOMAIN}&status=failed&window=24h"
        assert client.get(f"/redelivery/new/{query}").status_code == 403
        assert client.post(f"/redelivery/new/{query}").status_code == 403
    assert len(target.received) == 1


# --- bulk runs ------------------------------------------------------------------------------


def test_confirm_shows_count_and_target_then_the_run_sends_each_once(
    client, editor, target, failed
):
    client.force_login(editor)
    query = (
        f"?domain={TEAM_DOMAIN}&stream={STREAM}&status=failed&window=custom&start="
        + (timezone.localtime(failed[0].notify_time).strftime("%Y-%m-%dT%H:%M"))
        + "&end="
        + (timezone.localtime(failed[-1].notify_time) + dt.timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M"
        )
    )
    page = client.get("/redelivery/new/" + query)
    body = page.content.decode()
    assert page.status_code == 200 and page.context["count"] == 6
    assert target.url("/live/record") in body and "signed" in body
    assert not target.received  # nothing sent by looking
    response = client.post("/redelivery/new/" + query, {"skip_redelivered": "on"})
    run = RedeliveryRun.objects.get()
    assert response["Location"] == f"/redelivery/{run.pk}/"
    assert run.total == 6 and run.state == "queued"
    assert services.run_execute(run.pk) == "done"
    sent = sorted(int(h["X-Live-Redelivery"]) for _p, h, _b in target.received)
    assert sent == sorted(r.pk for r in failed)
    run.refresh_from_db()
    assert (run.sent_ok, run.sent_failed, run.skipped, run.percent) == (6, 0, 0, 100)
    # Running it again does nothing: this run has handled every record.
    RedeliveryRun.objects.filter(pk=run.pk).update(state="queued")
    services.run_execute(run.pk)
    assert len(target.received) == 6
    # A new run that skips what was redelivered already skips all six.
    client.post("/redelivery/new/" + query, {"skip_redelivered": "on"})
    second = RedeliveryRun.objects.exclude(pk=run.pk).get()
    services.run_execute(second.pk)
    second.refresh_from_db()
    assert second.skipped == 6 and len(target.received) == 6
    page = client.get(f"/redelivery/{run.pk}/").content.decode()
    assert page.count("redelivered ✓ 200") == 6


@pytest.mark.parametrize(
    "narrowed, said",
    [
        ("name=deliver-TE", 'App or stream: <span class="mono break">deliver-TE</span>'),
        ("param=order_id%3D77", 'Push parameter: <span class="mono break">order_id=77</span>'),
    ],
)
def test_a_run_resends_what_the_records_page_showed_and_no_more(
    client, editor, target, narrowed, said
):
    """Opened from the header search ("App or stream": `name`) or by a push parameter, the
    records page said "Resend 6 failed callbacks…", and the run it led to took every failed
    callback of the domain in the window: the run kept only some of the page's filters. The
    confirmation now also says what the run is limited to (it showed the domain and the
    window only)."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    shown = archive(  # pushed with order_id=77
        domain,
        *[("failed", when + dt.timedelta(seconds=i)) for i in range(6)],
        content='{"push_args":{"order_id":"77"}}',
        stream=STREAM,
    )
    archive(  # the domain's other failures in the same minutes
        domain,
        *[("failed", when + dt.timedelta(seconds=i)) for i in range(4)],
        content='{"push_args":{"order_id":"78"}}',
        stream="another-stream",
    )
    start = timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")
    # to the minute: the six seconds may cross into the next minute
    end = (timezone.localtime(when) + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    query = f"?domain={TEAM_DOMAIN}&{narrowed}&status=failed&window=custom&start={start}&end={end}"
    client.force_login(editor)
    assert client.get("/records/" + query).context["to_resend"] == 6
    confirm = client.get("/redelivery/new/" + query)
    assert confirm.context["count"] == 6 and said in confirm.content.decode()
    client.post("/redelivery/new/" + query, {"skip_redelivered": "on"})
    run = RedeliveryRun.objects.get()
    assert run.total == 6
    services.run_execute(run.pk)
    sent = sorted(int(h["X-Live-Redelivery"]) for _p, h, _b in target.received)
    assert sent == sorted(r.id for r in shown)


def test_a_run_needs_a_domain_and_the_archive(client, editor, failed):
    client.force_login(editor)
    for query in ("?status=failed&window=24h", f"?domain={TEAM_DOMAIN}&source=live", "?window=x"):
        response = client.get("/redelivery/new/" + query)
        assert response.status_code == 400 and 'class="error"' in response.content.decode()
    assert not RedeliveryRun.objects.exists()


def make_run(editor, failed) -> RedeliveryRun:
    """A run over the fixture's six failed records, made through the service."""
    return services.run_create(
        domain=Domain.objects.get(name=TEAM_DOMAIN),
        filters=services.run_filters(
            {
                "start": failed[0].notify_time,
                "end": failed[-1].notify_time + dt.timedelta(seconds=1),
                "stream": STREAM,
            }
        ),
        query="",
        actor=editor,
        skip_redelivered=False,
    )


def test_the_rate_limit_spaces_the_sends_per_domain(editor, target, failed, monkeypatch, settings):
    settings.REDELIVERY_RATE_PER_SECOND = 2
    clock = [1_000_000.0]
    starts = []

    def sleep(seconds):
        clock[0] += seconds

    def limiter():
        return SlotLimiter(
            services.shared_store(), clock=lambda: clock[0], sleep=sleep, prefix="test-redeliver"
        )

    real_send = services._send

    def timed_send(record, target_):
        starts.append(clock[0])
        return real_send(record, target_)

    monkeypatch.setattr(services, "_limiter", limiter)
    monkeypatch.setattr(services, "_send", timed_send)
    run = make_run(editor, failed)
    services.run_execute(run.pk)
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6 and gaps == [0.5] * 5


def test_pause_and_cancel_are_refused_when_they_make_no_sense(client, editor, target, failed):
    run = make_run(editor, failed)
    services.run_execute(run.pk)
    client.force_login(editor)
    body = client.post(
        f"/redelivery/{run.pk}/action/", {"action": "pause"}, follow=True
    ).content.decode()
    assert "The run is done: it cannot be paused now." in body


def test_other_domains_records_never_join_a_run(editor, target, failed):
    other = Domain.objects.get(name=OTHER_DOMAIN)
    archive(other, ("failed", failed[0].notify_time), content=CONTENT, stream=STREAM)
    run = make_run(editor, failed)
    assert run.total == 6


def test_a_callback_being_resent_is_not_sent_again_at_the_same_moment(
    client, editor, target, failed
):
    """Someone's Resend still waiting for the receiver: a second press says so and sends
    nothing. An attempt cut off long ago (its process died) stands in no one's way."""
    record = failed[0]
    RedeliveryAttempt.objects.create(record=record, actor_name="lee", target_url="x")
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{record.pk}/", follow=True).content.decode()
    assert "lee is resending this callback right now: not sent twice." in body
    assert target.received == [] and RedeliveryAttempt.objects.count() == 1

    RedeliveryAttempt.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    body = client.post(f"/redelivery/record/{record.pk}/", follow=True).content.decode()
    assert "Redelivered: the receiver answered HTTP 200" in body
    assert len(target.received) == 1


def test_a_callback_a_run_is_sending_is_not_resent_at_the_same_moment(
    client, editor, target, failed
):
    record = failed[0]
    run = RedeliveryRun.objects.create(
        domain=record.domain, created_by_name="lee", max_record_id=record.pk, rate_per_second=5
    )
    RedeliveryAttempt.objects.create(record=record, run=run, actor_name="lee", target_url="x")
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{record.pk}/", follow=True).content.decode()
    assert f"Run #{run.pk} is sending this callback right now: not sent twice." in body
    assert target.received == []


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_two_resends_pressed_at_once_on_two_processes_send_once(receiver, synced, lead):
    """Two people press Resend on one failed callback at the same moment, on two server
    processes made to meet at the record: the receiver gets it once; the other is told."""
    from tests.conftest import LEAD, Gunicorn, make_user, sent_at_one_lock, signed_in_session

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    (row,) = archive(domain, ("failed", timezone.now() - dt.timedelta(hours=1)), content=CONTENT)
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url=receiver.url("/live/record"), notify_req_auth=True, notify_auth_key=KEY
    )
    receiver.delay = 3  # the first send is still waiting when the second press looks
    server = Gunicorn(pinned={receiver.host: f"127.0.0.1:{receiver.port}"})
    try:
        sessions = [signed_in_session(server.url, user) for user in (lead, make_user("lee", LEAD))]

        def press(session):
            answer = session.post(f"/redelivery/record/{row.id}/", follow_redirects=True)
            told = "is resending this callback right now: not sent twice" in answer.text
            return "Redelivered: the receiver answered HTTP 200" in answer.text, told

        answers = sent_at_one_lock(
            "archive_archivedrecord", [row.id], *[lambda s=s: press(s) for s in sessions]
        )
        for session in sessions:
            session.close()
    finally:
        server.stop()
    assert sorted(answers) == [(False, True), (True, False)], answers
    assert len(receiver.received) == 1
    assert RedeliveryAttempt.objects.get().outcome == "delivered"


@pytest.mark.parametrize(
    "content_type", ["application/json\r\nX-Injected: 1", "application/json; charset=中文", "\x00"]
)
def test_a_content_type_no_header_can_carry_is_sent_as_json(
    client, editor, target, archived, content_type
):
    """The record's NotifyHeader is upstream text: a Content-Type with a line break (or not in
    ASCII) made every resend fail ("Invalid header value") — the callback could never be
    redelivered. It goes as Live's JSON, and nothing is injected."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    header = json.dumps({"Content-Type": content_type})
    (row,) = archive(domain, ("failed", timezone.now() - dt.timedelta(hours=1)), header=header)
    client.force_login(editor)
    body = client.post(f"/redelivery/record/{row.id}/", follow=True).content.decode()
    assert "Redelivered: the receiver answered HTTP 200" in body
    ((_path, headers, _body),) = target.received
    assert headers["Content-Type"] == "application/json" and "X-Injected" not in headers
