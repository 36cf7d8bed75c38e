"""Reading the audit log: every entry, a domain's history, the latest change of a config, and
what each entry changed in words a reader can follow (before → after, field by field)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard.alerts.models import AlertRule
from dashboard.archive.models import FailureClass
from dashboard.incidents.models import Incident
from dashboard.redelivery.models import RedeliveryAttempt, RedeliveryRun

from .models import AuditEntry

CONFIG_ACTIONS = (
    AuditEntry.Action.ADD,
    AuditEntry.Action.UPDATE,
    AuditEntry.Action.DELETE,
    AuditEntry.Action.DRIFT,
)
TEAM_PREFIX = "team:"


def config_changes_made() -> QuerySet[AuditEntry]:
    """Every change a config went through (added, updated, deleted, drifted), as it succeeded."""
    return AuditEntry.objects.filter(action__in=CONFIG_ACTIONS, outcome=AuditEntry.Outcome.SUCCESS)


def audit_entries() -> QuerySet[AuditEntry]:
    """Every audit entry, newest first (the audit filter set narrows it)."""
    return AuditEntry.objects.select_related("actor", "domain")


def domain_history(*, domain, limit: int = 20) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(domain=domain).select_related("actor", "domain")[:limit])


def last_change(*, domain, kind) -> AuditEntry | None:
    """The latest successful change of one config: who changed it and when."""
    return (
        config_changes_made()
        .filter(domain=domain, kind=str(kind))
        .order_by("-created_at", "-id")
        .first()
    )


def last_change_of(kind: str, **picture) -> AuditEntry | None:
    """The latest audited change of one thing of `kind`, found by what its picture after the
    change says (a person by username, a group mapping by group)."""
    after = {f"after__{key}": value for key, value in picture.items()}
    return AuditEntry.objects.filter(kind=kind, **after).order_by("-created_at", "-id").first()


def config_changes(
    *, start: dt.datetime, end: dt.datetime, domain=None, limit: int = 200
) -> list[AuditEntry]:
    """Successful recording and snapshot config changes within [start, end], oldest first:
    the trend charts' markers."""
    kinds = (AuditEntry.Kind.RECORD, AuditEntry.Kind.SNAPSHOT)
    entries = (
        config_changes_made()
        .filter(kind__in=kinds, created_at__gte=start, created_at__lte=end)
        .order_by("created_at")
    )
    if domain is not None:
        entries = entries.filter(domain=domain)
    return list(entries[:limit])


def config_state_at(*, domain_id: int, kind: str, moment: dt.datetime):
    """A config's state at `moment`, from the audit log: the state after the latest successful
    change before it. (None, None) when no change is recorded before it."""
    entry = (
        config_changes_made()
        .filter(domain_id=domain_id, kind=kind, created_at__lte=moment)
        .order_by("-created_at", "-id")
        .first()
    )
    if entry is None:
        return None, None
    return entry.after, entry


def config_states(
    *, domain_id: int, kind: str, start: dt.datetime, end: dt.datetime, current: dict | None
) -> list[tuple[dt.datetime | None, dict | None]]:
    """The states a config had over [start, end], from the audit log, oldest first, as
    (since, state): the first one's `since` is None (the state at `start`), each change in the
    window follows. With no change recorded before `start`, the state there is the first
    change's `before` — or, with none at all, `current` (the cached config). A drift is dated
    when the sync noticed it."""
    changes = list(
        config_changes_made()
        .filter(domain_id=domain_id, kind=kind, created_at__gt=start, created_at__lte=end)
        .order_by("created_at", "id")
        .values_list("created_at", "before", "after")
    )
    at_start, entry = config_state_at(domain_id=domain_id, kind=kind, moment=start)
    if entry is None:
        at_start = changes[0][1] if changes else current
    return [(None, at_start), *((when, after) for when, _before, after in changes)]


# --- what an entry changed, for people ----------------------------------------------------------

