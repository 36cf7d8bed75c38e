"""Config runs in the background worker: planning (a Describe per config) and applying."""

from __future__ import annotations

from django.tasks import task

from dashboard.logs import carries_request_id

from .services import run_apply, run_plan


@task()
@carries_request_id
def config_run_plan(run_id: int) -> dict:
    run = run_plan(run_id)
    return {"state": run.state}


@task()
@carries_request_id
def config_run_apply(run_id: int) -> dict:
    run = run_apply(run_id)
    return {"state": run.state}
