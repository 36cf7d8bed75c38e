"""Background jobs on Django's tasks framework (django-tasks-db backend + its db_worker)."""

from __future__ import annotations

import logging
import time

from django.tasks import task
from django.utils import timezone

from dashboard.failures import UpstreamError
from dashboard.logs import carries_request_id

from .models import SyncRun
from .sync import domains_sync_all

logger = logging.getLogger(__name__)


class _Abandoned(Exception):
    """The run was marked failed while its worker was at it (silent for 30 minutes): a newer
    run may be doing the work now, so this one stops rather than sync alongside it."""


@task()
@carries_request_id
def sync_all_domains(run_id: int) -> dict:
    if not SyncRun.objects.filter(pk=run_id, state=SyncRun.State.QUEUED).update(
        state=SyncRun.State.RUNNING, reported_at=timezone.now()
    ):
        # marked failed while it waited (no worker for 30 minutes): a newer run does the work
        logger.info("sync run %s is no longer queued: not run", run_id)
        return {"ok": False, "skipped": True}
    running = SyncRun.objects.filter(pk=run_id, state=SyncRun.State.RUNNING)
    last_write = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if done in (0, total) or now - last_write > 0.5:
            if not running.update(done=done, total=total, reported_at=timezone.now()):
                raise _Abandoned
            last_write = now

    try:
        report = domains_sync_all(progress=progress)
    except _Abandoned:
        logger.warning("sync run %s was marked failed while running: stopped", run_id)
        return {"ok": False, "abandoned": True}
    except UpstreamError as failure:
        running.update(
            state=SyncRun.State.FAILED, finished_at=timezone.now(), message=failure.describe()
        )
        logger.warning("sync run %s failed: %s", run_id, failure.describe())
        return {"ok": False}
    running.update(
        state=SyncRun.State.DONE,
        finished_at=timezone.now(),
        reported_at=timezone.now(),
        done=report.refreshed + len(report.failed),
        total=report.refreshed + len(report.failed),
        failed=len(report.failed),
        drifted=report.drifted,
        message="; ".join(f"{name}: {msg}" for name, msg in report.failed[:10]),
    )
    logger.info(
        "sync run %s done: %d domains refreshed, %d failed, %d drifted",
        run_id,
        report.refreshed,
        len(report.failed),
        report.drifted,
    )
    return {"ok": True, "refreshed": report.refreshed, "failed": len(report.failed)}
