"""CSV exports of callback records: the columns (one list for every export), and big exports
made in the background into a file the person downloads when it is ready."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.archive.filters import thawed
from dashboard.archive.selectors import records_count, records_search
from dashboard.csvexport import csv_lines
from dashboard.logs import enqueue_with_request_id
from dashboard.ops.shared import Busy, Lease

from .csvwrite import write_by_copy, write_rows
from .models import Export

logger = logging.getLogger(__name__)

CAP = 100_000  # rows in one export, whichever way it is made
HEADER = [
    "notify_time_utc",
    "domain",
    "app",
    "stream",
    "type",
    "result",
    "failure",
    "http_status",
    "notify_url",
    "description",
    "response",
    "content",
    "header",
    "permalink",
]


def export_rows(records: Iterable, *, base: str) -> Iterator[list]:
    """One CSV row per record (archived ones, or the Live API's, which have no archive id)."""
    for written, record in enumerate(records):
        if written >= CAP:
            return
        archived = getattr(record, "pk", None) is not None
        yield [
            record.notify_time.isoformat() if record.notify_time else "",
            record.domain_name,
            record.app_name,
            record.stream_name,
            record.notify_type,
            record.notify_result,
            record.failure_class if archived else "",
            (record.http_status or "") if archived else "",
            record.notify_url,
            record.description,
            record.notify_response,
            record.notify_content,
            record.notify_header,
            base + reverse("record_detail", kwargs={"pk": record.pk}) if archived else "",
        ]


class TooManyExports(Exception):
    """The person already has EXPORTS_PER_USER exports being made."""


def export_create(*, user, filters: dict, query: str, base: str, total: int) -> Export:
    """Queue an export of the archive's records matching `filters` (frozen); the task worker
    writes it. Raises TooManyExports. The person's row is locked while their exports are
    counted: locking the unfinished exports alone locks nothing when there are none, and three
    tabs pressing "Export" at once each counted none."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        unfinished = Export.objects.filter(created_by=user, state__in=Export.UNFINISHED)
        if unfinished.count() >= settings.EXPORTS_PER_USER:
            raise TooManyExports
        export = Export.objects.create(
            created_by=user,
            query=query[:2000],
            filters={**filters, "_base": base},
            total=min(total, CAP),
        )
    _enqueue(export)
    return export


def _enqueue(export: Export, *, at: dt.datetime | None = None) -> None:
    from .tasks import export_write_task

    task = export_write_task.using(run_after=at) if at else export_write_task
    transaction.on_commit(lambda: enqueue_with_request_id(task, export.pk))


def export_path(export: Export):
    return settings.EXPORT_DIR / export.file_name


def export_write(export_id: int) -> str:
    """Write one export's file (the background task). EXPORT_WRITERS (1) are written at once,
    across every worker, at EXPORT_ROWS_PER_SECOND at most; the others wait their turn."""
    export = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).first()
    if export is None:
        return "gone"
    try:
        lease = Lease("export:write", limit=settings.EXPORT_WRITERS, ttl=3600).acquire()
    except Busy:
        _enqueue(export, at=timezone.now() + dt.timedelta(seconds=5))
        return "waiting"
    try:
        claimed = Export.objects.filter(pk=export.pk, state=Export.State.QUEUED).update(
            state=Export.State.RUNNING
        )
        if not claimed:
            return "gone"
        return _write(export)
    finally:
        lease.release()
        exports_purge()


def _write(export: Export) -> str:
    settings.EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    name = f"records-{export.pk}-{secrets.token_hex(8)}.csv"
    partial = settings.EXPORT_DIR / (name + ".part")
    filters = thawed({k: v for k, v in export.filters.items() if k != "_base"})
    base = export.filters.get("_base", "")
    rows = records_search(filters=filters)
    total = records_count(rows, cap=CAP)[0]
    Export.objects.filter(pk=export.pk).update(total=total)

    def progress(done: int) -> None:
        Export.objects.filter(pk=export.pk).update(written=min(done, total))

    try:
        if connection.vendor == "postgresql":
            written = write_by_copy(rows, header=HEADER, base=base, cap=CAP, path=partial)
        else:
            lines = csv_lines(HEADER, export_rows(rows.iterator(chunk_size=2000), base=base))
            written = write_rows(lines, partial, progress)
        os.replace(partial, settings.EXPORT_DIR / name)
    except Exception as failure:  # noqa: BLE001 - said on the export's page
        logger.exception("export %s failed", export.pk)
        partial.unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.FAILED,
            error=f"{type(failure).__name__}: {failure}"[:500],
            finished_at=timezone.now(),
        )
        return "failed"
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.DONE,
        written=written,
        total=written,
        file_name=name,
        finished_at=timezone.now(),
    )
    return "done"


def exports_purge() -> int:
    """Forget exports older than EXPORT_KEEP_HOURS, and their files."""
    horizon = timezone.now() - dt.timedelta(hours=settings.EXPORT_KEEP_HOURS)
    old = Export.objects.filter(created_at__lt=horizon).exclude(state__in=Export.UNFINISHED)
    removed = 0
    for export in old:
        if export.file_name:
            export_path(export).unlink(missing_ok=True)
        export.delete()
        removed += 1
    return removed
