"""What an alert says, and how it goes out: email, or a webhook in one of three formats.

Webhooks go through the same sender as test callbacks (receivers.sender): the URL must pass
the callback SSRF rules, its host is resolved once and the connection pinned to that address.

The JSON webhook is signed so receivers can trust it:
    X-Alert-Timestamp: <unix seconds>
    X-Alert-Id: <the notification's id: the same on every retry of it>
    X-Alert-Signature: v2=<hex HMAC-SHA256(secret, "<timestamp>.<id>.<raw body>")>
A receiver recomputes the HMAC, rejects timestamps older than 5 minutes, and drops an id it has
seen (the id is signed, so a replay cannot pass as a new alert by changing it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext_noop

from dashboard.receivers.sender import SendRefused, deliver
from dashboard.said import Sentence, sentence

from .models import AlertNotification, AlertRule

SIGNATURE_HEADER = "X-Alert-Signature"
TIMESTAMP_HEADER = "X-Alert-Timestamp"
EVENT_HEADER = "X-Alert-Event"
ID_HEADER = "X-Alert-Id"


class ChannelError(Exception):
    """The channel did not take the message; `why` says so, for the rule's history."""

    def __init__(self, why: Sentence | str):
        self.why = sentence(why)
        super().__init__(str(self.why))


@dataclass(frozen=True)
class Sent:
    detail: Sentence  # "HTTP 200", "sent to 2 addresses"


def sign(secret: str, timestamp: str, alert_id: str, body: bytes) -> str:
    signed = f"{timestamp}.{alert_id}.".encode() + body
    return "v2=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def alert_id(notification: AlertNotification) -> str:
    return str(notification.pk)


def one_line(text: str) -> str:
    """Header values (an email's subject) on one line, whatever a rule's name holds."""
    return " ".join(str(text).split())[:300]


def send(notification: AlertNotification, rule: AlertRule) -> Sent:
    if notification.channel == AlertNotification.Channel.EMAIL:
        return _email(notification, rule)
    return _webhook(notification, rule)


def _email(notification: AlertNotification, rule: AlertRule) -> Sent:
    payload = notification.payload
    recipients = rule.email_list
    if not recipients:
        raise ChannelError(Sentence(gettext_noop("the rule has no email addresses")))
    message = EmailMessage(
        subject=one_line(payload["title"]),
        body=payload["text"],
        from_email=settings.ALERT_EMAIL_FROM,
        to=recipients,
        headers={ID_HEADER: alert_id(notification)},
    )
    try:
        message.send(fail_silently=False)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; bad headers ValueError
        raise ChannelError(f"{type(exc).__name__}: {exc}"[:400]) from exc
    return Sent(_sent_to(len(recipients)))


def _sent_to(count: int) -> Sentence:
    if count == 1:
        return Sentence(gettext_noop("sent to 1 address"))
    return Sentence(gettext_noop("sent to %(count)s addresses"), {"count": count})


def webhook_body(notification: AlertNotification, rule: AlertRule) -> bytes:
    payload = notification.payload
    if rule.webhook_format == AlertRule.WebhookFormat.DINGTALK:
        data = {
            "msgtype": "markdown",
            "markdown": {"title": payload["title"], "text": payload["markdown"]},
        }
    elif rule.webhook_format == AlertRule.WebhookFormat.FEISHU:
        # a text message (Feishu's own markdown is only in its cards); signed in the body
        data = {"msg_type": "text", "content": {"text": payload["title"] + "\n" + payload["text"]}}
        if rule.webhook_secret:
            timestamp = str(int(time.time()))
            data.update(timestamp=timestamp, sign=feishu_sign(rule.webhook_secret, timestamp))
    elif rule.webhook_format == AlertRule.WebhookFormat.WECOM:
        # WeCom's markdown: headings, bold, links and quotes, 4,096 bytes at most
        text = payload["markdown"].encode()[:WECOM_MAX_BYTES].decode(errors="ignore")
        data = {"msgtype": "markdown", "markdown": {"content": text}}
    elif rule.webhook_format == AlertRule.WebhookFormat.SLACK:
        data = {"text": payload["title"] + "\n" + payload["text"]}
    else:
        data = {k: v for k, v in payload.items() if k not in ("markdown", "text")}
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()


