"""The state changes people make to incidents (how incidents come to be: derive.py).

Every state change by a person is audited; an automatic resolution is kept on the incident.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import can_edit_domain
from dashboard.archive.models import HarvestCursor
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create

from .models import Incident, IncidentNote


class IncidentConflict(Exception):
    """The change cannot be made in the incident's present state (the message says why;
    `other`: the open incident of the same cause, when that is why)."""

    def __init__(self, message: str, other: Incident | None = None) -> None:
        super().__init__(message)
        self.other = other


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


def _stale(incident: Incident, action: str) -> str | None:
    """Why `action` cannot be done to the incident as it is now (the page it was chosen on may be
    older than a change by someone else or by the harvest), or None."""
    resolved = incident.state == Incident.State.RESOLVED
    if action == AuditEntry.Action.REOPEN:
        if not resolved:
            return _(
                "This incident is not resolved, so there is nothing to reopen: nothing changed."
            )
        return None
    if resolved and action == AuditEntry.Action.RESOLVE:
        return _("This incident is resolved already: nothing changed.")
    if resolved:
        return _("This incident is resolved: nothing changed. Reopen it first if it is not over.")
    if action == AuditEntry.Action.ACKNOWLEDGE and incident.state == Incident.State.ACKNOWLEDGED:
        if incident.acknowledged_by is None:  # its person is gone
            return _("This incident is acknowledged already: nothing changed.")
        return _("%(who)s acknowledged this incident already: nothing changed.") % {
            "who": incident.acknowledged_by.get_username()
        }
    return None


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
        if action == AuditEntry.Action.REOPEN:
            # The harvest opens a cause's next incident holding the domain's cursor: reopening
            # holds it too (first, as the harvest does), so the two cannot both make the cause
            # active, and two reopenings of one cause take turns.
            HarvestCursor.objects.held(incident.domain)
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        refusal = _stale(locked, action)
        if refusal:
            raise IncidentConflict(refusal)
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
            other = (
                Incident.objects.filter(key=locked.key)
                .exclude(pk=locked.pk)
                .exclude(state=Incident.State.RESOLVED)
                .first()
            )
            if other is not None:
                raise IncidentConflict(
                    _("Another incident with the same cause is open: see that one instead."),
                    other=other,
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
