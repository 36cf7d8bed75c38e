"""Planning: what a document would change, (domain, kind) by (domain, kind), against the live
state — a fresh Describe of each config, within the client's rate budget — before anything
is sent."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from dashboard.access import domains_editable_by
from dashboard.domains.forms import generate_auth_key
from dashboard.domains.kinds import KINDS
from dashboard.domains.models import Domain, key_fingerprint
from dashboard.domains.selectors import config_versions, upstream_config
from dashboard.failures import UpstreamError

from .document import KEEP, NEW, Wanted
from .models import ConfigChange, ConfigRun
from .sealing import seal, unseal


class Refused(Exception):
    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason, self.params = reason, params


def wanted_to_json(items: list[Wanted]) -> list[dict]:
    return [
        {
            "domain": w.domain_name,
            "kind": w.kind,
            "values": w.values,
            "key": w.key,
            "revision": w.revision,
            "problems": [[t, p] for t, p in w.problems],
        }
        for w in items
    ]


def wanted_from_json(rows: list[dict]) -> list[Wanted]:
    return [
        Wanted(
            r["domain"],
            r["kind"],
            r["values"],
            key=r.get("key", KEEP),
            revision=r.get("revision"),
            problems=[(t, p) for t, p in r.get("problems", [])],
        )
        for r in rows
    ]


def _key(wanted: Wanted, *, references: bool) -> str:
    """The key to set, or "" to keep the current one."""
    key = wanted.key
    if key == KEEP:
        return ""
    if key == NEW:
        return generate_auth_key()
    if isinstance(key, dict) and "sealed" in key:  # an undo restoring the key before
        return unseal(key["sealed"])
    if not references:
        raise Refused(
            gettext_noop(
                "Keys from the environment or from files are read on the command line only "
                "(configs plan/apply); here, use keep or new."
            )
        )
    if "env" in key:
        value = os.environ.get(key["env"], "")
        if not value:
            raise Refused(
                gettext_noop("The environment variable %(name)s is not set."), name=key["env"]
            )
        return value.strip()
    try:
        return Path(key["file"]).read_text().strip()
    except OSError:
        raise Refused(
            gettext_noop("The key file %(path)s cannot be read."), path=key["file"]
        ) from None


def _form_data(values: dict, key: str, version: int) -> dict:
    return {**values, "notify_auth_key": key, "version": version}


# Describes a plan makes at once: one after another, each call's own latency (signing, the
# round trip) keeps a plan at about half the Describe QPS; a few at once fill it, and the
# client's shared rate budget still paces them all.
DESCRIBE_THREADS = 4


@dataclass
class _Live:
    """What a plan compares the document with, read once: the named domains (their cached
    configs with them), which of them the planner may edit, each config's version (read
    *before* it was described: a save in between makes the apply conflict rather than
    overwrite it) and the live config (or the UpstreamError) of each editable one."""

    domains: dict[str, Domain]
    editable: set[str]
    versions: dict[tuple[int, str], int]
    configs: dict[tuple[str, str], object]


def _read_live(items: list[Wanted], actor) -> _Live:
    named = {w.domain_name for w in items}
    domains = {
        d.name: d
        for d in Domain.objects.select_related(
            "team", "record_config", "snapshot_config", "stream_config"
        ).filter(name__in=named)
    }
    editable = set(domains_editable_by(actor).filter(name__in=named).values_list("name", flat=True))
    keys = sorted(
        {(w.domain_name, w.kind) for w in items if not w.problems and w.domain_name in editable}
    )
    versions = config_versions(domains[name].pk for name in editable)

    def describe(share: list) -> list:
        found = []
        try:
            for key in share:
                try:
                    found.append((key, upstream_config(domain_name=key[0], kind=KINDS[key[1]])))
                except UpstreamError as failure:
                    found.append((key, failure))
        finally:
            connections.close_all()  # this thread's own connections (the rate budget's, …)
        return found

    shares = [keys[i::DESCRIBE_THREADS] for i in range(DESCRIBE_THREADS)]
    with ThreadPoolExecutor(max_workers=DESCRIBE_THREADS) as pool:
        configs = dict(pair for found in pool.map(describe, shares) for pair in found)
    return _Live(domains, editable, versions, configs)


def _plan_one(wanted: Wanted, *, references: bool, live: _Live) -> dict:
    """The change row's fields for one (domain, kind)."""
    if wanted.problems:
        reason, params = wanted.problems[0]
        raise Refused(reason, **params)
    domain = live.domains[wanted.domain_name]
    kind = KINDS[wanted.kind]
    if domain.name not in live.editable:
        raise Refused(
            gettext_noop(
                "You may not change this domain's callbacks (another team's domain, a domain "
                "gone from Live, or a role that only reads)."
            )
        )
    new_key = _key(wanted, references=references)
    version = live.versions.get((domain.pk, kind.name), 0)
    current = live.configs[(domain.name, kind.name)]
    if isinstance(current, UpstreamError):
        failure = current
        raise Refused(
            gettext_noop("The Live API said %(code)s: %(message)s (RequestId %(request_id)s)"),
            code=failure.code,
            message=failure.message,
            request_id=failure.request_id,
        )
    if not kind.cached_matches_upstream(domain.config(kind), current):
        raise Refused(
            gettext_noop(
                "Changed outside the dashboard since the last sync: refresh the domain, then "
                "plan again."
            )
        )
    before = kind.state_of_upstream(current)
    old_key = current.notify_auth_key if current else ""
    row = {"domain": domain, "before": before, "expected_version": version}
    if wanted.values is None:
        after, key = None, ""
    else:
        form = kind.form_class(
            data=_form_data(wanted.values, new_key, version), has_key=bool(old_key)
        )
        if not form.is_valid():
            problems = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
            raise Refused(gettext_noop("Not valid: %(problems)s"), problems="; ".join(problems))
        values = kind.values_from(form.cleaned_data)
        key = new_key or old_key
        after = kind.state(values, key_fingerprint(key))
        row["values"] = values
    if before == after:
        return {**row, "action": ConfigChange.Action.UNCHANGED, "after": after}
    if wanted.revision is not None and wanted.revision != version:
        raise Refused(
            gettext_noop(
                "Changed since the document was written (revision %(was)s, now %(now)s): export "
                "again, or leave the revision out to apply over it."
            ),
            was=wanted.revision,
            now=version,
        )
    if after is None:
        action = ConfigChange.Action.DELETE
    else:
        action = ConfigChange.Action.CREATE if current is None else ConfigChange.Action.UPDATE
    key_changes = after is None or (new_key and new_key != old_key)
    return {
        **row,
        "action": action,
        "after": after,
        "new_key": seal(new_key) if new_key and new_key != old_key else "",
        "old_key": seal(old_key) if key_changes else "",
    }


