"""Configs as code over the API, `/api/v1/configs/`: export the document, plan one (POST it as
the request's body), read the plan change by change, then apply, pause, cancel or undo it — the
same runs, rules and background worker as the Configs pages (dashboard/configs/).

Reading (export, runs) needs any token. Planning and everything that follows need a token made
to change configs, whose person edits domains; a run applies as the person who planned it, so
only their tokens say go, and every change is in the audit log as the run's, as from a page.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from dashboard.access import domains_editable_by
from dashboard.accounts.roles import is_lead
from dashboard.configs.document import MAX_BYTES, DocumentError, dump, export_document, read
from dashboard.configs.models import ConfigChange, ConfigRun
from dashboard.configs.selectors import (
    field_diff,
    may_apply_run,
    may_see_run,
    reason,
    run_counts,
    runs_counts,
)
from dashboard.configs.services import (
    run_cancel,
    run_create,
    run_pause,
    run_start,
    undo_plan,
    undo_wanted,
)
from dashboard.configs.tasks import config_run_apply, config_run_plan
from dashboard.logs import enqueue_with_request_id

router = Router(tags=["configs"])

DOCUMENT_TYPES = ("application/yaml", "application/json", "text/yaml", "text/plain")
# Runs one person may have planning or applying at once: a pipeline that plans on every push
# must not queue hundreds of plans, each a Describe per config against the Live API's QPS.
IN_FLIGHT_MAX = 5


class FieldOut(Schema):
    field: str
    before: str | bool | None
    after: str | bool | None


class ChangeOut(Schema):
    domain: str
    kind: str
    action: str
    reason: str
    fields: list[FieldOut]
    outcome: str | None
    error_code: str
    error_message: str
    request_id: str


class RunOut(Schema):
    id: int
    state: str
    title: str
    source: str
    created_by: str
    created_at: dt.datetime
    planned_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str
    undo_of: int | None
    changing: int
    done: int
    outcomes: dict[str, int]
    url: str


class RunDetailOut(RunOut):
    changes: list[ChangeOut]


# --- rules -------------------------------------------------------------------------------------


def _may_change(request: HttpRequest) -> None:
    """A token made to change configs, of a person who edits domains."""
    token = request.access_token
    if not token.may_change_configs:
        raise HttpError(
            403,
            "This token is read-only: make one that may plan and apply config changes "
            "(Your account › Access tokens).",
        )
    if not domains_editable_by(request.user).exists():
        raise HttpError(403, "Only editors and leads plan config changes.")


def _new_run(request: HttpRequest, wanted, **fields) -> ConfigRun:
    """A run for the token's person to be planned in the background, while fewer than
    IN_FLIGHT_MAX of theirs plan or apply. The count and the new run are one step under a lock
    on the person, so requests sent at once cannot all pass the count together."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=request.user.pk)
        busy = ConfigRun.objects.filter(
            created_by=request.user,
            state__in=(ConfigRun.State.PLANNING, ConfigRun.State.QUEUED, ConfigRun.State.RUNNING),
        ).count()
        if busy >= IN_FLIGHT_MAX:
            raise HttpError(
                429,
                f"{busy} of your config runs are still planning or applying: wait for one to "
                "finish (or cancel one), then send the document again.",
            )
        run = run_create(actor=request.user, wanted=wanted, **fields)
    enqueue_with_request_id(config_run_plan, run.pk)
    return run


def _run(request: HttpRequest, run_id: int) -> ConfigRun:
    run = ConfigRun.objects.filter(pk=run_id).first()
    if run is None:
        raise HttpError(404, "No such config run.")
    if not may_see_run(request.user, run):
        raise HttpError(403, "This is someone else's config run.")
    return run


def _run_out(run: ConfigRun, counts: dict | None = None) -> dict:
    counts = counts or run_counts(run)
    return {
        "id": run.pk,
        "state": run.state,
        "title": run.title,
        "source": run.source,
        "created_by": run.created_by_name,
        "created_at": run.created_at,
        "planned_at": run.planned_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "message": run.message,
        "undo_of": run.undo_of_id,
        "changing": counts["changing"],
        "done": counts["done"],
        "outcomes": counts["outcomes"],
        "url": f"/api/v1/configs/runs/{run.pk}",
    }


def _change_out(change: ConfigChange) -> dict:
    changing = change.action in ConfigChange.CHANGING
    return {
        "domain": change.domain_name,
        "kind": change.kind,
        "action": change.action,
        "reason": reason(change),
        "fields": [
            {"field": name, "before": old, "after": new} for name, old, new in field_diff(change)
        ],
        "outcome": change.outcome if changing else None,
        # the Live API's words as Alibaba Cloud sent them; ours in the request's language
        "error_code": change.error_code,
        "error_message": _(change.error_message)
        if change.error_code in ("Conflict", "Forbidden") and change.error_message
        else change.error_message,
        "request_id": change.request_id,
    }


def _detail(run: ConfigRun) -> dict:
    return {**_run_out(run), "changes": [_change_out(c) for c in run.changes.all()]}


