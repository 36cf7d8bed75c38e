"""People: add a person, change their role and teams. Every change is audited. Who may grant
what is the access module's `grant_refusal`, checked by the views and again here, with the
actor as they are at the moment of the change; the last lead is never left out."""

from __future__ import annotations

import re
import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import grant_refusal
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.forms import picture_fingerprint

from .models import GroupMapping, SsoIdentity
from .roles import LEAD, RANK, ROLES, role_of, roles_changed
from .selectors import active_leads, username_owner
from .sessions import sessions_end
from .sso import SsoPerson, SsoRefused


def person_state(user) -> dict:
    return {
        "username": user.get_username(),
        "name": user.get_full_name(),
        "email": user.email,
        "role": role_of(user) or "",
        "teams": sorted(t.name for t in user.teams.all()),
        "active": user.is_active,
    }


def person_fingerprint(user) -> str:
    """What the person form was filled in from (a save over another is a PersonConflict)."""
    return picture_fingerprint(person_state(user))


class PersonConflict(Exception):
    """The person changed after the form being sent was filled in: `user` is as they are now."""

    def __init__(self, user) -> None:
        super().__init__(user.pk)
        self.user = user


def _apply(user, *, role: str, teams, data: dict) -> None:
    """Name, e-mail, sign-in on or off (when `data` says), role and teams. Only these columns
    are written: a password changed meanwhile, or the last sign-in, stay as they are."""
    for field in ("first_name", "last_name", "email"):
        setattr(user, field, data.get(field) or "")
    written = ["first_name", "last_name", "email", "is_staff"]
    if "is_active" in data:
        user.is_active = bool(data["is_active"])
        written.append("is_active")
    user.is_staff = user.is_superuser  # the admin is for administrators only
    user.save(update_fields=written)
    user.groups.set(Group.objects.filter(name=role) if role in ROLES else [])
    roles_changed(user)
    user.teams.set(teams)


class NameTaken(Exception):
    """Someone has the user name, or one that signs in as it (added a moment ago, say): its
    argument is theirs."""


_NEW_NAMES_LOCK = 0x6E65775F6E616D65  # PostgreSQL's advisory lock under which names are taken