def plan_compute(run: ConfigRun, wanted: list[Wanted], *, references: bool = False) -> ConfigRun:
    """Fill `run` with its changes (one Describe per config) and mark it planned. `references`:
    keys may come from the environment and files (the command line only)."""
    live = _read_live(wanted, run.created_by)
    rows = []
    for position, item in enumerate(wanted):
        base = {
            "run": run,
            "position": position,
            "domain_name": item.domain_name,
            "kind": item.kind,
        }
        try:
            fields = _plan_one(item, references=references, live=live)
        except Refused as refusal:
            rows.append(
                ConfigChange(
                    **base,
                    action=ConfigChange.Action.REFUSED,
                    reason=refusal.reason,
                    reason_params=refusal.params or None,
                    outcome=ConfigChange.Outcome.SKIPPED,
                    domain=live.domains.get(item.domain_name),
                )
            )
            continue
        outcome = (
            ConfigChange.Outcome.PENDING
            if fields["action"] in ConfigChange.CHANGING
            else ConfigChange.Outcome.SKIPPED
        )
        rows.append(ConfigChange(**base, **fields, outcome=outcome))
    with transaction.atomic():
        ConfigChange.objects.bulk_create(rows)
        planned = ConfigRun.objects.filter(pk=run.pk, state=ConfigRun.State.PLANNING).update(
            state=ConfigRun.State.PLANNED, planned_at=timezone.now()
        )
        if not planned:  # cancelled while it was being planned: nothing of it is to be applied
            run.changes.filter(outcome=ConfigChange.Outcome.PENDING).update(
                outcome=ConfigChange.Outcome.SKIPPED
            )
    run.refresh_from_db()
    return run
