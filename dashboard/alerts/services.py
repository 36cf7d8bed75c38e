"""Alerts: evaluating rules into notifications (once, however many workers run), sending them
with retries, and what people do to rules and mutes (audited).

`alerts_evaluate(now)` and `notifications_deliver(now)` take the clock as an argument: the
scheduled loop (`run_alerts`) passes the real one, tests pass their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident

from . import channels
from .conditions import Finding, evaluate
from .models import AlertNotification, AlertRule, AlertState, DomainMute

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM = dt.timedelta(minutes=2)


# --- evaluation -----------------------------------------------------------------------------


def alerts_evaluate(*, now: dt.datetime | None = None) -> int:
    """Evaluate every enabled rule once; returns how many notifications were queued.

    Each rule is evaluated under a row lock taken with SKIP LOCKED: of several workers, one
    evaluates a rule at a time and the others pass it by. Notification keys are unique, so
    even without row locks (SQLite) an event is queued once."""
    now = now or timezone.now()
    queued = 0
    for rule_id in AlertRule.objects.filter(enabled=True).values_list("pk", flat=True):
        with transaction.atomic():
            rule = (
                AlertRule.objects.select_for_update(skip_locked=True)
                .filter(pk=rule_id, enabled=True)
                .first()
            )
            if rule is None:
                continue
            queued += _evaluate_rule(rule, now)
            AlertRule.objects.filter(pk=rule.pk).update(evaluated_at=now)
    return queued


def _evaluate_rule(rule: AlertRule, now: dt.datetime) -> int:
    findings = {f.subject: f for f in evaluate(rule, now)}
    states = {s.subject: s for s in AlertState.objects.filter(rule=rule).select_related("domain")}
    queued = 0
    for subject, finding in findings.items():
        if finding.firing is None:
            continue  # cannot tell now: leave the state as it is
        state = states.get(subject)
        if finding.firing and (state is None or not state.firing):
            state = state or AlertState(rule=rule, subject=subject, domain=finding.domain)
            state.firing, state.since, state.reminders = True, now, 0
            state.last_notified_at, state.numbers = now, finding.numbers
            state.save()
            queued += _queue(rule, state, finding, AlertNotification.Event.FIRING, now)
        elif finding.firing:
            state.numbers = finding.numbers
            due = rule.reminder_minutes and now - state.last_notified_at >= dt.timedelta(
                minutes=rule.reminder_minutes
            )
            if due:
                state.reminders += 1
                state.last_notified_at = now
                queued += _queue(rule, state, finding, AlertNotification.Event.REMINDER, now)
            state.save()
        elif state is not None and state.firing:
            queued += _recover(rule, state, finding, now)
    # A firing subject no longer found (its incident resolved, its domain left the scope or
    # went offline) has recovered too.
    for subject, state in states.items():
        if state.firing and subject not in findings:
            gone = Finding(subject=subject, domain=state.domain, firing=False, numbers={})
            queued += _recover(rule, state, gone, now)
    return queued


def _recover(rule: AlertRule, state: AlertState, finding: Finding, now: dt.datetime) -> int:
    state.firing = False
    state.numbers = finding.numbers or state.numbers
    state.last_notified_at = now
    state.save()
    return _queue(rule, state, finding, AlertNotification.Event.RECOVERED, now)


def _muted(rule: AlertRule, domain: Domain | None, now: dt.datetime) -> bool:
    if rule.is_muted(now):
        return True
    return bool(domain and DomainMute.objects.filter(domain=domain, until__gt=now).exists())


def _queue(rule, state, finding: Finding, event: str, now: dt.datetime) -> int:
    """One notification per channel for this event, unless already queued (unique key)."""
    payload = message(rule, state, finding, event, now)
    status = (
        AlertNotification.Status.MUTED
        if _muted(rule, finding.domain, now)
        else AlertNotification.Status.PENDING
    )
    episode = state.since.isoformat() if state.since else ""
    queued = 0
    for channel in rule_channels(rule):
        key = f"{rule.pk}|{state.subject}|{episode}|{event}|{state.reminders}|{channel}"
        try:
            with transaction.atomic():
                AlertNotification.objects.create(
                    rule=rule,
                    domain=finding.domain,
                    subject=state.subject,
                    event=event,
                    channel=channel,
                    key=key,
                    payload=payload,
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                )
            queued += 1
        except IntegrityError:
            continue  # another worker queued this event already
    return queued


def rule_channels(rule: AlertRule) -> list[str]:
    found = []
    if rule.email_list:
        found.append(AlertNotification.Channel.EMAIL)
    if rule.webhook_url:
        found.append(AlertNotification.Channel.WEBHOOK)
    return found


# --- what a notification says ---------------------------------------------------------------


def _absolute(path: str) -> str:
    return settings.DASHBOARD_URL.rstrip("/") + path


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _what(rule: AlertRule, finding: Finding) -> str:
    n = finding.numbers
    if rule.condition == AlertRule.Condition.FAILURE_RATE:
        if not n:
            return "no longer in the rule's scope"
        return (
            f"{n.get('rate')}% of callbacks failed in the last {rule.window_minutes} min "
            f"({n.get('failed'):,} of {n.get('total'):,}; alert above "
            f"{rule.threshold_percent}% with at least {rule.min_deliveries:,})"
        )
    if rule.condition == AlertRule.Condition.CONSECUTIVE:
        return (
            f"the last {n.get('consecutive_failures', 0)} callbacks to {finding.host} failed "
            f"(alert at {rule.consecutive} in a row)"
        )
    if rule.condition == AlertRule.Condition.INCIDENT:
        if not n:
            return "the incident is resolved"
        return f"new incident: {n.get('cause')} at {finding.host} ({n.get('failures'):,} failures)"
    if not n:
        return "no longer watched (offline, no recording callback, or out of scope)"
    return (
        f"{n.get('total', 0):,} callbacks in the last {rule.window_minutes} min "
        f"(last one: {n.get('last_callback') or 'none in the archive'})"
    )


def message(rule, state, finding: Finding, event: str, now: dt.datetime) -> dict:
    domain = finding.domain.name if finding.domain else ""
    label = {
        "firing": "FIRING",
        "reminder": "STILL FIRING",
        "recovered": "RECOVERED",
        "test": "TEST",
    }[event]
    what = _what(rule, finding)
    title = f"[{label}] {rule.name}: {domain}" + (f" → {finding.host}" if finding.host else "")
    since = state.since if state is not None else now
    start = min(since, now - dt.timedelta(minutes=rule.window_minutes or 15))
    # Times with their offset: the records page reads them right in any reader's zone; an
    # end in the future is "until now" when the link is opened.
    query = {"status": "failed", "window": "custom"}
    if domain:
        query["domain"] = domain
    query["start"] = start.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    query["end"] = (
        (now + dt.timedelta(days=1)).astimezone(dt.UTC).replace(microsecond=0).isoformat()
    )
    links = {
        "records": _absolute(reverse("records") + "?" + urlencode(query)),
        "rule": _absolute(reverse("alert_detail", kwargs={"pk": rule.pk})),
    }
    incident_id = finding.incident_id or _open_incident(finding)
    if incident_id:
        links["incident"] = _absolute(reverse("incident_detail", kwargs={"pk": incident_id}))
    lines = [
        f"What: {what}",
        f"Where: {domain or 'all domains'}"
        + (f", receiver {finding.host}" if finding.host else ""),
        f"Since: {_utc(since)}" + (f" (recovered {_utc(now)})" if event == "recovered" else ""),
        f"Rule: {rule.name} ({rule.get_condition_display()})",
        "",
        f"Records: {links['records']}",
    ]
    if "incident" in links:
        lines.append(f"Incident: {links['incident']}")
    lines.append(f"Rule and its history: {links['rule']}")
    markdown = "\n\n".join(
        [f"#### {title}", f"**What:** {what}", *(f"[{k}]({v})" for k, v in links.items())]
    )
    return {
        "event": event,
        "title": title,
        "text": "\n".join(lines),
        "markdown": markdown,
        "rule": {"id": rule.pk, "name": rule.name, "condition": rule.condition},
        "domain": domain,
        "receiver_host": finding.host,
        "since": since.isoformat(),
        "at": now.isoformat(),
        "numbers": finding.numbers,
        "links": links,
    }


def _open_incident(finding: Finding) -> int | None:
    if not finding.domain:
        return None
    incidents = Incident.objects.filter(domain=finding.domain).exclude(
        state=Incident.State.RESOLVED
    )
    if finding.host:
        incidents = incidents.filter(receiver_host=finding.host)
    return incidents.order_by("-last_seen").values_list("pk", flat=True).first()


# --- delivery -------------------------------------------------------------------------------


def backoff(attempts: int) -> dt.timedelta:
    """After the n-th failed attempt: 30 s, 2 min, 8 min, 32 min."""
    return dt.timedelta(seconds=30 * 4 ** (attempts - 1))


def notifications_deliver(*, now: dt.datetime | None = None, limit: int = 50) -> int:
    """Send what is due; returns how many were sent. A notification is claimed with a
    conditional update before it is sent, so two workers never send the same one."""
    now = now or timezone.now()
    due = (
        AlertNotification.objects.filter(
            status=AlertNotification.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in list(due):
        claimed = (
            AlertNotification.objects.filter(pk=pk, status=AlertNotification.Status.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + CLAIM)
        )
        if claimed:
            sent += notification_send(AlertNotification.objects.get(pk=pk), now=now)
    return sent


def notification_send(notification: AlertNotification, *, now: dt.datetime) -> int:
    """One attempt (the caller holds the claim); returns 1 when it went out."""
    rule = notification.rule
    attempts = notification.attempts + 1
    try:
        result = channels.send(notification, rule)
    except channels.ChannelError as failure:
        gave_up = attempts >= MAX_ATTEMPTS
        AlertNotification.objects.filter(pk=notification.pk).update(
            attempts=attempts,
            last_error=str(failure)[:500],
            status=AlertNotification.Status.FAILED if gave_up else AlertNotification.Status.PENDING,
            next_attempt_at=now + backoff(attempts),
            claimed_until=None,
        )
        logger.warning(
            "alert %s (%s) attempt %s failed: %s",
            notification.pk,
            notification.channel,
            attempts,
            failure,
        )
        return 0
    AlertNotification.objects.filter(pk=notification.pk).update(
        attempts=attempts,
        status=AlertNotification.Status.SENT,
        sent_at=now,
        last_error=result.detail[:500],
        claimed_until=None,
    )
    return 1


# --- what people do -------------------------------------------------------------------------


def _rule_state(rule: AlertRule) -> dict:
    """The audited picture of a rule: no secret, and a webhook only by its host."""
    host = urlsplit(rule.webhook_url).hostname if rule.webhook_url else ""
    return {
        "name": rule.name,
        "scope": rule.scope,
        "domain": rule.domain.name if rule.domain_id else "",
        "team": rule.team.name if rule.team_id else "",
        "condition": rule.condition,
        "threshold_percent": rule.threshold_percent,
        "window_minutes": rule.window_minutes,
        "min_deliveries": rule.min_deliveries,
        "consecutive": rule.consecutive,
        "reminder_minutes": rule.reminder_minutes,
        "emails": rule.email_list,
        "webhook": f"{rule.webhook_format} → {host}" if host else "",
        "enabled": rule.enabled,
        "muted_until": rule.muted_until.isoformat() if rule.muted_until else None,
    }


def _audit(rule, action, actor, client_ip, before=None, after=None):
    audit_entry_create(
        kind=AuditEntry.Kind.ALERT,
        action=action,
        domain=rule.domain if rule.domain_id else None,
        domain_name="" if rule.domain_id else (f"team:{rule.team.name}" if rule.team_id else ""),
        actor=actor,
        client_ip=client_ip,
        before=before,
        after=after,
    )


def rule_save(*, rule: AlertRule, actor, client_ip=None) -> AlertRule:
    """Create or change a rule (validated by the form); audited."""
    with transaction.atomic():
        before = None
        if rule.pk:
            before = _rule_state(AlertRule.objects.select_for_update().get(pk=rule.pk))
        else:
            rule.created_by = actor
        if rule.webhook_format == AlertRule.WebhookFormat.JSON and not rule.webhook_secret:
            rule.webhook_secret = "whsec_" + secrets.token_urlsafe(32)
        if rule.webhook_format == AlertRule.WebhookFormat.SLACK:
            rule.webhook_secret = ""
        rule.save()
        action = AuditEntry.Action.UPDATE if before else AuditEntry.Action.ADD
        _audit(rule, action, actor, client_ip, before=before, after=_rule_state(rule))
    return rule


def rule_delete(*, rule: AlertRule, actor, client_ip=None) -> None:
    with transaction.atomic():
        _audit(rule, AuditEntry.Action.DELETE, actor, client_ip, before=_rule_state(rule))
        rule.delete()


def rule_mute(*, rule: AlertRule, until: dt.datetime | None, actor, client_ip=None) -> None:
    with transaction.atomic():
        before = _rule_state(rule)
        rule.muted_until = until
        rule.save(update_fields=["muted_until", "updated_at"])
        _audit(
            rule, AuditEntry.Action.MUTE, actor, client_ip, before=before, after=_rule_state(rule)
        )


def domain_mute(*, domain: Domain, until: dt.datetime | None, reason: str, actor, client_ip=None):
    """Mute every alert about a domain until a time (None: unmute)."""
    with transaction.atomic():
        existing = DomainMute.objects.select_for_update().filter(domain=domain).first()
        before = {"muted_until": existing.until.isoformat()} if existing else None
        if until is None:
            DomainMute.objects.filter(domain=domain).delete()
        else:
            DomainMute.objects.update_or_create(
                domain=domain, defaults={"until": until, "reason": reason, "muted_by": actor}
            )
        audit_entry_create(
            kind=AuditEntry.Kind.ALERT,
            action=AuditEntry.Action.MUTE,
            domain=domain,
            actor=actor,
            client_ip=client_ip,
            before=before,
            after={"muted_until": until.isoformat() if until else None, "reason": reason},
        )


def test_alert_send(*, rule: AlertRule, actor, now: dt.datetime | None = None) -> list:
    """Send a test message on each of the rule's channels now; returns the notifications."""
    now = now or timezone.now()
    domain = rule.domain if rule.domain_id else None
    finding = Finding(subject="test", domain=domain, firing=True, numbers={})
    payload = message(rule, None, finding, AlertNotification.Event.TEST, now)
    payload["text"] = (
        f"This is a test of the alert rule “{rule.name}”, sent by {actor.get_username()}.\n\n"
        + payload["text"]
    )
    payload["markdown"] = f"**Test** sent by {actor.get_username()}\n\n" + payload["markdown"]
    sent = []
    for channel in rule_channels(rule):
        notification = AlertNotification.objects.create(
            rule=rule,
            domain=domain,
            subject="test",
            event=AlertNotification.Event.TEST,
            channel=channel,
            key=f"test|{uuid.uuid4()}",
            payload=payload,
            claimed_until=now + CLAIM,
            created_at=now,
        )
        notification_send(notification, now=now)
        notification.refresh_from_db()
        sent.append(notification)
    return sent