def _new_names_one_at_a_time() -> None:
    """In a transaction: wait until no other one is choosing a new user name, so two people
    added at once (a double-clicked Save, two leads) cannot both take one name, nor two that
    sign in alike. SQLite's transactions here are IMMEDIATE: they are one at a time already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_NEW_NAMES_LOCK])


def person_create(*, actor, data: dict, client_ip: str | None = None):
    """A new person with a local password. Raises NameTaken."""
    with transaction.atomic():
        _new_names_one_at_a_time()
        if owner := username_owner(data["username"]):
            raise NameTaken(owner)
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
            after=person_state(user),
        )
    return user


def person_update(
    *, actor, user, data: dict, client_ip: str | None = None, expected: str | None = None
):
    """Change someone's name, e-mail, sign-in, role and teams. `expected`: the fingerprint of
    the person the form was filled in from; if they changed since, PersonConflict and nothing
    changes (None: whatever they are now)."""
    if user.pk == actor.pk and not data.get("is_active", True):
        raise PermissionDenied(_("You cannot turn off your own sign-in."))
    with transaction.atomic():
        user, actor = _people_locked(user, actor)
        if expected is not None and person_fingerprint(user) != expected:
            raise PersonConflict(user)
        # the actor as they are now: a lead whose role a second lead took away a moment ago
        # grants nothing more
        if refusal := grant_refusal(actor, user, data.get("role") or ""):
            raise PermissionDenied(refusal)
        if _was_lead(user) and not _stays_lead(user, data) and not _other_leads(user):
            raise PermissionDenied(
                _(
                    "%(username)s is the last lead: no one could manage people after this. "
                    "Make someone else a lead first."
                )
                % {"username": user.get_username()}
            )
        before = person_state(user)
        _apply(user, role=data.get("role") or "", teams=data.get("teams") or [], data=data)
        after = person_state(user)
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


def _people_locked(user, actor):
    """The person and the actor as they are now, with their rows and every active lead's
    locked, in one order: two leads taking each other's role at the same moment take turns
    (and the second finds the first no lead any more), rather than leave no lead at all."""
    User = get_user_model()
    ids = set(active_leads().values_list("pk", flat=True)) | {user.pk, actor.pk}
    locked = {u.pk: u for u in User.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked[user.pk], locked[actor.pk]


def _was_lead(user) -> bool:
    return user.is_active and role_of(user) == LEAD


def _stays_lead(user, data: dict) -> bool:
    active = bool(data["is_active"]) if "is_active" in data else user.is_active
    return active and (user.is_superuser or (data.get("role") or "") == LEAD)


def _other_leads(user) -> bool:
    return active_leads().exclude(pk=user.pk).exists()


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


# --- single sign-on ------------------------------------------------------------------------

SSO_ACTOR = "single sign-on"  # the audit's actor for what a sign-in changed


def mapped_access(groups) -> tuple[str, list]:
    """(role, teams) the directory groups give: the strongest role of the mapped groups, the
    union of their teams; groups with no mapping give nothing."""
    mappings = GroupMapping.objects.filter(group__in=list(groups)).prefetch_related("teams")
    role, teams = "", {}
    for mapping in mappings:
        if RANK.get(mapping.role or None, 0) > RANK.get(role or None, 0):
            role = mapping.role
        for team in mapping.teams.all():
            teams[team.pk] = team
    return role, list(teams.values())


def _free_username(wanted: str) -> str:
    """`wanted` as a dashboard user name — NFKC, lower case, only letters, digits and
    `. @ + - _` (as the People form allows) — or `wanted-2`, `wanted-3`…: a signed-in person
    never takes over a local account that shares their directory name, nor gets one that
    only looks like it (`ｌｅａｄ`, `LEAD`)."""
    name = unicodedata.normalize("NFKC", wanted).lower()
    name = re.sub(r"[^\w.@+-]+", "-", name).strip(".-")
    base = (name or "person")[:140]
    name, n = base, 1
    while username_owner(name):
        n += 1
        name = f"{base}-{n}"
    return name


def _directory_data(person: SsoPerson) -> dict:
    """A person's name and e-mail as the directory gives them, for `_apply`."""
    first, _sep, last = person.name.partition(" ")
    return {"first_name": first, "last_name": last, "email": person.email}


def sso_sign_in(person: SsoPerson, *, client_ip: str | None = None):
    """The dashboard's user for someone the identity provider vouched for: found by (issuer,
    subject), created at their first sign-in; their name, e-mail, role and teams set from the
    directory every time, removals included. A person turned off here stays off. Audited
    when it adds someone or changes what they may do."""
    for attempt in range(3):  # two first sign-ins of one person at once: one creates, one finds
        try:
            return _sso_sign_in(person, client_ip=client_ip)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _sso_sign_in(person: SsoPerson, *, client_ip: str | None):
    User = get_user_model()
    with transaction.atomic():
        identity = (
            SsoIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=person.issuer, subject=person.subject)
            .first()
        )
        created = identity is None
        if created:
            _new_names_one_at_a_time()
            user = User(username=_free_username(person.username))
            user.set_unusable_password()
            user.save()
            identity = SsoIdentity.objects.create(
                user=user, issuer=person.issuer, subject=person.subject
            )
        user = identity.user
        if not user.is_active:
            raise SsoRefused(
                _("Your sign-in to the dashboard is turned off. Ask a lead to turn it back on.")
            )
        before = None if created else person_state(user)
        role, teams = mapped_access(person.groups)
        _apply(user, role=role, teams=teams, data=_directory_data(person))
        identity.groups = list(person.groups)
        identity.last_sign_in = timezone.now()
        identity.save(update_fields=["groups", "last_sign_in"])
        after = person_state(user)
        if before != after:
            audit_entry_create(
                kind=AuditEntry.Kind.PERSON,
                action=AuditEntry.Action.ADD if created else AuditEntry.Action.ROLE,
                actor_name=SSO_ACTOR,
                client_ip=client_ip,
                before=before,
                after={**after, "groups": list(person.groups)},
            )
    return user


