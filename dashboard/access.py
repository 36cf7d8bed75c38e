"""Who may read and change what — every rule once, in one module.

The rule behind editing: leads edit every domain; editors edit the domains of their teams;
viewers read. `domains_editable_by(user)` is that rule as a query, and every yes/no check is
derived from it. Views check (with the `require_*` / `access_*` helpers, which raise with a
sentence saying why and whom to ask); services trust their callers, so the background worker
and management commands use them as the system.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dashboard.accounts.roles import (
    LEAD,
    RANK,
    ROLE_LABELS,
    has_any_role,
    is_lead,
    role_of,
)
from dashboard.accounts.selectors import leads
from dashboard.domains.models import Domain, Team

__all__ = [
    "ask_a_lead",
    "can_create_rules",
    "can_edit_domain",
    "can_edit_rule",
    "can_sync_all",
    "domains_editable_by",
    "editable_domain_names",
    "edit_refusal",
    "grant_refusal",
    "has_any_role",
    "is_lead",
    "require_edit",
    "require_perm",
    "teams_editable_by",
]

EDIT_ANY = "domains.edit_any_callbacks"
EDIT_TEAM = "domains.edit_team_callbacks"


def ask_a_lead() -> str:
    names = cache.get_or_set(
        "lead-names", lambda: [u.get_full_name() or u.get_username() for u in leads()[:3]], 60
    )
    if not names:
        return _("Ask an administrator.")
    return _("Ask a lead (%(names)s).") % {"names": ", ".join(names)}


def require_perm(user, perm: str, what: str) -> None:
    """PermissionDenied that says what needs which role, and whom to ask."""
    if not (user.is_authenticated and user.has_perm(perm)):
        raise PermissionDenied(f"{what} {ask_a_lead()}")


def can_sync_all(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.sync_all_domains")


# --- domains ---------------------------------------------------------------------------------


def domains_editable_by(user) -> QuerySet[Domain]:
    """The domains whose callbacks `user` may change (and whose keys they may use): the rule,
    as a query. Gone domains are never editable."""
    rows = Domain.objects.filter(gone_at__isnull=True)
    if not user.is_authenticated:
        return rows.none()
    if user.has_perm(EDIT_ANY):
        return rows
    if user.has_perm(EDIT_TEAM):
        return rows.filter(team__in=user.teams.all())
    return rows.none()


def can_plan_configs(user) -> bool:
    """Plans and bulk changes of configs: for whoever may edit some domain (each change only
    of the domains they edit)."""
    return domains_editable_by(user).exists()


def editable_domain_names(user) -> list[str]:
    """The names of the streaming domains `user` may edit (whose keys they may use)."""
    rows = domains_editable_by(user).filter(domain_type=Domain.Type.STREAMING)
    return list(rows.order_by("name").values_list("name", flat=True).distinct())


def teams_editable_by(user) -> QuerySet[Team]:
    """The teams whose domains `user` may change (all of them for leads)."""
    if not user.is_authenticated:
        return Team.objects.none()
    if user.has_perm(EDIT_ANY):
        return Team.objects.all()
    if user.has_perm(EDIT_TEAM):
        return Team.objects.filter(pk__in=user.teams.values("pk"))
    return Team.objects.none()


def edit_refusal(user, domain: Domain) -> str | None:
    """Why `user` may not edit `domain`'s callbacks — in the reader's language, with whom to
    ask — or None when they may."""
    if not user.is_authenticated:
        return _("Sign in first.")
    if domains_editable_by(user).filter(pk=domain.pk).exists():
        return None
    if domain.gone_at is not None:
        return _("%(domain)s is gone from the Live API: its callbacks can no longer be edited.") % {
            "domain": domain.name
        }
    if not user.has_perm(EDIT_TEAM) and not user.has_perm(EDIT_ANY):
        role = ROLE_LABELS.get(role_of(user), _("no role"))
        why = _("Your role (%(role)s) can read callbacks but not change them.") % {"role": role}
    elif domain.team_id is None:
        why = _("%(domain)s belongs to no team, so only leads can edit it.") % {
            "domain": domain.name
        }
    else:
        why = _("%(domain)s belongs to team %(team)s, and you are not in it.") % {
            "domain": domain.name,
            "team": domain.team.name,
        }
    return f"{why} {ask_a_lead()}"


def can_edit_domain(user, domain: Domain) -> bool:
    return domains_editable_by(user).filter(pk=domain.pk).exists()


def require_edit(user, domain: Domain) -> None:
    refusal = edit_refusal(user, domain)
    if refusal is not None:
        raise PermissionDenied(refusal)


# --- alert rules -------------------------------------------------------------------------------


def can_create_rules(user) -> bool:
    return is_lead(user) or teams_editable_by(user).exists()


def can_edit_rule(user, rule) -> bool:
    """Leads any rule; editors the rules about one of their domains or one of their teams."""
    if is_lead(user):
        return True
    if rule.domain_id and rule.scope == "domain":
        return can_edit_domain(user, rule.domain)
    if rule.team_id and rule.scope == "team":
        return teams_editable_by(user).filter(pk=rule.team_id).exists()
    return False


# --- people ------------------------------------------------------------------------------------


def grant_refusal(actor, target, role: str) -> str | None:
    """Why `actor` may not give `target` (None: a new person) the role `role` ("" for none),
    or None when they may. Nobody grants above their own role or changes someone above it;
    only an administrator changes an administrator."""
    mine = RANK[role_of(actor)]
    if mine < RANK[LEAD]:
        return _("Only leads can manage people.")
    if RANK[role or None] > mine:
        return _("You cannot grant a role above your own.")
    if target is not None and target.is_superuser and not actor.is_superuser:
        return _("Only an administrator can change an administrator.")
    if target is not None and RANK[role_of(target)] > mine:
        return _("You cannot change someone whose role is above your own.")
    return None
