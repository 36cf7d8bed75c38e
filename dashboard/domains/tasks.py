"""Background jobs on Django's tasks framework (django-tasks-db backend + its db_worker)."""

from __future__ import annotations

import logging
import time

from django.tasks import task
from django.utils import timezone

from dashboard.live import LiveApiError

from .models import SyncRun
from .sync import domains_sync_all

logger = logging.getLogger(__name__)


@task()
def sync_all_domains(run_id: int) -> dict:
    run = SyncRun.objects.get(pk=run_id)
    SyncRun.objects.filter(pk=run_id).update(state=SyncRun.State.RUNNING)
    last_write = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if done in (0, total) or now - last_write > 0.5:
            SyncRun.objects.filter(pk=run_id).update(done=done, total=total)
            last_write = now

    try:
        report = domains_sync_all(progress=progress)
    except LiveApiError as error:
        SyncRun.objects.filter(pk=run_id).update(
            state=SyncRun.State.FAILED,
            finished_at=timezone.now(),
            message=f"{error.code or type(error).__name__}: {error.message} "
            f"(RequestId {error.request_id or '-'})",
        )
        logger.warning("sync run %s failed: %s", run.pk, error)
        return {"ok": False}
    SyncRun.objects.filter(pk=run_id).update(
        state=SyncRun.State.DONE,
        finished_at=timezone.now(),
        done=report.refreshed + len(report.failed),
        total=report.refreshed + len(report.failed),
        failed=len(report.failed),
        drifted=report.drifted,
        message="; ".join(f"{name}: {msg}" for name, msg in report.failed[:10]),
    )
    return {"ok": True, "refreshed": report.refreshed, "failed": len(report.failed)}
