"""Incident maintenance (after each archived batch) and the state changes people make.

Failures are grouped by domain + receiver host + cause (failure class, and the HTTP status
for HTTP classes). An incident stays open — or acknowledged, or muted — while failures keep
coming; a run of INCIDENT_RESOLVE_AFTER deliveries to the same host resolves it on its own.
Every state change by a person is audited; an automatic resolution is kept on the incident.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import can_edit_domain
from dashboard.archive.classify import HTTP_4XX, HTTP_5XX
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.domains.models import Domain

from .models import Incident, IncidentNote

logger = logging.getLogger(__name__)
# batches that could not be folded into incidents, per domain, since the process started
TRACK_FAILURES: Counter[str] = Counter()

MAX_STREAMS = 50
MAX_SAMPLES = 10


def incident_key(domain_id: int, host: str, failure_class: str, status: int | None) -> str:
    code = status if failure_class in (HTTP_4XX, HTTP_5XX) and status else ""
    return f"{domain_id}|{host}|{failure_class}|{code}"


def incidents_track(sender=None, *, domain: Domain, records: list, **kwargs) -> None:
    """Fold newly archived records into the domain's incidents (the records_archived signal):
    failures into their incidents (opened when new), then successes into the success streaks
    of the incidents of their hosts — one transaction and one locking read per batch."""
    failures: dict[str, list] = defaultdict(list)
    successes: dict[str, list] = defaultdict(list)
    for record in records:
        if record.notify_result == "success":
            successes[record.receiver_host].append(record.notify_time)
        else:
            key = incident_key(
                domain.pk, record.receiver_host, record.failure_class, record.http_status
            )
            failures[key].append(record)
    if not failures and not successes:
        return
    for _attempt in range(3):  # two harvesters may open the same incident at once
        try:
            with transaction.atomic():
                _track(domain, failures, successes)
            return
        except IntegrityError:
            continue
    # never silently: these records are archived but not in any incident
    TRACK_FAILURES[domain.name] += 1
    logger.error(
        "incidents: %s records of %s could not be folded into incidents after 3 tries",
        len(records),
        domain.name,
    )


def _track(domain: Domain, failures: dict[str, list], successes: dict[str, list]) -> None:
    hosts = set(successes) | {batch[0].receiver_host for batch in failures.values()}
    active = {
        incident.key: incident
        for incident in Incident.objects.select_for_update()
        .filter(domain=domain, receiver_host__in=sorted(hosts))
        .exclude(state=Incident.State.RESOLVED)
        .order_by("pk")  # one lock order for every writer
    }
    if not failures and not active:
        return  # successes to hosts with no open incident: nothing to do
    changed: dict[str, Incident] = {}
    for key, batch in sorted(failures.items()):
        batch = sorted(batch, key=lambda r: r.notify_time)
        first, last = batch[0], batch[-1]
        incident = active.get(key)
        if incident is None:
            status = last.http_status if last.failure_class in (HTTP_4XX, HTTP_5XX) else None
            incident = active[key] = Incident(
                domain=domain,
                receiver_host=last.receiver_host,
                failure_class=last.failure_class or "other",
                http_status=status,
                key=key,
                first_seen=first.notify_time,
                last_seen=last.notify_time,
            )
        if last.notify_time > incident.last_seen or incident.pk is None:
            # a newer failure: the run of deliveries since the last one starts again (a late
            # record older than the incident's last failure leaves the run alone — every
            # delivery it counted came after that failure, so after this one too)
            incident.success_streak = 0
        incident.first_seen = min(incident.first_seen, first.notify_time)
        incident.last_seen = max(incident.last_seen, last.notify_time)
        incident.count += len(batch)
        streams = [f"{r.app_name}/{r.stream_name}" for r in reversed(batch)]
        incident.streams = list(dict.fromkeys(streams + incident.streams))[:MAX_STREAMS]
        samples = [r.id for r in reversed(batch)]
        incident.sample_ids = list(dict.fromkeys(samples + incident.sample_ids))[:MAX_SAMPLES]
        if incident.effective_state == Incident.State.OPEN:
            incident.state = Incident.State.OPEN  # a mute that ran out
        changed[key] = incident
    needed = settings.INCIDENT_RESOLVE_AFTER
    for key, incident in active.items():
        later = [t for t in successes.get(incident.receiver_host, ()) if t > incident.last_seen]
        if not later:
            continue
        incident.success_streak += len(later)
        if incident.success_streak >= needed:
            # Not audited: the audit log says what people did; a flapping receiver would
            # bury it. The incident itself says it resolved on its own, and when.
            incident.state = Incident.State.RESOLVED
            incident.resolved_at = timezone.now()
            incident.resolved_by = None
        changed[key] = incident
    # in key order: two writers opening the same incidents insert them in one order
    for _key, incident in sorted(changed.items()):
        incident.save()


# --- what people do -------------------------------------------------------------------------


class IncidentConflict(Exception):
    """The change cannot be made in the incident's present state (the message says why)."""


def _state(incident: Incident) -> dict:
    return {
        "incident": incident.pk,
        "host": incident.receiver_host,
        "cause": incident.cause,
        "state": incident.state,
        "muted_until": incident.muted_until.isoformat() if incident.muted_until else None,
    }


def _require_change(user, incident: Incident) -> None:
    if not can_edit_domain(user, incident.domain):
        raise PermissionDenied(
            _("Only editors of %(domain)s and leads can change its incidents.")
            % {"domain": incident.domain.name}
        )


def incident_change(
    *,
    incident: Incident,
    actor,
    action: str,
    muted_until: dt.datetime | None = None,
    client_ip: str | None = None,
) -> Incident:
    """Acknowledge, resolve, mute until a time, or reopen; audited."""
    _require_change(actor, incident)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        before = _state(locked)
        now = timezone.now()
        if action == AuditEntry.Action.ACKNOWLEDGE:
            locked.state = Incident.State.ACKNOWLEDGED
            locked.acknowledged_by, locked.acknowledged_at = actor, now
        elif action == AuditEntry.Action.RESOLVE:
            locked.state = Incident.State.RESOLVED
            locked.resolved_by, locked.resolved_at = actor, now
        elif action == AuditEntry.Action.MUTE:
            locked.state = Incident.State.MUTED
            locked.muted_until = muted_until
        elif action == AuditEntry.Action.REOPEN:
            if (
                Incident.objects.filter(key=locked.key)
                .exclude(pk=locked.pk)
                .exclude(state=Incident.State.RESOLVED)
                .exists()
            ):
                raise IncidentConflict(
                    _("A newer incident with the same cause is open: see that one instead.")
                )
            locked.state = Incident.State.OPEN
            locked.resolved_at = None
            locked.resolved_by = None
        else:
            raise ValueError(action)
        locked.save()
        audit_entry_create(
            domain=locked.domain,
            kind=AuditEntry.Kind.INCIDENT,
            action=action,
            actor=actor,
            client_ip=client_ip,
            before=before,
            after=_state(locked),
        )
    return locked


def incident_note_add(*, incident: Incident, actor, text: str, client_ip=None) -> IncidentNote:
    _require_change(actor, incident)
    note = IncidentNote.objects.create(
        incident=incident, author=actor, author_name=actor.get_username(), text=text
    )
    audit_entry_create(
        domain=incident.domain,
        kind=AuditEntry.Kind.INCIDENT,
        action=AuditEntry.Action.NOTE,
        actor=actor,
        client_ip=client_ip,
        after={**_state(incident), "note": text[:200]},
    )
    return note
