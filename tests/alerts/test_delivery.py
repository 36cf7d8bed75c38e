"""Sending: signed JSON webhooks a receiver can verify, DingTalk and Slack formats, email,
retries with back-off that end in "gave up", SSRF refusals at send time, claims that keep
two senders from sending one notification twice."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
import time
import urllib.parse

import pytest
from django.core import mail

from dashboard.alerts import channels
from dashboard.alerts.models import AlertNotification, AlertRule, DomainMute
from dashboard.alerts.services import (
    MAX_ATTEMPTS,
    alerts_evaluate,
    notifications_deliver,
    rule_save,
)
from tests.alerts.conftest import archive, make_rule
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
MIN = dt.timedelta(minutes=1)


def failing(domain, clock, n=10):
    archive(domain, *[("failed", clock - dt.timedelta(seconds=i)) for i in range(n)])


@pytest.fixture
def json_rule(domain, receiver, lead):
    rule = make_rule(domain, emails="", webhook_url=receiver.url("/alerts"))
    return rule_save(rule=rule, actor=lead)  # the service gives it its signing secret


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What the README tells receivers to do."""
    timestamp, alert_id = headers["X-Alert-Timestamp"], headers["X-Alert-Id"]
    signed = f"{timestamp}.{alert_id}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256)
    return hmac.compare_digest(headers["X-Alert-Signature"], "v2=" + expected.hexdigest())


def test_a_json_webhook_is_signed_and_verifiable(domain, clock, receiver, json_rule):
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 1
    ((path, headers, body),) = receiver.received
    assert path == "/alerts" and headers["X-Alert-Event"] == "firing"
    assert json_rule.webhook_secret.startswith("whsec_")
    assert verify(json_rule.webhook_secret, headers, body)
    assert not verify("another-secret", headers, body)
    # the id is signed: a replay cannot pass as a new alert by changing it
    assert not verify(json_rule.webhook_secret, {**headers, "X-Alert-Id": "999"}, body)
    tampered = body.replace(b"FIRING", b"FIXED!")
    assert not verify(json_rule.webhook_secret, headers, tampered)
    data = json.loads(body)
    assert data["event"] == "firing" and data["domain"] == domain.name
    assert data["numbers"]["failed"] == 10 and data["links"]["records"].startswith("http")
    note = json_rule.notifications.get()
    assert note.status == AlertNotification.Status.SENT and note.attempts == 1


DINGTALK_SECRET = "SEC0123456789abcdef"


def webhook_rule(domain, name: str, url: str, webhook_format: str, secret: str = "") -> AlertRule:
    """A rule that sends to a webhook only, in `webhook_format` (a robot's secret if given)."""
    return make_rule(
        domain,
        name=name,
        emails="",
        webhook_url=url,
        webhook_format=webhook_format,
        webhook_secret=secret,
    )


def dingtalk_rule(domain, receiver) -> AlertRule:
    """A rule that tells a DingTalk robot (the receiver, as DingTalk) with signing on."""
    return webhook_rule(
        domain,
        "ding",
        receiver.url("/robot/send?access_token=abc"),
        AlertRule.WebhookFormat.DINGTALK,
        DINGTALK_SECRET,
    )