def sso_link(user, person: SsoPerson, *, client_ip: str | None = None) -> None:
    """Move someone's own local account to their directory login: they proved both (signed in
    here with the password, then at the provider). From then on they sign in through the
    directory, with the role and teams its groups give, and the password here no longer
    works (sessions signed in with it end). Refused, changing nothing, when the directory
    login already has an account of its own, the account is already linked, or the groups
    give no role yet (the person would lock themselves out). Audited."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        taken = (
            SsoIdentity.objects.select_related("user")
            .filter(issuer=person.issuer, subject=person.subject)
            .first()
        )
        if taken is not None:
            raise SsoRefused(
                _(
                    "This directory login already has a dashboard account of its own "
                    "(%(username)s). Ask a lead to release it (People › %(username)s › "
                    "Release the directory login), then link again."
                )
                % {"username": taken.user.get_username()}
            )
        if SsoIdentity.objects.filter(user=user).exists():
            raise SsoRefused(_("Your account already signs in through the directory."))
        role, teams = mapped_access(person.groups)
        if not role:
            raise SsoRefused(
                _(
                    "None of your directory groups (%(groups)s) gives a role here yet: linking "
                    "now would lock you out. Ask a lead to map one of them. Nothing changed."
                )
                % {"groups": ", ".join(person.groups) or "—"}
            )
        before = {**person_state(user), "signs_in_with": "password"}
        try:
            with transaction.atomic():  # the directory login linked elsewhere at this moment
                SsoIdentity.objects.create(
                    user=user,
                    issuer=person.issuer,
                    subject=person.subject,
                    groups=list(person.groups),
                    last_sign_in=timezone.now(),
                )
        except IntegrityError:
            raise SsoRefused(
                _("This directory login was just linked to another account. Nothing changed.")
            ) from None
        user.set_unusable_password()  # the other sessions' auth hash no longer matches
        user.save(update_fields=["password"])
        _apply(user, role=role, teams=teams, data=_directory_data(person))
        audit_entry_create(
            kind=AuditEntry.Kind.PERSON,
            action=AuditEntry.Action.ROLE,
            actor=user,
            client_ip=client_ip,
            before=before,
            after={
                **person_state(user),
                "signs_in_with": "directory",
                "groups": list(person.groups),
            },
        )


def mapping_state(mapping: GroupMapping) -> dict:
    return {
        "group": mapping.group,
        "role": mapping.role,
        "teams": sorted(t.name for t in mapping.teams.all()),
    }


def mapping_fingerprint(mapping: GroupMapping) -> str:
    """What the mapping form was filled in from (a save over another is a MappingConflict)."""
    return picture_fingerprint(mapping_state(mapping))


class GroupMapped(Exception):
    """Another mapping has the group (saved by someone else a moment ago)."""


class MappingGone(Exception):
    """The mapping was removed after the form being sent was filled in."""


class MappingConflict(Exception):
    """The mapping changed after the form being sent was filled in: `mapping` is as it is now."""

    def __init__(self, mapping: GroupMapping) -> None:
        super().__init__(mapping.pk)
        self.mapping = mapping


class MappingLeavesNoLead(Exception):
    """After the change no one would be a lead at their next sign-in: nothing changed."""


def _lead_mappings_locked() -> None:
    """Lock the mappings that make leads, in one order: two leads changing two of them at the
    same moment take turns, and the second sees the first's change."""
    list(GroupMapping.objects.select_for_update().filter(role=LEAD).order_by("pk"))


def _a_lead_remains() -> bool:
    """Whether someone is a lead, now that their directory groups decide at each sign-in: a
    superuser, a lead who signs in with a password (their role is theirs), or someone whose
    groups at their last sign-in a mapping makes a lead."""
    if active_leads().filter(Q(is_superuser=True) | Q(sso_identity__isnull=True)).exists():
        return True
    lead_groups = set(GroupMapping.objects.filter(role=LEAD).values_list("group", flat=True))
    if not lead_groups:
        return False
    seen = SsoIdentity.objects.filter(user__is_active=True).values_list("groups", flat=True)
    return any(isinstance(g, list) and lead_groups.intersection(g) for g in seen.iterator())


def _leads_before_a_mapping_change() -> bool:
    """First in a mapping change's transaction (before any mapping's row is locked, so that
    every change locks in one order): the mappings that make leads locked, and whether a lead
    remains before the change."""
    _lead_mappings_locked()
    return _a_lead_remains()


