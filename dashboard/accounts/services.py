"""People: add a person, change their role and teams. Every change is audited. Who may grant
what is the access module's `grant_refusal`, checked by the views."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create

from .roles import ROLES, role_of, roles_changed
from .sessions import sessions_end


def _state(user) -> dict:
    return {
        "username": user.get_username(),
        "name": user.get_full_name(),
        "email": user.email,
        "role": role_of(user) or "",
        "teams": sorted(t.name for t in user.teams.all()),
        "active": user.is_active,
    }


def _apply(user, *, role: str, teams, data: dict) -> None:
    for field in ("first_name", "last_name", "email"):
        setattr(user, field, data.get(field) or "")
    user.is_active = bool(data.get("is_active", True))
    user.is_staff = user.is_superuser  # the admin is for administrators only
    user.save()
    user.groups.set(Group.objects.filter(name=role) if role in ROLES else [])
    roles_changed(user)
    user.teams.set(teams)


def person_create(*, actor, data: dict, client_ip: str | None = None):
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=data["username"], password=data["password"]
        )
        _apply(user, role=data.get("role") or "", teams=data.get("teams") or [], data=data)
        audit_entry_create(
            kind=AuditEntry.Kind.PERSON,
            action=AuditEntry.Action.ADD,
            domain_name="",
            actor=actor,
            client_ip=client_ip,
            after=_state(user),
        )
    return user


def person_update(*, actor, user, data: dict, client_ip: str | None = None):
    if user.pk == actor.pk and not data.get("is_active", True):
        raise PermissionDenied(_("You cannot turn off your own sign-in."))
    with transaction.atomic():
        before = _state(user)
        _apply(user, role=data.get("role") or "", teams=data.get("teams") or [], data=data)
        after = _state(user)
        if before != after:
            audit_entry_create(
                kind=AuditEntry.Kind.PERSON,
                action=AuditEntry.Action.ROLE,
                domain_name="",
                actor=actor,
                client_ip=client_ip,
                before=before,
                after=after,
            )
    return user


def password_change(*, user, form, client_ip: str | None = None) -> None:
    """Save a validated PasswordChangeForm; audited (what changed, never the password). Every
    other session of the person ends with it (the session hash changes)."""
    with transaction.atomic():
        form.save()
        audit_entry_create(
            kind=AuditEntry.Kind.PERSON,
            action=AuditEntry.Action.PASSWORD,
            actor=user,
            client_ip=client_ip,
            after={"username": user.get_username()},
        )


def sign_out_everywhere(*, user, client_ip: str | None = None) -> int:
    """End every session of the person, this one included; audited."""
    with transaction.atomic():
        ended = sessions_end(user_id=user.pk)
        audit_entry_create(
            kind=AuditEntry.Kind.PERSON,
            action=AuditEntry.Action.SIGN_OUT,
            actor=user,
            client_ip=client_ip,
            after={"username": user.get_username(), "sessions": ended},
        )
    return ended