# --- the document --------------------------------------------------------------------------------


@router.get(
    "/export",
    summary="Every domain's callback configs as one document (no keys)",
    description="format: yaml (default) or json; team: only that team's domains.",
    response={200: dict},
)
def configs_export(request, format: str = "yaml", team: str = ""):
    if format not in ("yaml", "json"):
        raise HttpError(400, "format: yaml or json.")
    document = export_document(teams=[team] if team else ())
    if format == "json":
        return document
    return HttpResponse(dump(document, "yaml"), content_type="application/yaml; charset=utf-8")


# --- runs ----------------------------------------------------------------------------------------


@router.post(
    "/runs",
    response={202: RunOut},
    summary="Plan a document (the body, YAML or JSON); the plan is made in the background",
    description=(
        "Send the document as the body (Content-Type application/yaml or application/json, at "
        "most 2 MB). Answers 202 with the run, state `planning`; read it until `planned`, check "
        "its changes, then POST …/apply. Keys: `keep` or `new` (a key from the environment or "
        "a file is read on the command line only). Needs a token made to change configs; 429 "
        "while five of your runs are planning or applying."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in DOCUMENT_TYPES[:2]},
        }
    },
)
def runs_create(request, title: str = ""):
    _may_change(request)
    try:
        body = request.body
    except RequestDataTooBig as too_big:
        raise HttpError(413, "The document is larger than 2 MB.") from too_big
    if not body.strip():
        raise HttpError(400, "Send the document as the request's body.")
    try:
        wanted = read(body)
    except DocumentError as problem:
        status = 413 if len(body) > MAX_BYTES else 400
        raise HttpError(status, problem.in_words()) from problem
    title = " ".join(title.split())[:200] or "API"
    run = _new_run(request, wanted, source=ConfigRun.Source.API, title=title)
    return Status(202, _run_out(run))


@router.get(
    "/runs", response=list[RunOut], summary="Config runs, newest first (a lead: everyone's)"
)
def runs_list(request, limit: int = 20):
    if not 1 <= limit <= 100:
        raise HttpError(400, "limit: 1 to 100.")
    runs = ConfigRun.objects.all()
    if not is_lead(request.user):
        runs = runs.filter(created_by=request.user)
    runs = list(runs[:limit])
    counts = runs_counts(runs)
    return [_run_out(run, counts[run.pk]) for run in runs]


@router.get(
    "/runs/{run_id}",
    response=RunDetailOut,
    summary="One config run: its state and every change, field by field",
)
def runs_detail(request, run_id: int):
    return _detail(_run(request, run_id))


@router.post(
    "/runs/{run_id}/apply",
    response={202: RunDetailOut},
    summary="Apply a planned run (or resume a paused one) in the background",
    description="Only the person who planned the run. 409 when it is not waiting to be applied.",
)
def runs_apply(request, run_id: int):
    _may_change(request)
    run = _run(request, run_id)
    if not may_apply_run(request.user, run):
        raise HttpError(403, f"Only {run.created_by_name}, who planned it, can apply this run.")
    if not run_start(run):
        raise HttpError(409, "This run is not waiting to be applied.")
    enqueue_with_request_id(config_run_apply, run.pk)
    run.refresh_from_db()
    return Status(202, _detail(run))


def _step(request, run_id: int, step, refusal: str) -> dict:
    """Pause or cancel (`step`, a service that says whether it could): the run after it."""
    _may_change(request)
    run = _run(request, run_id)
    if not step(run):
        raise HttpError(409, refusal)
    run.refresh_from_db()
    return _detail(run)


@router.post("/runs/{run_id}/pause", response=RunDetailOut, summary="Pause a run being applied")
def runs_pause(request, run_id: int):
    return _step(request, run_id, run_pause, "Only a run being applied can be paused.")


@router.post(
    "/runs/{run_id}/cancel",
    response=RunDetailOut,
    summary="Cancel a run: what was not applied yet never will be",
)
def runs_cancel(request, run_id: int):
    return _step(request, run_id, run_cancel, "This run has already finished.")


@router.post(
    "/runs/{run_id}/undo",
    response={202: RunOut},
    summary="Plan the undo of a finished run (a new run; apply it as any other)",
)
def runs_undo(request, run_id: int):
    _may_change(request)
    run = _run(request, run_id)
    wanted = undo_wanted(run)
    if run.state not in (ConfigRun.State.DONE, ConfigRun.State.CANCELLED) or not wanted:
        raise HttpError(409, "Only a finished run that changed something can be undone.")
    undo, new = undo_plan(
        run,
        create=lambda: _new_run(
            request,
            wanted,
            source=ConfigRun.Source.UNDO,
            title=f"Undo of run {run.pk}",
            undo_of=run,
        ),
    )
    if new:
        return Status(202, _run_out(undo))
    raise HttpError(
        409,
        f"Run {undo.pk}, planned by {undo.created_by_name}, already undoes this run: "
        "apply or cancel it first.",
    )
