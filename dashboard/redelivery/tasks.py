"""The bulk redelivery runs on Django's tasks framework (django-tasks-db and its db_worker)."""

from __future__ import annotations

from django.tasks import task

from dashboard.logs import carries_request_id

from .services import run_execute


@task()
@carries_request_id
def redelivery_run_task(run_id: int) -> str:
    return run_execute(run_id)