def test_dingtalk_and_slack_formats(domain, clock, receiver, lead):
    secret = DINGTALK_SECRET
    ding = dingtalk_rule(domain, receiver)
    slack = webhook_rule(
        domain, "slack", receiver.url("/services/T0/B0/x"), AlertRule.WebhookFormat.SLACK
    )
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 2
    by_path = {urllib.parse.urlsplit(p).path: (p, h, b) for p, h, b in receiver.received}
    path, _headers, body = by_path["/robot/send"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["access_token"] == ["abc"]
    # DingTalk's signing: base64(HMAC-SHA256(secret, "<ms>\n<secret>")), in the query string
    to_sign = f"{query['timestamp'][0]}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    data = json.loads(body)
    assert data["msgtype"] == "markdown" and "ding" in data["markdown"]["title"]
    _path, _headers, body = by_path["/services/T0/B0/x"]
    assert json.loads(body)["text"].startswith("[FIRING] slack:")
    assert ding.notifications.get().status == slack.notifications.get().status == "sent"


def test_feishu_and_wecom_robots_get_messages_of_their_own(domain, clock, receiver, lead):
    """Feishu and WeCom groups, where Chinese teams talk, took only a Slack-compatible message,
    which both refuse ("params error, msg_type need")."""
    secret = "fs-0123456789abcdef"
    feishu = webhook_rule(
        domain,
        "feishu",
        receiver.url("/open-apis/bot/v2/hook/0a1b"),
        AlertRule.WebhookFormat.FEISHU,
        secret,
    )
    wecom = webhook_rule(
        domain,
        "wecom",
        receiver.url("/cgi-bin/webhook/send?key=0a1b"),
        AlertRule.WebhookFormat.WECOM,
    )
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 2
    by_path = {urllib.parse.urlsplit(p).path: json.loads(b) for p, _h, b in receiver.received}
    sent = by_path["/open-apis/bot/v2/hook/0a1b"]
    assert sent["msg_type"] == "text" and sent["content"]["text"].startswith("[FIRING] feishu:")
    # Feishu's signing, as its documentation gives it: HMAC-SHA256 keyed with
    # "<seconds>\n<secret>" over nothing, base64, beside the message
    key = f"{sent['timestamp']}\n{secret}".encode()
    assert sent["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert abs(int(sent["timestamp"]) - time.time()) < 60
    sent = by_path["/cgi-bin/webhook/send"]
    assert sent["msgtype"] == "markdown" and "wecom" in sent["markdown"]["content"]
    assert feishu.notifications.get().status == wecom.notifications.get().status == "sent"

    # a robot that says no in its HTTP 200 (a wrong secret): a failed attempt, retried
    receiver.body = json.dumps({"code": 19021, "msg": "sign match fail"}).encode()
    failing(domain, clock + dt.timedelta(hours=2))
    AlertRule.objects.filter(pk=wecom.pk).update(enabled=False)
    alerts_evaluate(now=clock + dt.timedelta(hours=2))
    notifications_deliver(now=clock + dt.timedelta(hours=2))
    refused = feishu.notifications.exclude(status="sent").get()
    assert refused.status == "pending" and "(code 19021): sign match fail" in refused.last_error


@pytest.mark.parametrize(
    "answer",
    [
        {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com]"},
        {"errcode": 310000, "errmsg": "关键词不匹配"},  # the robot's keyword is not in the text
        {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
        {"errcode": 300001, "errmsg": "token is not exist"},
    ],
)
def test_a_message_dingtalk_refuses_is_not_taken_for_sent(
    domain, clock, receiver, lead, answer, client
):
    """DingTalk answers HTTP 200 to what it refuses, its errcode in the body: the alert was
    marked sent while the group never saw it (a wrong secret stopped every alert, unseen)."""
    ding = dingtalk_rule(domain, receiver)
    receiver.body = json.dumps(answer, ensure_ascii=False).encode()
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 0
    note = ding.notifications.get()
    assert note.status == AlertNotification.Status.PENDING and note.attempts == 1
    assert note.last_error == (
        f"DingTalk refused it (errcode {answer['errcode']}): {answer['errmsg']}"
    )

    # the list of rules says so: a rule whose messages nobody gets does not look quiet
    client.force_login(lead)
    listed = client.get("/alerts/").content.decode()
    shown = re.search(rf'id="undelivered-webhook-{ding.pk}">(.*?)</div>', listed, re.S)
    assert shown and "webhook not delivered" in shown.group(1)
    assert html.escape(f"(errcode {answer['errcode']})") in shown.group(1)

    receiver.body = b'{"errcode":0,"errmsg":"ok"}'  # the secret put right: the retry is sent
    notifications_deliver(now=clock + dt.timedelta(hours=1))
    note.refresh_from_db()
    assert note.status == AlertNotification.Status.SENT
    assert f"undelivered-webhook-{ding.pk}" not in client.get("/alerts/").content.decode()


@pytest.mark.parametrize(
    ("webhook_format", "answer", "error"),
    [
        # a Slack-compatible message sent to a Feishu, a WeCom robot: HTTP 200, refused
        ("slack", {"code": 19002, "msg": "params error, msg_type need"}, "(code 19002)"),
        ("slack", {"errcode": 40008, "errmsg": "invalid message type"}, "(errcode 40008)"),
        ("slack", {"ok": False, "error": "invalid_payload"}, "(ok false): invalid_payload"),
        # taken: Slack's own "ok", Feishu's success, a robot's errcode 0
        ("slack", "ok", ""),
        ("slack", {"code": 0, "msg": "success"}, ""),
        ("dingtalk", {"errcode": 0, "errmsg": "ok"}, ""),
        # our own signed JSON goes to the team's receivers: their bodies say what they like
        ("json", {"errcode": 1, "errmsg": "whatever"}, ""),
    ],
)
def test_a_chat_robots_refusal_in_a_200_is_a_failed_attempt(
    domain, clock, receiver, lead, webhook_format, answer, error
):
    rule = webhook_rule(
        domain,
        "robot",
        receiver.url("/robot/hook"),
        webhook_format,
        "SEC0123456789abcdef" if webhook_format == "dingtalk" else "",
    )
    receiver.body = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
    failing(domain, clock)
    alerts_evaluate(now=clock)
    notifications_deliver(now=clock)
    note = rule.notifications.get()
    if error:
        assert note.status == AlertNotification.Status.PENDING and error in note.last_error
    else:
        assert note.status == AlertNotification.Status.SENT


@pytest.mark.parametrize("silenced", ["turned off", "muted", "domain muted"])
def test_a_message_waiting_to_be_retried_is_not_sent_once_the_rule_is_silenced(
    domain, clock, receiver, json_rule, silenced
):
    """A lead turned off a rule whose webhook kept failing (or muted it, or its domain, for
    maintenance): its queued retries went out all the same, for hours."""
    receiver.status = 500
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 0  # refused: retried later
    note = json_rule.notifications.get()
    assert note.status == AlertNotification.Status.PENDING and len(receiver.received) == 1
    later = clock + dt.timedelta(hours=1)
    if silenced == "turned off":
        AlertRule.objects.filter(pk=json_rule.pk).update(enabled=False)
    elif silenced == "muted":
        AlertRule.objects.filter(pk=json_rule.pk).update(muted_until=later + dt.timedelta(hours=1))
    else:
        DomainMute.objects.create(domain=domain, until=later + dt.timedelta(hours=1))
    receiver.status = 200
    assert notifications_deliver(now=later) == 0
    note.refresh_from_db()
    assert note.status == AlertNotification.Status.MUTED and note.attempts == 1
    assert len(receiver.received) == 1  # nothing more went out


def test_email_says_what_where_since_and_links(domain, clock, lead):
    rule = make_rule(domain, emails="ops@example.com\noncall@example.com")
    failing(domain, clock)
    alerts_evaluate(now=clock)
    notifications_deliver(now=clock)
    (message,) = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert message.subject == f"[FIRING] Shop callbacks: {domain.name}"
    assert "What: 100.0% of callbacks failed" in message.body
    assert "/records/?" in message.body and f"/alerts/{rule.pk}/" in message.body


def test_a_failing_channel_is_retried_with_back_off_then_given_up(
    domain, clock, receiver, json_rule, client, lead
):
    receiver.status = 500
    failing(domain, clock)
    alerts_evaluate(now=clock)
    now = clock
    note = json_rule.notifications.get()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert notifications_deliver(now=now) == 0
        note.refresh_from_db()
        assert note.attempts == attempt and "HTTP 500" in note.last_error
        if attempt < MAX_ATTEMPTS:
            waits.append((note.next_attempt_at - now).total_seconds())
            # not before its time
            notifications_deliver(now=note.next_attempt_at - dt.timedelta(seconds=1))
            assert len(receiver.received) == attempt
            now = note.next_attempt_at
    # 30 s, 2, 8 and 32 minutes, each spread by up to ±20% so retries do not bunch up
    for wait, base in zip(waits, [30, 120, 480, 1920], strict=True):
        assert 0.8 * base <= wait <= 1.2 * base + 1
    assert note.status == AlertNotification.Status.FAILED
    client.force_login(lead)
    page = client.get(f"/alerts/{json_rule.pk}/").content.decode()
    assert "Gave up" in page and "5 attempts" in page


def test_why_a_message_did_not_go_out_is_said_in_the_readers_language(
    domain, clock, receiver, json_rule, client, lead
):
    """The worker runs in English: the rule's history and the list of rules said "The
    receiver answered HTTP 500" to a lead reading in Chinese."""
    receiver.status = 500
    failing(domain, clock)
    alerts_evaluate(now=clock)
    notifications_deliver(now=clock)
    client.force_login(lead)
    client.cookies["django_language"] = "zh-hans"
    detail = client.get(f"/alerts/{json_rule.pk}/").content.decode()
    assert "接收方返回 HTTP 500 Internal Server Error。" in detail
    assert "The receiver answered" not in detail
    listed = client.get("/alerts/").content.decode()
    shown = re.search(rf'id="undelivered-webhook-{json_rule.pk}">(.*?)</div>', listed, re.S)
    assert shown and "接收方返回 HTTP 500" in shown.group(1)
    client.cookies["django_language"] = "en"
    detail = client.get(f"/alerts/{json_rule.pk}/").content.decode()
    assert "The receiver answered HTTP 500 Internal Server Error." in detail


def test_a_receiver_that_recovers_gets_the_retry(domain, clock, receiver, json_rule):
    receiver.status = 503
    failing(domain, clock)
    alerts_evaluate(now=clock)
    notifications_deliver(now=clock)
    receiver.status = 200
    note = json_rule.notifications.get()
    assert notifications_deliver(now=note.next_attempt_at) == 1
    note.refresh_from_db()
    assert note.status == "sent" and note.attempts == 2 and len(receiver.received) == 2
    # both attempts carry the same id: a receiver can drop the repeat
    ids = {headers["X-Alert-Id"] for _p, headers, _b in receiver.received}
    assert len(ids) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0x7f000001/hook",
        "http://10.0.0.8/hook",
    ],
)
def test_private_webhook_addresses_are_refused_at_send_time_too(domain, clock, url):
    # Saved around the form (as an old row, or a direct database edit would be).
    rule = make_rule(domain, emails="", webhook_url=url)
    failing(domain, clock)
    alerts_evaluate(now=clock)
    assert notifications_deliver(now=clock) == 0
    note = rule.notifications.get()
    assert note.attempts == 1 and note.status == "pending"
    assert "address" in note.last_error.lower() or "not" in note.last_error.lower()


def test_a_claimed_notification_is_not_sent_by_a_second_sender(domain, clock, receiver, json_rule):
    failing(domain, clock)
    alerts_evaluate(now=clock)
    note = json_rule.notifications.get()
    AlertNotification.objects.filter(pk=note.pk).update(claimed_until=clock + 2 * MIN)
    assert notifications_deliver(now=clock + MIN) == 0 and receiver.received == []
    # a claim that ran out (its sender died) is taken over
    assert notifications_deliver(now=clock + 3 * MIN) == 1 and len(receiver.received) == 1


def test_evaluating_twice_queues_each_event_once(domain, clock, json_rule):
    failing(domain, clock)
    alerts_evaluate(now=clock)
    # a second evaluator that did not see the first one's state (SQLite has no row locks)
    json_rule.states.all().delete()
    alerts_evaluate(now=clock)
    assert json_rule.notifications.count() == 1


def test_the_signature_helper_matches_the_documented_recipe():
    body = b'{"event":"test"}'
    assert (
        channels.sign("whsec_x", "1700000000", "42", body)
        == "v2=" + hmac.new(b"whsec_x", b"1700000000.42." + body, hashlib.sha256).hexdigest()
    )


def test_a_rule_in_chinese_and_shanghai_time_says_so_in_its_messages(domain, clock, receiver):
    """A DingTalk group in Shanghai read "[FIRING] … Since: 2026-12-07 10:56 UTC" — English,
    and eight hours off its own clocks. A rule's messages are in its language, times in its
    zone (the links, numbers and ISO times of the payload are the same in any)."""
    rule = make_rule(
        domain,
        name="商城回调",
        language="zh-hans",
        time_zone="Asia/Shanghai",
        emails="ops@example.com",
        webhook_url=receiver.url("/robot/send?access_token=abc"),
        webhook_format=AlertRule.WebhookFormat.DINGTALK,
    )
    failing(domain, clock)
    alerts_evaluate(now=clock)
    notifications_deliver(now=clock)
    (email,) = mail.outbox
    local = clock.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert email.subject == f"[告警中] 商城回调: {domain.name}"
    assert "情况：最近 15 分钟内 100.0% 的回调失败" in email.body
    assert local.strftime("开始时间：%Y-%m-%d %H:%M Asia/Shanghai") in email.body
    assert "规则：商城回调（失败率超过阈值）" in email.body
    (_path, _headers, body) = receiver.received[-1]
    ding = json.loads(body)["markdown"]
    assert ding["title"] == email.subject and "**情况：** 最近 15 分钟内" in ding["text"]
    assert local.strftime("%Y-%m-%d %H:%M Asia/Shanghai") in ding["text"]
    payload = rule.notifications.first().payload
    assert payload["since"] == clock.isoformat() and "status=failed" in payload["links"]["records"]
