"""Big CSV exports are written by the task worker (django-tasks-db's db_worker)."""

from __future__ import annotations

from django.tasks import task

from dashboard.logs import carries_request_id

from .exports import export_write


@task()
@carries_request_id
def export_write_task(export_id: int) -> str:
    return export_write(export_id)
