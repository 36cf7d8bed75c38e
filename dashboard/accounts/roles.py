"""The three roles, as Django groups holding permissions, and who may do what."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

VIEWER = "Viewer"
EDITOR = "Editor"
LEAD = "Lead"
ROLES = (VIEWER, EDITOR, LEAD)
ROLE_LABELS = {VIEWER: _("Viewer"), EDITOR: _("Editor"), LEAD: _("Lead")}
# Who outranks whom: nobody may grant a role above their own.
RANK = {None: 0, VIEWER: 1, EDITOR: 2, LEAD: 3}

# (app_label, codename) per role. Custom permissions are declared on domains.Domain.
_VIEW = [
    ("domains", "view_domain"),
    ("domains", "view_team"),
    ("domains", "view_recordnotifyconfig"),
    ("domains", "view_snapshotnotifyconfig"),
]
ROLE_PERMISSIONS = {
    VIEWER: _VIEW,
    EDITOR: [*_VIEW, ("domains", "edit_team_callbacks")],
    LEAD: [
        *_VIEW,
        ("domains", "edit_any_callbacks"),
        ("audit", "view_auditentry"),
        ("domains", "sync_all_domains"),
        ("domains", "add_team"),
        ("domains", "change_team"),
        ("domains", "delete_team"),
        ("domains", "change_domain"),
        ("auth", "view_user"),
        ("auth", "add_user"),
        ("auth", "change_user"),
    ],
}


def ensure_roles(sender=None, using="default", **kwargs) -> None:
    """Create or refresh the role groups (runs after every migrate; idempotent)."""
    if using != "default":
        return
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for app_label, codename in perms:
            perm = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def role_names(user) -> frozenset[str]:
    """The role groups a person is in, read once per request (cached on the user)."""
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._role_names = cached
    return cached


def roles_changed(user) -> None:
    """Forget what was read of the person's roles (after changing them)."""
    for name in ("_role_names", "_role_perm_cache", "_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)


def role_of(user) -> str | None:
    """The strongest role the user holds (superusers count as Lead)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return LEAD
    names = role_names(user)
    for role in (LEAD, EDITOR, VIEWER):
        if role in names:
            return role
    return None


def has_any_role(user) -> bool:
    """Viewer, Editor or Lead: anyone who may read the dashboard."""
    return user.is_authenticated and user.has_perm("domains.view_domain")


def is_lead(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.edit_any_callbacks")
