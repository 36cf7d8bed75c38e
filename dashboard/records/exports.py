"""CSV exports of callback records: the columns (one list for every export), and big exports
made in the background into a file the person downloads when it is ready."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

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
    exports_settle()
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


# A writer reports every PROGRESS_EVERY rows, at least 100 a second: ten minutes without a
# word is a writer that is gone (its worker killed, the machine restarted). The export is then
# marked failed, so that it no longer counts against its person's EXPORTS_PER_USER; one that
# no worker looked at for half an hour too (is db_worker running?). A queued export waiting for
# the writer's place is looked at every few seconds (its reported_at), so a long queue behind
# one writer is never mistaken for one that no worker takes.
EXPORT_SILENT = dt.timedelta(minutes=10)
EXPORT_UNTAKEN = dt.timedelta(minutes=30)
WRITER_LEASE_SECONDS = 600  # renewed at each report; a crashed writer's frees itself after this


# kept in English and shown in the reader's language (templates/records/export.html)
WRITER_GONE = gettext_noop(
    "The background worker stopped while writing this export (no word from it for 10 "
    "minutes). Make it again."
)
NEVER_TAKEN = gettext_noop(
    "No background worker took this export in 30 minutes: is manage.py db_worker running? "
    "Make it again."
)


class _Stopped(Exception):
    """The export was marked failed while its writer was at it: the writer stops."""


def exports_settle(*, now: dt.datetime | None = None) -> int:
    """Mark failed the exports whose writer went silent and the queued ones no worker took,
    and remove what the silent ones had written; how many. Called wherever exports are
    counted or shown, so that a worker killed mid-write never leaves one "being written"."""
    now = now or timezone.now()
    silent = Export.objects.filter(state=Export.State.RUNNING).filter(
        Q(reported_at__lt=now - EXPORT_SILENT)
        | Q(reported_at__isnull=True, created_at__lt=now - EXPORT_SILENT)
    )
    stopped = list(silent.values_list("pk", "file_name"))
    marked = silent.update(
        state=Export.State.FAILED,
        finished_at=now,
        error=WRITER_GONE,
    )
    for _pk, name in stopped:
        if name:
            (settings.EXPORT_DIR / (name + ".part")).unlink(missing_ok=True)
    marked += Export.objects.filter(
        Q(reported_at__lt=now - EXPORT_UNTAKEN)
        | Q(reported_at__isnull=True, created_at__lt=now - EXPORT_UNTAKEN),
        state=Export.State.QUEUED,
    ).update(
        state=Export.State.FAILED,
        finished_at=now,
        error=NEVER_TAKEN,
    )
    return marked


def export_write(export_id: int) -> str:
    """Write one export's file (the background task). EXPORT_WRITERS (1) are written at once,
    across every worker, at EXPORT_ROWS_PER_SECOND at most; the others wait their turn."""
    export = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).first()
    if export is None:
        return "gone"
    try:
        lease = Lease(
            "export:write", limit=settings.EXPORT_WRITERS, ttl=WRITER_LEASE_SECONDS
        ).acquire()
    except Busy:  # its turn has not come: a worker saw it (not "untaken") and asks again soon
        Export.objects.filter(pk=export.pk, state=Export.State.QUEUED).update(
            reported_at=timezone.now()
        )
        _enqueue(export, at=timezone.now() + dt.timedelta(seconds=5))
        return "waiting"
    try:
        name = f"records-{export.pk}-{secrets.token_hex(8)}.csv"
        claimed = Export.objects.filter(pk=export.pk, state=Export.State.QUEUED).update(
            state=Export.State.RUNNING, file_name=name, reported_at=timezone.now()
        )
        if not claimed:
            return "gone"
        return _write(export, name, lease)
    finally:
        lease.release()
        exports_purge()


def _on_a_connection_of_its_own(work: Callable[[], object]) -> object:
    """`work`'s database writes, from a thread (and so a connection) of its own: the task's
    connection may be busy streaming a COPY, or (SQLite) reading rows through a cursor open
    between chunks, whose snapshot a write on that connection cannot leave once another
    process has written ("database is locked")."""
    answer: list = []

    def run() -> None:
        try:
            answer.append(work())
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=run, name="export-progress")
    thread.start()
    thread.join()
    return answer[0] if answer else None


def _write(export: Export, name: str, lease: Lease) -> str:
    settings.EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    partial = settings.EXPORT_DIR / (name + ".part")
    filters = thawed({k: v for k, v in export.filters.items() if k != "_base"})
    base = export.filters.get("_base", "")
    rows = records_search(filters=filters)
    total = records_count(rows, cap=CAP)[0]
    running = Export.objects.filter(pk=export.pk, state=Export.State.RUNNING)
    running.update(total=total, reported_at=timezone.now())
    by_copy = connection.vendor == "postgresql"

    def progress(done: int) -> None:
        def report() -> int:
            lease.renew()  # a slow write keeps its place: one writer stays one
            return running.update(written=min(done, total), reported_at=timezone.now())

        reported = _on_a_connection_of_its_own(report)
        if not reported:  # marked failed meanwhile (silent for too long): stop here
            raise _Stopped

    try:
        if by_copy:
            written = write_by_copy(
                rows, header=HEADER, base=base, cap=CAP, path=partial, progress=progress
            )
        else:
            lines = csv_lines(HEADER, export_rows(rows.iterator(chunk_size=2000), base=base))
            try:
                written = write_rows(lines, partial, progress)
            finally:
                lines.close()  # the rows' cursor with it: the export's state is written next
        os.replace(partial, settings.EXPORT_DIR / name)
    except _Stopped:
        partial.unlink(missing_ok=True)
        return "stopped"
    except Exception as failure:  # noqa: BLE001 - said on the export's page
        logger.exception("export %s failed", export.pk)
        partial.unlink(missing_ok=True)
        running.update(
            state=Export.State.FAILED,
            error=f"{type(failure).__name__}: {failure}"[:500],
            finished_at=timezone.now(),
        )
        return "failed"
    finished = running.update(
        state=Export.State.DONE,
        written=written,
        total=written,
        finished_at=timezone.now(),
        reported_at=timezone.now(),
    )
    if not finished:  # marked failed while its last rows were written: it said so; no file
        (settings.EXPORT_DIR / name).unlink(missing_ok=True)
        return "stopped"
    return "done"


def exports_purge() -> int:
    """Forget exports older than EXPORT_KEEP_HOURS, and their files."""
    exports_settle()
    horizon = timezone.now() - dt.timedelta(hours=settings.EXPORT_KEEP_HOURS)
    old = Export.objects.filter(created_at__lt=horizon).exclude(state__in=Export.UNFINISHED)
    removed = 0
    for export in old:
        if export.file_name:
            export_path(export).unlink(missing_ok=True)
        export.delete()
        removed += 1
    return removed
