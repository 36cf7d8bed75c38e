"""Config runs: planning a document, applying a plan in the background (pause, resume, cancel),
and undoing a whole run. Every change goes through the domains app's `config_save` /
`config_delete` — the same version claim, conflict check and audit entry as a single save,
the entry marked with the run."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from dashboard.access import can_edit_domain
from dashboard.audit.models import AuditEntry
from dashboard.contract.text import fitted
from dashboard.domains.kinds import KINDS
from dashboard.domains.models import Domain
from dashboard.domains.services import ConflictError, config_delete, config_save
from dashboard.failures import UpstreamError

from .document import KEEP, Wanted
from .models import ConfigChange, ConfigRun
from .plan import plan_compute, wanted_from_json, wanted_to_json
from .sealing import unseal

logger = logging.getLogger(__name__)


def run_create(*, actor, wanted: list[Wanted], source: str, title: str = "", undo_of=None):
    """A run waiting to be planned (by `plan_compute`, in a task or on the command line)."""
    return ConfigRun.objects.create(
        created_by=actor,
        created_by_name=actor.get_username() if actor else "",
        source=source,
        title=title[:200],
        desired={"wanted": wanted_to_json(wanted)},
        undo_of=undo_of,
    )


def run_plan(run_id: int, *, references: bool = False) -> ConfigRun:
    """Plan a run made by `run_create` (once: a run already planned is left as it is)."""
    run = ConfigRun.objects.select_related("created_by").get(pk=run_id)
    if run.state != ConfigRun.State.PLANNING or run.changes.exists():
        return run
    try:
        return plan_compute(run, wanted_from_json(run.desired["wanted"]), references=references)
    except Exception:
        logger.exception("planning config run %s failed", run_id)
        ConfigRun.objects.filter(pk=run_id).update(
            state=ConfigRun.State.FAILED,
            message=gettext_noop("Planning failed; see the server log."),
        )
        raise


def _changing(run: ConfigRun):
    return run.changes.filter(action__in=ConfigChange.CHANGING)


def run_start(run: ConfigRun) -> bool:
    """Planned → queued (the caller enqueues the work). False when there is nothing to do or
    the run is not waiting for a go-ahead."""
    if not _changing(run).filter(outcome=ConfigChange.Outcome.PENDING).exists():
        return False
    return bool(
        ConfigRun.objects.filter(
            pk=run.pk, state__in=(ConfigRun.State.PLANNED, ConfigRun.State.PAUSED)
        ).update(state=ConfigRun.State.QUEUED)
    )


def run_pause(run: ConfigRun) -> bool:
    return bool(
        ConfigRun.objects.filter(
            pk=run.pk, state__in=(ConfigRun.State.QUEUED, ConfigRun.State.RUNNING)
        ).update(state=ConfigRun.State.PAUSED)
    )


def run_cancel(run: ConfigRun) -> bool:
    """Stop for good: what was not applied yet never will be (the change being sent right now
    finishes). A run still planning is stopped too — one whose worker was killed, or that no
    worker took, would otherwise plan for ever and count among its person's runs in flight."""
    with transaction.atomic():
        cancelled = ConfigRun.objects.filter(
            pk=run.pk,
            state__in=(
                ConfigRun.State.PLANNING,
                ConfigRun.State.PLANNED,
                ConfigRun.State.QUEUED,
                ConfigRun.State.RUNNING,
                ConfigRun.State.PAUSED,
            ),
        ).update(state=ConfigRun.State.CANCELLED, finished_at=timezone.now())
        if cancelled:
            run.changes.filter(outcome=ConfigChange.Outcome.PENDING).update(
                outcome=ConfigChange.Outcome.SKIPPED
            )
    return bool(cancelled)


def _state(run_id: int) -> str:
    return ConfigRun.objects.values_list("state", flat=True).get(pk=run_id)


ALREADY = gettext_noop("Already so: applied by this run before its worker stopped.")


def _already_there(change: ConfigChange, kind, domain: Domain, batch: str) -> bool:
    """Does the config already hold what this change sets, with this run's own audit entry
    for it? (A worker that died between sending a change and recording it leaves it pending;
    the resumed run finds the version moved by itself.)"""
    fresh = Domain.objects.get(pk=domain.pk)
    if kind.state_of_cached(fresh.config(kind)) != change.after:
        return False
    return AuditEntry.objects.filter(
        batch=batch,
        domain_id=domain.pk,
        kind=kind.name,
        outcome=AuditEntry.Outcome.SUCCESS,
    ).exists()


