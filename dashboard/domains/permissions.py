"""Who may edit which domain's callbacks: Leads everything, Editors their teams' domains."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def can_edit_domain(user, domain) -> bool:
    if not user.is_authenticated or domain.gone_at is not None:
        return False
    if user.has_perm("domains.edit_any_callbacks"):
        return True
    return (
        user.has_perm("domains.edit_team_callbacks")
        and domain.team_id is not None
        and user.teams.filter(pk=domain.team_id).exists()
    )


def require_edit(user, domain) -> None:
    if not can_edit_domain(user, domain):
        raise PermissionDenied("You may not edit this domain's callbacks.")


def can_sync_all(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.sync_all_domains")


def can_read_audit(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.view_auditentry")
