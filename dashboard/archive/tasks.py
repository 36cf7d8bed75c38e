"""The harvest as a background task, for the task worker (django-tasks-db's db_worker)."""

from __future__ import annotations

from django.tasks import task

from .harvest import harvest_pass


@task()
def harvest_records() -> dict:
    """One harvest pass; safe beside `harvest_records --follow` (domains are leased)."""
    report = harvest_pass()
    return {"domains": len(report.domains), "inserted": report.inserted}