# The words for the fields entries carry. An unknown field is shown by its own name.
FIELD_LABELS = {
    "notify_url": gettext_lazy("Notify URL"),
    "on_demand_url": gettext_lazy("On-demand URL"),
    "need_status_notify": gettext_lazy("Status notifications"),
    "notify_req_auth": gettext_lazy("Signed callbacks"),
    "auth_key": gettext_lazy("Auth key"),
    "username": gettext_lazy("User name"),
    "name": gettext_lazy("Name"),
    "email": gettext_lazy("Email"),
    "role": gettext_lazy("Role"),
    "teams": gettext_lazy("Teams"),
    "group": gettext_lazy("Directory group"),
    "groups": gettext_lazy("Directory groups"),
    "signs_in_with": gettext_lazy("Signs in with"),
    "directory_login": gettext_lazy("Directory login"),
    "active": gettext_lazy("Can sign in"),
    "state": gettext_lazy("State"),
    "host": gettext_lazy("Receiver"),
    "cause": gettext_lazy("Cause"),
    "muted_until": gettext_lazy("Muted until"),
    "reason": gettext_lazy("Reason"),
    "note": gettext_lazy("Note"),
    "scope": gettext_lazy("Watch"),
    "domain": gettext_lazy("Domain"),
    "team": gettext_lazy("Team"),
    "condition": gettext_lazy("Condition"),
    "threshold_percent": gettext_lazy("Threshold (%)"),
    "window_minutes": gettext_lazy("Window (minutes)"),
    "min_deliveries": gettext_lazy("At least (deliveries)"),
    "consecutive": gettext_lazy("Failures in a row"),
    "reminder_minutes": gettext_lazy("Remind every (minutes)"),
    "emails": gettext_lazy("Emails"),
    "webhook": gettext_lazy("Webhook"),
    "enabled": gettext_lazy("Enabled"),
    "record": gettext_lazy("Record"),
    "run": gettext_lazy("Run"),
    "records": gettext_lazy("Records"),
    "status": gettext_lazy("HTTP status"),
    "outcome": gettext_lazy("Outcome"),
    "signed": gettext_lazy("Signed"),
    "elapsed_ms": gettext_lazy("Time (ms)"),
    "incident": gettext_lazy("Incident"),
    "start": gettext_lazy("From"),
    "end": gettext_lazy("To"),
    "app": gettext_lazy("App"),
    "model": gettext_lazy("Kind of record"),
    "object": gettext_lazy("Item"),
    "change": gettext_lazy("Change"),
    "stream": gettext_lazy("Stream"),
    "token": gettext_lazy("Access token"),
    "expires": gettext_lazy("Expires"),
    "may_change_configs": gettext_lazy("May change configs"),
    "language": gettext_lazy("Messages in"),
    "time_zone": gettext_lazy("Times in the zone"),
    # a redelivery run's filters, as the records page names them
    "type": gettext_lazy("Type"),
    "failure": gettext_lazy("Failure"),
    "http": gettext_lazy("HTTP status"),
    "receiver": gettext_lazy("Receiver"),
    "q": gettext_lazy("Text"),
    "param": gettext_lazy("Push parameter"),
}
# A field whose word depends on the entry's kind: a run's "name" is the records' name filter
KIND_FIELD_LABELS = {(AuditEntry.Kind.REDELIVERY, "name"): gettext_lazy("App or stream")}
# The words for a code an entry stores (an alert rule's condition, an incident's state), by
# the entry's kind and the field; a code not listed is shown as it is.
VALUE_LABELS = {
    (AuditEntry.Kind.ALERT, "condition"): AlertRule.Condition,
    (AuditEntry.Kind.ALERT, "scope"): AlertRule.Scope,
    (AuditEntry.Kind.INCIDENT, "state"): Incident.State,
    (AuditEntry.Kind.REDELIVERY, "state"): RedeliveryRun.State,
    (AuditEntry.Kind.REDELIVERY, "outcome"): RedeliveryAttempt.Outcome,
    (AuditEntry.Kind.REDELIVERY, "failure"): FailureClass,
}
_FIELD_ORDER = {name: position for position, name in enumerate(FIELD_LABELS)}
# Never shown as values: the key's fingerprint says only whether the key changed.
HIDDEN = {"auth_key_fingerprint"}
TIME_FIELDS = {"muted_until", "start", "end", "expires"}


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None  # None: the field had no "before" (the entry added it)
    after: str | None  # None: the field is gone after (the entry removed it)

    @property
    def both(self) -> bool:
        return self.before is not None and self.after is not None


@dataclass
class AuditRow:
    entry: AuditEntry
    subject: str  # what the entry is about, in words
    subject_url: str  # "" when there is no page for it
    changes: list[Change] = field(default_factory=list)
    restore_url: str = ""  # the edit form filled with the config before this entry


# How a person signs in (the "signs_in_with" of link and release entries), in words.
SIGN_IN_WAYS = {"password": gettext_lazy("a password"), "directory": gettext_lazy("the directory")}


def _text(name: str, value, kind: str = "") -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name == "signs_in_with" and value in SIGN_IN_WAYS:
        return str(SIGN_IN_WAYS[value])
    if isinstance(value, str) and name == "language":
        return str(dict(settings.LANGUAGES).get(value, value))
    choices = VALUE_LABELS.get((kind, name))
    if isinstance(value, str) and choices is not None and value in choices.values:
        return str(choices(value).label)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if name in TIME_FIELDS and isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _field_position(name: str) -> tuple[int, str]:
    return (_FIELD_ORDER.get(name, len(_FIELD_ORDER)), name)


