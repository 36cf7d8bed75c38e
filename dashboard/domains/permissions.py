"""Who may do what, and why not: Leads edit everything, Editors their teams' domains.

`edit_refusal` returns None when the user may, or a sentence in the user's language that says
why not and whom to ask; pages show it instead of a bare 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from dashboard.accounts.roles import ROLE_LABELS, role_of
from dashboard.accounts.selectors import leads


def ask_a_lead() -> str:
    names = [u.get_full_name() or u.get_username() for u in leads()[:3]]
    if not names:
        return _("Ask an administrator.")
    return _("Ask a lead (%(names)s).") % {"names": ", ".join(names)}


def edit_refusal(user, domain) -> str | None:
    """Why `user` may not edit `domain`'s callbacks, or None when they may."""
    if not user.is_authenticated:
        return _("Sign in first.")
    if domain.gone_at is not None:
        return _("%(domain)s is gone from the Live API: its callbacks can no longer be edited.") % {
            "domain": domain.name
        }
    if user.has_perm("domains.edit_any_callbacks"):
        return None
    if not user.has_perm("domains.edit_team_callbacks"):
        role = ROLE_LABELS.get(role_of(user), _("no role"))
        why = _("Your role (%(role)s) can read callbacks but not change them.") % {"role": role}
    elif domain.team_id is None:
        why = _("%(domain)s belongs to no team, so only leads can edit it.") % {
            "domain": domain.name
        }
    elif not user.teams.filter(pk=domain.team_id).exists():
        why = _("%(domain)s belongs to team %(team)s, and you are not in it.") % {
            "domain": domain.name,
            "team": domain.team.name,
        }
    else:
        return None
    return f"{why} {ask_a_lead()}"


def can_edit_domain(user, domain) -> bool:
    return edit_refusal(user, domain) is None


def require_edit(user, domain) -> None:
    refusal = edit_refusal(user, domain)
    if refusal is not None:
        raise PermissionDenied(refusal)


def can_sync_all(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.sync_all_domains")


def can_read_audit(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.view_auditentry")


def require_perm(user, perm: str, what: str) -> None:
    """PermissionDenied that says what needs which role, and whom to ask."""
    if not (user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied(f"{what} {ask_a_lead()}")