def _apply_one(run: ConfigRun, change: ConfigChange) -> None:
    kind = KINDS[change.kind]
    domain = Domain.objects.filter(pk=change.domain_id).first()
    actor = run.created_by
    fields: dict = {"finished_at": timezone.now()}
    if domain is None or actor is None or not actor.is_active or not can_edit_domain(actor, domain):
        fields.update(
            outcome=ConfigChange.Outcome.FAILED,
            error_code="Forbidden",
            error_message=gettext_noop("No longer allowed to change this domain's callbacks."),
        )
    elif domain.version(kind) != change.expected_version and _already_there(
        change, kind, domain, run.batch
    ):
        # this run's own change, sent before its worker stopped: not a conflict, not again
        fields.update(outcome=ConfigChange.Outcome.APPLIED, error_message=ALREADY)
    else:
        try:
            if change.action == ConfigChange.Action.DELETE:
                request_id = config_delete(
                    domain=domain,
                    kind=kind,
                    actor=actor,
                    expected_version=change.expected_version,
                    batch=run.batch,
                )
            else:
                data = {**(change.values or {}), "notify_auth_key": unseal(change.new_key)}
                request_id = config_save(
                    domain=domain,
                    kind=kind,
                    data=data,
                    actor=actor,
                    expected_version=change.expected_version,
                    batch=run.batch,
                ).request_id
        except ConflictError as conflict:
            fields.update(
                outcome=ConfigChange.Outcome.CONFLICT,
                error_code="Conflict",
                error_message=conflict.reason,
            )
        except UpstreamError as failure:
            fields.update(
                outcome=ConfigChange.Outcome.FAILED,
                # as much as the columns hold: an upstream's (or a proxy's) Code or RequestId
                # may be longer than any the Live API sends
                error_code=fitted(ConfigChange, "error_code", failure.code),
                error_message=fitted(ConfigChange, "error_message", failure.message),
                request_id=fitted(ConfigChange, "request_id", failure.request_id),
            )
        else:
            fields.update(outcome=ConfigChange.Outcome.APPLIED, request_id=request_id)
    fields["finished_at"] = timezone.now()
    ConfigChange.objects.filter(pk=change.pk).update(**fields)


def run_apply(run_id: int, *, progress=None) -> ConfigRun:
    """Apply a queued run's pending changes in order, until done, paused or cancelled. One
    executor: the queued → running step is taken by one caller only. A failed or conflicting
    change never stops the others."""
    started = ConfigRun.objects.filter(pk=run_id, state=ConfigRun.State.QUEUED).update(
        state=ConfigRun.State.RUNNING, started_at=timezone.now()
    )
    run = ConfigRun.objects.select_related("created_by").get(pk=run_id)
    if not started:
        return run
    pending = list(_changing(run).filter(outcome=ConfigChange.Outcome.PENDING).order_by("position"))
    for number, change in enumerate(pending, start=1):
        if _state(run_id) != ConfigRun.State.RUNNING:
            run.refresh_from_db()
            return run  # paused or cancelled: the rest waits (or never comes)
        _apply_one(run, change)
        if progress is not None:
            progress(number, len(pending))
    ConfigRun.objects.filter(pk=run_id, state=ConfigRun.State.RUNNING).update(
        state=ConfigRun.State.DONE, finished_at=timezone.now()
    )
    run.refresh_from_db()
    logger.info("config run %s applied", run_id)
    return run


def undo_plan(run: ConfigRun, *, create: Callable[[], ConfigRun]) -> tuple[ConfigRun, bool]:
    """Undo pressed: the new undo run `create()` makes (True), or the run's undo not yet
    finished (False). One transaction with the run's row locked, so that Undo pressed twice at
    once (two tabs, two leads, a retried API call) plans one undo: the second press finds the
    first's run. A finished or cancelled undo leaves room for another."""
    with transaction.atomic():
        ConfigRun.objects.select_for_update().filter(pk=run.pk).first()
        pending = run.undone_by.filter(state__in=ConfigRun.UNFINISHED).order_by("pk").first()
        if pending is not None:
            return pending, False
        return create(), True


def undo_wanted(run: ConfigRun) -> list[Wanted]:
    """What restores every config the run changed to how it was before (keys included)."""
    wanted = []
    for change in run.changes.filter(outcome=ConfigChange.Outcome.APPLIED).order_by("position"):
        kind = KINDS[change.kind]
        if change.before is None:
            wanted.append(Wanted(change.domain_name, kind.name, None))
            continue
        values = {f: change.before.get(f) for f in kind.fields}
        key = {"sealed": change.old_key} if change.old_key else KEEP
        wanted.append(Wanted(change.domain_name, kind.name, values, key=key))
    return wanted