def _label(name: str, kind: str = "") -> str:
    return str(KIND_FIELD_LABELS.get((kind, name)) or FIELD_LABELS.get(name, name))


def _key_change(before: dict | None, after: dict | None) -> Change | None:
    """The auth key, by fingerprint only: set, removed, or replaced by another."""
    old = (before or {}).get("auth_key_fingerprint") or ""
    new = (after or {}).get("auth_key_fingerprint") or ""
    was = bool(old or (before or {}).get("auth_key"))
    now = bool(new or (after or {}).get("auth_key"))
    label = _label("auth_key")
    if before is None:
        return Change(label, None, _("set")) if now else None
    if after is None:
        return None
    if was and not now:
        return Change(label, _("set"), _("none"))
    if now and not was:
        return Change(label, _("none"), _("set"))
    if old and new and old != new:
        return Change(label, _("a key"), _("a new key"))
    return None


def entry_changes(entry: AuditEntry) -> list[Change]:
    """What the entry changed, field by field. An entry that added something shows its values;
    one that removed something shows what was there; one that changed something shows only
    the fields that differ (and the note or reason it was given)."""
    before = entry.before if isinstance(entry.before, dict) else None
    after = entry.after if isinstance(entry.after, dict) else None
    changes: list[Change] = []

    def text(name: str, value) -> str:
        return _text(name, value, entry.kind)

    def label(name: str) -> str:
        return _label(name, entry.kind)

    # in the order of FIELD_LABELS: the stored JSON's keys come back in PostgreSQL's jsonb
    # order (by their length), not as written
    for name in sorted({*(before or {}), *(after or {})}, key=_field_position):
        if name in HIDDEN or name == "auth_key":
            continue
        old, new = (before or {}).get(name), (after or {}).get(name)
        if before is not None and after is not None:
            if old == new:
                continue
            changes.append(Change(label(name), text(name, old), text(name, new)))
        elif after is not None:
            if new in (None, "", [], False):
                continue
            changes.append(Change(label(name), None, text(name, new)))
        else:
            if old in (None, "", [], False):
                continue
            changes.append(Change(label(name), text(name, old), None))
    key = _key_change(before, after)
    if key is not None:
        changes.append(key)
    return changes


def entry_subject(entry: AuditEntry) -> tuple[str, str]:
    """(what the entry is about, its page's URL or "")."""
    if entry.kind == AuditEntry.Kind.PERSON:
        for state in (entry.after, entry.before):
            if isinstance(state, dict) and state.get("username"):
                return str(state["username"]), ""
        return "—", ""
    if entry.kind == AuditEntry.Kind.SSO:
        for state in (entry.after, entry.before):
            if isinstance(state, dict) and state.get("group"):
                return _("Directory group %(group)s") % {"group": state["group"]}, ""
        return "—", ""
    name = entry.domain_name or ""
    if name.startswith(TEAM_PREFIX):
        return _("Team %(team)s") % {"team": name[len(TEAM_PREFIX) :]}, ""
    if not name:
        return "—", ""
    if entry.domain_id is None:
        return name, ""
    try:
        return name, reverse("domain_detail", kwargs={"name": name})
    except NoReverseMatch:  # a name the URL converter refuses: shown, not linked
        return name, ""


def _rule_name(entry: AuditEntry) -> str:
    for state in (entry.after, entry.before):
        if isinstance(state, dict) and state.get("name"):
            return str(state["name"])
    return ""


def audit_rows(entries) -> list[AuditRow]:
    """The entries as the audit pages show them."""
    rows = []
    for entry in entries:
        subject, url = entry_subject(entry)
        if entry.kind == AuditEntry.Kind.ALERT and _rule_name(entry):
            # an alert rule's entries say which rule, whatever changed in it
            subject = _("Rule “%(rule)s” · %(about)s") % {
                "rule": _rule_name(entry),
                "about": subject if subject != "—" else _("all domains"),
            }
        rows.append(AuditRow(entry, subject, url, entry_changes(entry), _restore_url(entry)))
    return rows


def _restore_url(entry: AuditEntry) -> str:
    if not entry.restorable:
        return ""
    try:
        edit = reverse("config_edit", kwargs={"name": entry.domain.name, "kind": entry.kind})
    except NoReverseMatch:
        return ""
    return f"{edit}?restore={entry.pk}"