def _a_lead_still_remains(had: bool) -> None:
    """After the change, in its transaction: MappingLeavesNoLead (it is rolled back) when it
    takes the last lead away."""
    if had and not _a_lead_remains():
        raise MappingLeavesNoLead(
            _(
                "Nothing changed: after this no one would be a lead at their next sign-in, and "
                "no one could manage people. Map another group to Lead first, or keep a lead "
                "who signs in with a password."
            )
        )


def group_mapping_save(
    *,
    actor,
    mapping_id: int | None,
    group: str,
    role: str,
    teams,
    client_ip=None,
    expected: str | None = None,
) -> GroupMapping:
    """Add (no id) or change what a directory group gives; audited. Takes effect at each
    member's next sign-in. Raises GroupMapped; MappingGone; MappingConflict when `expected`
    (the fingerprint the form was filled in from) is not the mapping's now."""
    with transaction.atomic():
        had_a_lead = _leads_before_a_mapping_change()
        if mapping_id is None:
            mapping, before = GroupMapping(), None
        else:
            mapping = GroupMapping.objects.select_for_update().filter(pk=mapping_id).first()
            if mapping is None:
                raise MappingGone
            if expected is not None and mapping_fingerprint(mapping) != expected:
                raise MappingConflict(mapping)
            before = mapping_state(mapping)
        mapping.group = group
        mapping.role = role if role in ROLES else ""
        try:
            with transaction.atomic():
                mapping.save()
        except IntegrityError:  # the group mapped a moment ago (a double-clicked Save)
            raise GroupMapped from None
        _a_lead_still_remains(had_a_lead)
        mapping.teams.set(teams)
        after = mapping_state(mapping)
        if before != after:
            audit_entry_create(
                kind=AuditEntry.Kind.SSO,
                action=AuditEntry.Action.ADD if before is None else AuditEntry.Action.UPDATE,
                actor=actor,
                client_ip=client_ip,
                before=before,
                after=after,
            )
    return mapping


def group_mapping_delete(
    *, actor, mapping: GroupMapping, client_ip=None, expected: str | None = None
) -> None:
    """Remove a mapping; audited once (MappingGone when someone removed it first;
    MappingConflict, nothing removed, when `expected` — the fingerprint the page showed — is not
    the mapping's now: what is removed is what was looked at)."""
    with transaction.atomic():
        had_a_lead = _leads_before_a_mapping_change()
        mapping = GroupMapping.objects.select_for_update().filter(pk=mapping.pk).first()
        if mapping is None:
            raise MappingGone
        if expected is not None and mapping_fingerprint(mapping) != expected:
            raise MappingConflict(mapping)
        before = mapping_state(mapping)
        mapping.delete()
        _a_lead_still_remains(had_a_lead)
        audit_entry_create(
            kind=AuditEntry.Kind.SSO,
            action=AuditEntry.Action.DELETE,
            actor=actor,
            client_ip=client_ip,
            before=before,
        )


def sso_release(*, actor, user, client_ip: str | None = None) -> None:
    """A lead frees a directory login from the account its first sign-in made, so that its
    person can link it to the local account they already had (`sso_link`). The account is
    turned off and its sessions end; it keeps its name and its history. Refused for one's own
    account, for a superuser's unless the lead is one, and for an account that does not sign
    in through the directory. Audited."""
    if user.pk == actor.pk:
        raise PermissionDenied(_("You cannot release your own directory login."))
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can release a superuser's directory login."))
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        identity = SsoIdentity.objects.filter(user=user).first()
        if identity is None:
            raise SsoRefused(
                _("%(username)s does not sign in through the directory: nothing to release.")
                % {"username": user.get_username()}
            )
        before = {
            **person_state(user),
            "signs_in_with": "directory",
            "directory_login": identity.subject,
        }
        identity.delete()
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
        sessions_end(user_id=user.pk)
        audit_entry_create(
            kind=AuditEntry.Kind.PERSON,
            action=AuditEntry.Action.RELEASE,
            actor=actor,
            client_ip=client_ip,
            before=before,
            after={**person_state(user), "signs_in_with": ""},
        )