WECOM_MAX_BYTES = 4096


def feishu_sign(secret: str, timestamp: str) -> str:
    """A Feishu / Lark robot's signature: HMAC-SHA256 keyed with "<timestamp>\\n<secret>" over
    nothing, in base64 — as its documentation gives it (the key is the signed text)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _dingtalk_url(url: str, secret: str, now_ms: int) -> str:
    """A DingTalk robot with signing on wants timestamp and sign in the query string."""
    if not secret:
        return url
    text = f"{now_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    signature = urllib.parse.quote_plus(base64.b64encode(digest))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={now_ms}&sign={signature}"


def _webhook(notification: AlertNotification, rule: AlertRule) -> Sent:
    if not rule.webhook_url:
        raise ChannelError(Sentence(gettext_noop("the rule has no webhook URL")))
    body = webhook_body(notification, rule)
    headers = [("Content-Type", "application/json; charset=utf-8")]
    url = rule.webhook_url
    if rule.webhook_format == AlertRule.WebhookFormat.JSON:
        timestamp = str(int(time.time()))
        headers += [
            (TIMESTAMP_HEADER, timestamp),
            (SIGNATURE_HEADER, sign(rule.webhook_secret, timestamp, alert_id(notification), body)),
            (EVENT_HEADER, notification.event),
            (ID_HEADER, alert_id(notification)),
        ]
    elif rule.webhook_format == AlertRule.WebhookFormat.DINGTALK:
        url = _dingtalk_url(url, rule.webhook_secret, int(time.time() * 1000))
    try:
        delivery = deliver(
            url=url, body=body, headers=headers, timeout=settings.ALERT_WEBHOOK_TIMEOUT
        )
    except SendRefused as refused:
        raise ChannelError(Sentence(refused.message, refused.params)) from refused
    if not delivery.ok:
        raise ChannelError(Sentence(delivery.message_template, delivery.message_params))
    if rule.webhook_format != AlertRule.WebhookFormat.JSON and (
        refusal := _chat_refusal(delivery.body, rule.webhook_format)
    ):
        raise ChannelError(refusal)
    return Sent(Sentence("HTTP %(status)s", {"status": delivery.status}))


# How chat robots say no in an HTTP 200: DingTalk's and WeCom's `errcode`, Feishu's and
# Lark's `code` (with `msg`), Slack's Web API `ok: false` (with `error`).
_REFUSALS = (("errcode", "errmsg"), ("code", "msg"), ("ok", "error"))


def _chat_refusal(body: str, webhook_format: str) -> Sentence | None:
    """What a chat robot said when it refused the message, or None. DingTalk answers HTTP 200
    either way: a wrong signing secret, a keyword the robot wants missing from the text, an
    address not on its list, its limit of 20 messages a minute, a removed robot — each an
    `errcode` other than 0 in the body (a Slack-compatible message sent to a Feishu or WeCom
    robot likewise). Read as sent, they were alerts nobody got. Our own signed JSON goes to
    the team's receivers, whose bodies say what they like: only their status counts."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None  # not a robot's answer (Slack's "ok", a proxy's page): nothing refused
    if not isinstance(answer, dict):
        return None
    for code_field, message_field in _REFUSALS:
        code = answer.get(code_field)
        if code_field == "ok":
            refused = code is False
        else:  # a number other than 0 (Feishu's `code` only beside its `msg`)
            refused = code not in (None, 0, "0") and not isinstance(code, bool)
            refused = refused and (code_field == "errcode" or bool(answer.get(message_field)))
        if not refused:
            continue
        values = {
            "field": code_field,
            "code": "false" if code is False else str(code)[:20],
            "message": " ".join(str(answer.get(message_field) or "").split())[:200],
        }
        if webhook_format == AlertRule.WebhookFormat.DINGTALK:
            return Sentence(
                gettext_noop("DingTalk refused it (errcode %(code)s): %(message)s"), values
            )
        return Sentence(
            gettext_noop("The webhook refused it (%(field)s %(code)s): %(message)s"), values
        )
    return None
