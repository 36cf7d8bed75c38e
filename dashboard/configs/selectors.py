"""Reading config runs: what each change does, field by field, in words."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

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


def field_changes(change: ConfigChange) -> list[FieldChange]:
    """The fields a change sets, before → after (the key by fingerprint: set, new, none)."""
    before, after = change.before or {}, change.after or {}
    if change.action == ConfigChange.Action.UNCHANGED or not (before or after):
        return []
    out = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name in ("auth_key", "auth_key_fingerprint"):
            continue
        old, new = before.get(name), after.get(name)
        if change.after is None:
            new = None
        if old != new:
            out.append(FieldChange(name, _text(old), _text(new)))
    old_print, new_print = (
        before.get("auth_key_fingerprint", ""),
        after.get("auth_key_fingerprint", ""),
    )
    if change.after is not None and old_print != new_print:
        out.append(
            FieldChange(
                "auth_key",
                gettext("set") if old_print else gettext("none"),
                gettext("a new key") if new_print else gettext("none"),
            )
        )
    return out


def reason(change: ConfigChange) -> str:
    if not change.reason:
        return ""
    text = gettext(change.reason)
    return text % change.reason_params if change.reason_params else text


def change_lines(change: ConfigChange) -> list[str]:
    if change.action == ConfigChange.Action.REFUSED:
        return [reason(change)]
    return [f"{c.field}: {c.before} → {c.after}" for c in field_changes(change)]


def run_counts(run: ConfigRun) -> dict:
    counts = {a: 0 for a in ConfigChange.Action.values}
    outcomes = {o: 0 for o in ConfigChange.Outcome.values}
    for action, outcome in run.changes.values_list("action", "outcome"):
        counts[action] += 1
        if action in ConfigChange.CHANGING:
            outcomes[outcome] += 1
    changing = sum(counts[a] for a in ConfigChange.CHANGING)
    done = changing - outcomes[ConfigChange.Outcome.PENDING]
    return {
        "actions": counts,
        "outcomes": outcomes,
        "changing": changing,
        "done": done,
        "percent": int(100 * done / changing) if changing else 100,
    }
