"""Big CSV exports are written by the task worker (django-tasks-db's db_worker)."""

from __future__ import annotations

from django.tasks import task

from .exports import export_write


@task()
def export_write_task(export_id: int) -> str:
    return export_write(export_id)
