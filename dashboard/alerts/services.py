"""Alerts: evaluating rules into notifications (once, however many workers run), sending them
with retries, and what people do to rules and mutes (audited).

`alerts_evaluate(now)` and `notifications_deliver(now)` take the clock as an argument: the
scheduled loop (`run_alerts`) passes the real one, tests pass their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import socket
import time
import uuid
import zoneinfo
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from dashboard.invisible import invisible_named
from dashboard.said import Sentence, columns

from . import channels
from .conditions import Finding, evaluate
from .models import AlertAttempt, AlertNotification, AlertRule, AlertState, DomainMute

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


# --- evaluation -----------------------------------------------------------------------------


def alerts_evaluate(*, now: dt.datetime | None = None) -> int:
    """Evaluate every enabled rule once; returns how many notifications were queued.

    Each rule is evaluated under a row lock taken with SKIP LOCKED: of several workers, one
    evaluates a rule at a time and the others pass it by. Notification keys are unique, so
    even without row locks (SQLite) an event is queued once."""
    now = now or timezone.now()
    queued = 0
    for rule_id in AlertRule.objects.filter(enabled=True).values_list("pk", flat=True):
        try:
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
        except Exception:  # noqa: BLE001 - one rule's failure never stops the others
            logger.exception("alert rule %s could not be evaluated", rule_id)
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
            gone = Finding(
                subject=subject,
                domain=state.domain,
                firing=False,
                host=state.receiver_host,
                incident_id=state.incident_id,
            )
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
        if finding.muted or _muted(rule, finding.domain, now)
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


DEFAULT_LINK_BASE = "http://127.0.0.1:8000"


def link_base(rule: AlertRule) -> str:
    """Where the links in a rule's messages point: DASHBOARD_URL, else the address the rule was
    last saved or tested from (`make run` sets DASHBOARD_URL from its ADDR)."""
    return (settings.DASHBOARD_URL or rule.link_base or DEFAULT_LINK_BASE).rstrip("/")


def message_zone(rule: AlertRule):
    """The zone a rule's messages give times in (UTC for a name no longer known)."""
    try:
        return zoneinfo.ZoneInfo(rule.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _zone_name(zone) -> str:
    return getattr(zone, "key", "UTC")  # datetime.UTC has no key


def _at(moment: dt.datetime | None, zone) -> str:
    """A time in the message's zone, named: "2026-12-07 18:56 Asia/Shanghai"."""
    if not moment:
        return "—"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M ") + _zone_name(zone)


def _at_text(iso: str | None, zone) -> str:
    try:
        return _at(dt.datetime.fromisoformat(iso), zone) if iso else _("none in the archive")
    except ValueError:
        return iso


def _what(rule: AlertRule, finding: Finding, event: str, zone) -> str:
    """What happened, in the active language (the rule's: `message`)."""
    n = finding.numbers
    window = rule.window_minutes
    if event == AlertNotification.Event.TEST:
        return _(
            "a test of this rule: when it fires, this line says what failed, where, and since "
            "when, with links to the records, the incident and the rule"
        )
    if rule.condition == AlertRule.Condition.FAILURE_RATE:
        if not n:
            return _("no longer in the rule's scope")
        if not n.get("total"):  # recovered for want of deliveries: no rate to say
            return ngettext(
                "no callbacks in the last %(window)s min (alert above %(threshold)s%% with at "
                "least %(minimum)s delivery)",
                "no callbacks in the last %(window)s min (alert above %(threshold)s%% with at "
                "least %(minimum)s deliveries)",
                rule.min_deliveries,
            ) % {
                "window": window,
                "threshold": rule.threshold_percent,
                "minimum": f"{rule.min_deliveries:,}",
            }
        return _(
            "%(rate)s%% of callbacks failed in the last %(window)s min (%(failed)s of "
            "%(total)s; alert above %(threshold)s%% with at least %(minimum)s)"
        ) % {
            "rate": n.get("rate"),
            "window": window,
            "failed": f"{n.get('failed'):,}",
            "total": f"{n.get('total'):,}",
            "threshold": rule.threshold_percent,
            "minimum": f"{rule.min_deliveries:,}",
        }
    if rule.condition == AlertRule.Condition.CONSECUTIVE:
        return _consecutive(rule, finding)
    if rule.condition == AlertRule.Condition.INCIDENT:
        if not n:
            return _("the incident is resolved")
        failures = n.get("failures") or 0
        return ngettext(
            "new incident: %(cause)s at %(host)s (%(failures)s failure)",
            "new incident: %(cause)s at %(host)s (%(failures)s failures)",
            failures,
        ) % {"cause": n.get("cause"), "host": finding.host, "failures": f"{failures:,}"}
    if rule.condition == AlertRule.Condition.MISSING:
        if not n:
            return _("no longer watched (not an ingest domain, or out of scope)")
        # written out: a pusher's right-to-left override would turn the message around
        streams = ", ".join(invisible_named(name) for name in n.get("streams") or [])
        pushes, callbacks = n.get("pushes") or 0, n.get("callbacks") or 0
        if not pushes:
            return _("no push in the last %(window)s min is missing its stream callbacks") % {
                "window": window
            }
        said = ngettext(
            "%(pushes)s push in the last %(window)s min is missing",
            "%(pushes)s pushes in the last %(window)s min are missing",
            pushes,
        ) % {"pushes": f"{pushes:,}", "window": window}
        said += " " + ngettext(
            "%(callbacks)s stream callback that Live's push history says was due",
            "%(callbacks)s stream callbacks that Live's push history says were due",
            callbacks,
        ) % {"callbacks": f"{callbacks:,}"}
        return said + (f" ({streams})" if streams else "")
    if not n:
        return _("no longer watched (offline, no recording callback, or out of scope)")
    total = n.get("total") or 0
    return ngettext(
        "%(total)s callback in the last %(window)s min (last one: %(last)s)",
        "%(total)s callbacks in the last %(window)s min (last one: %(last)s)",
        total,
    ) % {"total": f"{total:,}", "window": window, "last": _at_text(n.get("last_callback"), zone)}


def _consecutive(rule: AlertRule, finding: Finding) -> str:
    """A run of failures to one receiver; once it has ended, how (a recovery's numbers are the
    run as it is now, or none when the receiver is no longer watched)."""
    if not finding.numbers:
        return _(
            "%(host)s is no longer watched (the domain left the rule's scope, or its callbacks "
            "go to another receiver now)"
        ) % {"host": finding.host}
    run, k = finding.numbers.get("consecutive_failures") or 0, rule.consecutive
    values = {"n": f"{run:,}", "host": finding.host, "k": f"{k:,}"}
    if run >= k:
        return _("the last %(n)s callbacks to %(host)s failed (alert at %(k)s in a row)") % values
    if not run:
        return (
            _("the latest callback to %(host)s succeeded (alert at %(k)s failures in a row)")
            % values
        )
    return (
        ngettext(
            "%(host)s answered again, then the latest callback failed (alert at %(k)s in a row)",
            "%(host)s answered again, then the last %(n)s callbacks failed (alert at %(k)s in a "
            "row)",
            run,
        )
        % values
    )


def _records_query(rule: AlertRule, domain: str, start: dt.datetime, event: str) -> dict:
    """The records behind a message, from `start` to whenever the link is opened. Silence has
    no failed records by definition: it links to the domain's records of every result."""
    query: dict = {}
    if domain:
        query["domain"] = domain
    if rule.condition == AlertRule.Condition.MISSING and event != AlertNotification.Event.TEST:
        query["status"] = "missing"
    elif rule.condition != AlertRule.Condition.SILENCE and event != AlertNotification.Event.TEST:
        query["status"] = "failed"
    query["window"] = "custom"
    # to the minute, with its offset: the records page shows it in the reader's own zone
    query["start"] = start.astimezone(dt.UTC).replace(second=0, microsecond=0).isoformat()
    return query


def message(rule, state, finding: Finding, event: str, now: dt.datetime) -> dict:
    """What a notification says, in the rule's language with times in its zone (the links, the
    numbers and the ISO times of the payload are the same in any)."""
    with translation.override(rule.language or settings.LANGUAGE_CODE):
        return _message(rule, state, finding, event, now, message_zone(rule))


def _message(rule, state, finding: Finding, event: str, now: dt.datetime, zone) -> dict:
    domain = finding.domain.name if finding.domain else ""
    label = {
        "firing": _("FIRING"),
        "reminder": _("STILL FIRING"),
        "recovered": _("RECOVERED"),
        "test": _("TEST"),
    }[event]
    what = _what(rule, finding, event, zone)
    name = " ".join(rule.name.split())
    where = domain or _("all domains")
    title = f"[{label}] {name}: {where}" + (f" → {finding.host}" if finding.host else "")
    since = state.since if state is not None else now
    start = min(since, now - dt.timedelta(minutes=rule.window_minutes or 15))
    base = link_base(rule)
    query = _records_query(rule, domain, start, event)
    links = {"records": base + reverse("records") + "?" + urlencode(query)}
    if domain and rule.condition == AlertRule.Condition.SILENCE:
        links["chart"] = base + reverse("domain_detail", kwargs={"name": domain}) + "#deliveries"
    links["rule"] = base + reverse("alert_detail", kwargs={"pk": rule.pk})
    incident_id = finding.incident_id or _open_incident(finding)
    if incident_id:
        links["incident"] = base + reverse("incident_detail", kwargs={"pk": incident_id})
    when = _("Since: %(since)s") % {"since": _at(since, zone)}
    if event == "recovered":
        when += " " + _("(recovered %(at)s)") % {"at": _at(now, zone)}
    named = {
        "records": _("Records"),
        "chart": _("Deliveries chart"),
        "incident": _("Incident"),
        "rule": _("Rule and its history"),
    }
    lines = [
        _("What: %(what)s") % {"what": what},
        _("Where: %(where)s") % {"where": where}
        + (_(", receiver %(host)s") % {"host": finding.host} if finding.host else ""),
        when,
        _("Rule: %(name)s (%(condition)s)")
        % {"name": name, "condition": rule.get_condition_display()},
        "",
        *(
            f"{named[k]}: {links[k]}"
            for k in ("records", "chart", "incident", "rule")
            if k in links
        ),
    ]
    markdown = "\n\n".join(
        [
            f"#### {title}",
            _("**What:** %(what)s") % {"what": what},
            when,
            *(f"[{named[k]}]({v})" for k, v in links.items()),
        ]
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
        "language": rule.language,
        "time_zone": _zone_name(zone),
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


def claim_duration() -> dt.timedelta:
    """How long a sender holds a notification: longer than the longest send can take (the
    webhook and SMTP deadlines), so a claim never runs out while its holder is still sending."""
    return dt.timedelta(seconds=settings.ALERT_CLAIM_SECONDS)


def jitter() -> float:
    """A factor around 1 for retry delays, so retries of many notifications spread out."""
    return random.uniform(0.8, 1.2)  # noqa: S311 - spreading retries, not a secret


def backoff(attempts: int) -> dt.timedelta:
    """After the n-th failed attempt: about 30 s, 2 min, 8 min, 32 min (±20%)."""
    return dt.timedelta(seconds=30 * 4 ** (attempts - 1) * jitter())


WORKER = f"{socket.gethostname()}:{os.getpid()}"


def notifications_deliver(*, now: dt.datetime | None = None, limit: int = 50) -> int:
    """Send what is due; returns how many went out.

    Each notification is claimed on its own, just before it is sent, with a claim stamped at
    that moment (a batch of slow sends never leaves later claims already run out), and only
    the claim's holder records the outcome. One notification failing in any way — a channel
    refusing, a bug, a database hiccup — is recorded as a failed attempt and never stops the
    others."""
    started = time.monotonic()
    base = now or timezone.now()

    def clock() -> dt.datetime:
        # `now` as the caller sees it, moved on by the time this round has taken so far
        return base + dt.timedelta(seconds=time.monotonic() - started)

    due = list(
        AlertNotification.objects.filter(
            status=AlertNotification.Status.PENDING, next_attempt_at__lte=base
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=base))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in due:
        moment = clock()
        token = str(uuid.uuid4())
        claimed = (
            AlertNotification.objects.filter(pk=pk, status=AlertNotification.Status.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=moment))
            .update(claimed_until=moment + claim_duration(), claim_token=token)
        )
        if not claimed:
            continue  # another sender took it, or it was sent meanwhile
        try:
            notification = AlertNotification.objects.select_related("rule").get(pk=pk)
            sent += notification_send(notification, token=token, now=clock())
        except Exception:  # noqa: BLE001 - one notification never stops the rest
            logger.exception("alert notification %s could not be handled", pk)
            _give_back(pk, token, clock())
    return sent


def _give_back(pk: int, token: str, now: dt.datetime) -> None:
    """After an unexpected failure: count the attempt, retry later, release the claim."""
    try:
        AlertNotification.objects.filter(pk=pk, claim_token=token).update(
            attempts=F("attempts") + 1,
            **columns(
                "last_error", Sentence(gettext_noop("internal error while sending (see the logs)"))
            ),
            next_attempt_at=now + backoff(1),
            claimed_until=None,
            claim_token="",
        )
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        logger.exception("alert notification %s: could not record the failure", pk)


def notification_send(notification: AlertNotification, *, token: str, now: dt.datetime) -> int:
    """One attempt by the holder of `token`; returns 1 when it went out. Every attempt is a
    row (AlertAttempt), created before the send: two senders can never make the same one."""
    rule = notification.rule
    test = notification.event == AlertNotification.Event.TEST
    if not test and (not rule.enabled or _muted(rule, notification.domain, now)):
        # queued (or waiting for a retry) before the rule was turned off or muted: a lead
        # who silences a rule hears nothing more of it — recorded, not sent
        AlertNotification.objects.filter(pk=notification.pk, claim_token=token).update(
            status=AlertNotification.Status.MUTED,
            **columns(
                "last_error",
                Sentence(gettext_noop("not sent: the rule was turned off or muted first")),
            ),
            claimed_until=None,
            claim_token="",
        )
        return 0
    number = notification.attempts + 1
    attempt = AlertAttempt.objects.create(
        notification=notification, number=number, started_at=now, worker=WORKER
    )
    try:
        result = channels.send(notification, notification.rule)
    except Exception as failure:  # noqa: BLE001 - every failure becomes a recorded attempt
        if isinstance(failure, channels.ChannelError):
            error = failure.why
        else:
            logger.exception(
                "alert %s: %s failed unexpectedly", notification.pk, notification.channel
            )
            error = Sentence(f"{type(failure).__name__}: {failure}"[:500])
        # a test is tried once: the person who sent it is looking at the answer now
        gave_up = number >= MAX_ATTEMPTS or notification.event == AlertNotification.Event.TEST
        finished = timezone.now()
        AlertAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=finished, **columns("detail", error)
        )
        AlertNotification.objects.filter(pk=notification.pk, claim_token=token).update(
            attempts=number,
            **columns("last_error", error),
            status=AlertNotification.Status.FAILED if gave_up else AlertNotification.Status.PENDING,
            next_attempt_at=now + backoff(number),
            claimed_until=None,
            claim_token="",
        )
        logger.warning(
            "alert %s (%s) attempt %s failed: %s",
            notification.pk,
            notification.channel,
            number,
            error,
        )
        return 0
    AlertAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=timezone.now(),
        ok=True,
        **columns("detail", result.detail),
    )
    AlertNotification.objects.filter(pk=notification.pk, claim_token=token).update(
        attempts=number,
        status=AlertNotification.Status.SENT,
        sent_at=now,
        **columns("last_error", result.detail),
        claimed_until=None,
        claim_token="",
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
        "language": rule.language,
        "time_zone": rule.time_zone,
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


# What a save through the editor writes to an existing rule.
EDITED = [
    *("name", "scope", "domain", "team", "condition", "threshold_percent", "window_minutes"),
    *("min_deliveries", "consecutive", "reminder_minutes", "emails", "webhook_url"),
    *("webhook_format", "webhook_secret", "language", "time_zone", "enabled", "link_base"),
    *("version", "changed_by", "changed_at", "updated_at"),
]


class RuleConflict(Exception):
    """Someone saved the rule after the form being sent was filled in: `current` is the rule as
    it is now."""

    def __init__(self, current: AlertRule) -> None:
        super().__init__(current.pk)
        self.current = current


def rule_save(
    *,
    rule: AlertRule,
    actor,
    client_ip=None,
    link_base: str = "",
    expected_version: int | None = None,
) -> AlertRule:
    """Create or change a rule (validated by the form); audited. `link_base`: the address it
    was saved from (its messages' links use it when DASHBOARD_URL is not set).
    `expected_version`: the version the form was filled in from; if the rule has been saved
    since, RuleConflict and nothing changes (None: save whatever it is now)."""
    if link_base:
        rule.link_base = link_base[:200]
    with transaction.atomic():
        before = None
        if rule.pk:
            current = AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
            if current is None:
                raise AlertRule.DoesNotExist(rule.pk)
            if expected_version is not None and current.version != expected_version:
                raise RuleConflict(current)
            before = _rule_state(current)
            rule.version = current.version + 1
            rule.muted_until = current.muted_until  # not the editor's (the audit shows it as is)
        else:
            rule.created_by = actor
        rule.changed_by, rule.changed_at = actor, timezone.now()
        if rule.webhook_format == AlertRule.WebhookFormat.JSON and not rule.webhook_secret:
            rule.webhook_secret = "whsec_" + secrets.token_urlsafe(32)
        if rule.webhook_format not in (AlertRule.WebhookFormat.JSON, *AlertRule.ROBOT_SIGNED):
            rule.webhook_secret = ""
        # an existing rule: the editor's columns only (a mute or an evaluation meanwhile stays)
        rule.save(update_fields=EDITED if before else None)
        action = AuditEntry.Action.UPDATE if before else AuditEntry.Action.ADD
        _audit(rule, action, actor, client_ip, before=before, after=_rule_state(rule))
    return rule


def rule_delete(
    *, rule: AlertRule, actor, client_ip=None, expected_version: int | None = None
) -> bool:
    """Delete a rule, audited once; False when someone deleted it first. `expected_version`:
    the version the confirmation page showed; if the rule has been saved since, RuleConflict
    and nothing changes (what is deleted is what was looked at)."""
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
        if rule is None:
            return False
        if expected_version is not None and rule.version != expected_version:
            raise RuleConflict(rule)
        _audit(rule, AuditEntry.Action.DELETE, actor, client_ip, before=_rule_state(rule))
        rule.delete()
    return True


def rule_mute(*, rule: AlertRule, until: dt.datetime | None, actor, client_ip=None) -> bool:
    """Mute a rule until a time (None: unmute), audited; False when the rule was deleted."""
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
        if rule is None:
            return False
        before = _rule_state(rule)
        rule.muted_until = until
        rule.save(update_fields=["muted_until", "updated_at"])
        _audit(
            rule, AuditEntry.Action.MUTE, actor, client_ip, before=before, after=_rule_state(rule)
        )
    return True


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


def test_alert_send(
    *, rule: AlertRule, actor, now: dt.datetime | None = None, link_base: str = ""
) -> list:
    """Send a test message on each of the rule's channels now, once each (a test is not
    retried); returns the notifications."""
    now = now or timezone.now()
    if link_base and link_base != rule.link_base:
        rule.link_base = link_base[:200]
        AlertRule.objects.filter(pk=rule.pk).update(link_base=rule.link_base)
    domain = rule.domain if rule.domain_id else None
    finding = Finding(subject="test", domain=domain, firing=True, numbers={})
    payload = message(rule, None, finding, AlertNotification.Event.TEST, now)
    with translation.override(rule.language or settings.LANGUAGE_CODE):
        who = {"name": rule.name, "who": actor.get_username()}
        payload["text"] = (
            _("This is a test of the alert rule “%(name)s”, sent by %(who)s.") % who
            + "\n\n"
            + payload["text"]
        )
        payload["markdown"] = _("**Test** sent by %(who)s") % who + "\n\n" + payload["markdown"]
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
            claimed_until=now + claim_duration(),
            claim_token=(token := str(uuid.uuid4())),
            created_at=now,
        )
        notification_send(notification, token=token, now=now)
        notification.refresh_from_db()
        sent.append(notification)
    return sent
