"""Reading config runs: what each change does, field by field, in words."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext

from dashboard.accounts.roles import is_lead
from dashboard.domains.kinds import KINDS
from dashboard.said import say

from .models import ConfigChange, ConfigRun


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


def may_see_run(user, run: ConfigRun) -> bool:
    """A run is its planner's; leads see every run."""
    return run.created_by_id == user.pk or is_lead(user)


def may_apply_run(user, run: ConfigRun) -> bool:
    """A run applies as the person who planned it: only they say go (or resume)."""
    return run.created_by_id == user.pk


# How a change's key reads: the one it had, a new one, none (never a fingerprint).
KEY_SET, KEY_NEW, KEY_NONE = "set", "new", "none"


def field_diff(change: ConfigChange) -> list[tuple[str, object, object]]:
    """The fields a change sets, as (field, before, after) with their stored values (None where
    there is no config), the key last as `auth_key` KEY_SET/KEY_NEW/KEY_NONE."""
    before, after = change.before or {}, change.after or {}
    if change.action == ConfigChange.Action.UNCHANGED or not (before or after):
        return []
    out: list[tuple[str, object, object]] = []
    # in the config's own order: the stored JSON's keys come back in PostgreSQL's jsonb order
    # (by their length), not as written
    order = KINDS[change.kind].fields if change.kind in KINDS else ()
    for name in sorted({*before, *after}, key=lambda n: _position(n, order)):
        if name in ("auth_key", "auth_key_fingerprint"):
            continue
        old, new = before.get(name), after.get(name)
        if change.after is None:
            new = None
        if old != new:
            out.append((name, old, new))
    old_print, new_print = (
        before.get("auth_key_fingerprint", ""),
        after.get("auth_key_fingerprint", ""),
    )
    if change.after is not None and old_print != new_print:
        out.append(
            ("auth_key", KEY_SET if old_print else KEY_NONE, KEY_NEW if new_print else KEY_NONE)
        )
    return out


def _position(name: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def field_changes(change: ConfigChange) -> list[FieldChange]:
    """`field_diff` in words (the key: set, a new key, none)."""
    key_words = {KEY_SET: gettext("set"), KEY_NEW: gettext("a new key"), KEY_NONE: gettext("none")}
    return [
        FieldChange(name, key_words[old], key_words[new])
        if name == "auth_key"
        else FieldChange(name, _text(old), _text(new))
        for name, old, new in field_diff(change)
    ]


def reason(change: ConfigChange) -> str:
    return say(change.reason, change.reason_params)


def change_lines(change: ConfigChange) -> list[str]:
    if change.action == ConfigChange.Action.REFUSED:
        return [reason(change)]
    return [f"{c.field}: {c.before} → {c.after}" for c in field_changes(change)]


def runs_counts(runs) -> dict[int, dict]:
    """Each run's changes counted by action and by outcome (the applied share of those that
    change something), in one query for any number of runs: {run id: counts}."""
    by_run = {
        run.pk: (
            {a: 0 for a in ConfigChange.Action.values},
            {o: 0 for o in ConfigChange.Outcome.values},
        )
        for run in runs
    }
    rows = (
        ConfigChange.objects.filter(run__in=list(by_run))
        .values_list("run_id", "action", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for run_id, action, outcome, n in rows:
        actions, outcomes = by_run[run_id]
        actions[action] += n
        if action in ConfigChange.CHANGING:
            outcomes[outcome] += n
    out = {}
    for run_id, (actions, outcomes) in by_run.items():
        changing = sum(actions[a] for a in ConfigChange.CHANGING)
        done = changing - outcomes[ConfigChange.Outcome.PENDING]
        out[run_id] = {
            "actions": actions,
            "outcomes": outcomes,
            "changing": changing,
            "done": done,
            "percent": int(100 * done / changing) if changing else 100,
        }
    return out


def run_counts(run: ConfigRun) -> dict:
    return runs_counts([run])[run.pk]
