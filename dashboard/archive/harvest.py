"""Harvest: every streaming domain's delivery records copied into the archive, window by window.

The unit of work is one domain's window of time (HarvestWindow). A pass
1. plans: each domain that is due and has no window pending gets windows from where its last
   one ended up to now — SLICE long, so a backfill's 7 days are many windows that several
   workers take at once; later one window per pass, which re-reads ARCHIVE_HARVEST_OVERLAP
   seconds before its start, for records that appear late;
2. works: ARCHIVE_HARVEST_WORKERS threads (PostgreSQL; one on SQLite) each lease the oldest
   pending window (SKIP LOCKED), page it from the Live API in the harvest lane of the rate
   budget, renewing the lease before every write (and while paging), and store its records in
   short transactions of ARCHIVE_STORE_BATCH rows (archive/store.py: each record once, with
   its rollups, names and push parameters);
3. settles: a window stored, its domain's cursor moves over the stored windows that follow it
   without a gap, and in that same transaction the `records_settled` signal derives the
   incidents from the records of the range the cursor passed, read back from the database in
   time order. Batches arriving in any order, or a window stored twice, give the same state.

Memory is bounded by the workers' batches; any number of harvesters on any hosts share the
windows; one that dies leaves its window to the next once its lease runs out, and replaying
a window stores nothing twice. Worker threads close their database connections when a pass
ends, and `--follow` closes its own after every pass (a restarted PostgreSQL is met afresh).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from dashboard.contract.api import RECORDS_PAGE_SIZE_MAX, RECORDS_WINDOW
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.live import HARVEST_LANE
from dashboard.logs import log_context, new_request_id
from dashboard.upstream import get_client, upstream_errors

from .models import HarvestCursor, HarvestWindow
from .partitions import partitions_ahead
from .retention import archive_purge
from .signals import records_settled
from .store import ArchiveRow, Inserted, archive_rows, records_insert

logger = logging.getLogger(__name__)

# A backfill's windows: day slices, so one busy domain's 7 days keep every worker busy (each
# window ends with a partial page: 6-hour slices cost a fifth more calls).
SLICE = dt.timedelta(days=1)
# Start of a backfill: just inside the API's 7 days, so the edge never slides out mid-run.
EDGE_MARGIN = dt.timedelta(minutes=2)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WindowHarvest:
    domain: str
    start: dt.datetime
    end: dt.datetime
    fetched: int = 0
    inserted: int = 0
    error: str = ""
    unwell: bool = False  # the Live API as a whole did not answer: the pass stops taking windows


@dataclass
class HarvestReport:
    windows: list[WindowHarvest] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(w.inserted for w in self.windows)

    @property
    def fetched(self) -> int:
        return sum(w.fetched for w in self.windows)

    @property
    def failed(self) -> list[WindowHarvest]:
        return [w for w in self.windows if w.error]

    @property
    def domains(self) -> list[str]:
        return sorted({w.domain for w in self.windows})


# --- planning --------------------------------------------------------------------------------


HARVESTED = Q(domain__gone_at__isnull=True)


def cursors_ensure() -> None:
    """A cursor for every domain still upstream (ingest domains: their stream callbacks)."""
    have = HarvestCursor.objects.values_list("domain_id", flat=True)
    wanted = Domain.objects.filter(gone_at__isnull=True)
    HarvestCursor.objects.bulk_create(
        [HarvestCursor(domain=d) for d in wanted.exclude(pk__in=have)], ignore_conflicts=True
    )


def windows_plan(*, now: dt.datetime) -> int:
    """Windows up to `now` for every domain that is due and has none pending. Returns how many
    were planned. Safe in many harvesters at once (each cursor is planned by one)."""
    now = now.replace(microsecond=0)  # the API's times are whole seconds
    oldest = now - RECORDS_WINDOW + EDGE_MARGIN
    overlap = settings.ARCHIVE_HARVEST_OVERLAP
    pending = HarvestWindow.objects.filter(
        domain_id=OuterRef("domain_id"), state=HarvestWindow.State.PENDING
    )
    due = (
        HarvestCursor.objects.filter(HARVESTED)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(~Exists(pending))
        .order_by("pk")
    )
    planned = []
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        for cursor in due:
            start, first_overlap = cursor.planned_until, overlap
            if start is None or start < oldest:
                if start is not None:
                    logger.warning("harvest: %s not harvested for 7 days", cursor.domain_id)
                start, first_overlap = oldest, 0
            # back to back up to now; at least the overlap when no time has passed since the
            # last window (a harvest asked for again at once still reads what came late)
            while start < now or first_overlap:
                end = max(start, min(start + SLICE, now))
                planned.append(
                    HarvestWindow(
                        domain_id=cursor.domain_id, start=start, end=end, overlap=first_overlap
                    )
                )
                start, first_overlap = end, 0
            cursor.planned_until = max(now, cursor.planned_until or now)
            cursor.next_run_at = now + dt.timedelta(seconds=settings.ARCHIVE_HARVEST_INTERVAL)
            cursor.save(update_fields=["planned_until", "next_run_at"])
        HarvestWindow.objects.bulk_create(planned, ignore_conflicts=True)
    return len(planned)


# --- leases ----------------------------------------------------------------------------------


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.ARCHIVE_HARVEST_LEASE)


def _free(now: dt.datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def window_claim(*, owner: str, now: dt.datetime) -> HarvestWindow | None:
    """Lease the oldest pending window that nobody holds. Of any number of harvesters asking
    at once, exactly one gets each window."""
    free = (
        HarvestWindow.objects.filter(HARVESTED, state=HarvestWindow.State.PENDING)
        .filter(_free(now))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("start", "pk")
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = list(free.select_for_update(skip_locked=True, of=("self",))[:1])
        else:
            candidates = list(free[:5])
        for candidate in candidates:
            taken = (
                HarvestWindow.objects.filter(pk=candidate.pk, state=HarvestWindow.State.PENDING)
                .filter(_free(now))
                .update(lease_owner=owner, lease_until=now + _lease(), attempts=F("attempts") + 1)
            )
            if taken:
                return HarvestWindow.objects.select_related("domain").get(pk=candidate.pk)
    return None


def leases_release(owner: str) -> int:
    """Give back every window `owner` still holds: what a pass that failed half-way (its
    database restarted under it, say) left leased would otherwise wait out the lease."""
    return HarvestWindow.objects.filter(lease_owner=owner).update(lease_owner="", lease_until=None)


class LeaseLost(Exception):  # another harvester has the window now
    pass


def _renew(window: HarvestWindow, owner: str, *, writing: bool) -> None:
    """Renew the lease before every write and 4 times a lease while paging, or LeaseLost."""
    now = time.monotonic()
    if not writing and now < getattr(window, "renew_at", 0):
        return
    window.renew_at = now + settings.ARCHIVE_HARVEST_LEASE / 4
    if not HarvestWindow.objects.filter(
        pk=window.pk, lease_owner=owner, state=HarvestWindow.State.PENDING
    ).update(lease_until=timezone.now() + _lease()):
        raise LeaseLost


# --- one window ------------------------------------------------------------------------------


def fetch_window(
    domain_name: str, start: dt.datetime, end: dt.datetime, *, ingest: bool = False
) -> Iterator[list[dict]]:
    """Every record of one window (of an ingest domain: its stream callbacks), page after
    page, each page as it arrives, as the API gave them. Raises UpstreamError."""
    client = get_client()
    describe = client.describe_stream_notify_records if ingest else client.describe_notify_records
    page_number = 1
    while True:
        with upstream_errors():
            page = describe(
                domain_name,
                start=start,
                end=end,
                page_number=page_number,
                page_size=RECORDS_PAGE_SIZE_MAX,
                lane=HARVEST_LANE,
                deadline=120.0,
            )
        yield page.items
        if page_number >= page.total_page or not page.items:
            return
        page_number += 1


def window_harvest(window: HarvestWindow, *, owner: str, now: dt.datetime) -> WindowHarvest:
    """Page one leased window, store its records, settle it. Never raises for one window's
    trouble: an upstream refusal, a database error or a bug is said on the window and its
    domain (and logged), and the window is tried again later from its start."""
    domain = window.domain
    outcome = WindowHarvest(domain=domain.name, start=window.start, end=window.end)
    oldest = now.replace(microsecond=0) - RECORDS_WINDOW + EDGE_MARGIN
    start = max(window.start - dt.timedelta(seconds=window.overlap), min(oldest, window.start))
    # new records the domain's cursor has passed already (they appeared upstream late): kept
    # to be folded in out of order when the window settles
    settled = HarvestCursor.objects.filter(domain_id=window.domain_id).first()
    settled = settled and settled.harvested_until
    passed = max(window.start, settled or window.start)
    late: list[Inserted] = []
    batch: list[ArchiveRow] = []

    def store() -> None:
        stored = records_insert(batch, before=passed)
        outcome.inserted += stored.count
        late.extend(stored.new)
        batch.clear()

    try:
        ingest = domain.domain_type == Domain.Type.INGEST
        for records in fetch_window(domain.name, start, window.end, ingest=ingest):
            outcome.fetched += len(records)
            batch += archive_rows(domain, records, now)
            full = len(batch) >= settings.ARCHIVE_STORE_BATCH
            _renew(window, owner, writing=full)
            if full:
                store()
        _renew(window, owner, writing=True)
        store()
        window_stored(window, owner=owner, late=late, inserted=outcome.inserted)
    except LeaseLost:
        logger.warning("harvest: %s: the window's lease was lost", window)
        outcome.error = "lease lost"
        return outcome
    except UpstreamError as error:
        outcome.error = error.describe()
        outcome.unwell = (
            not error.refused or error.code == "CircuitOpen" or error.code.startswith("Throttling")
        )
    except Exception as error:  # noqa: BLE001 - one window's failure must not stop the others
        logger.exception("harvest: %s failed", window)
        outcome.error = f"internal error: {type(error).__name__}: {error}"
    if outcome.error:
        _window_failed(window, owner, outcome.error)
    return outcome


def window_stored(
    window: HarvestWindow, *, owner: str, late: Iterable[Inserted] = (), inserted: int = 0
) -> None:
    """Mark a window stored and move its domain's cursor as far as it can go."""
    with transaction.atomic():
        cursor = HarvestCursor.objects.select_for_update().get(domain_id=window.domain_id)
        HarvestWindow.objects.filter(pk=window.pk, state=HarvestWindow.State.PENDING).update(
            state=HarvestWindow.State.STORED, lease_owner="", lease_until=None, last_error=""
        )
        cursor.last_run_at = timezone.now()
        cursor.last_records = inserted
        cursor.last_error = ""
        _advance(cursor, late=late)


def archive_settle(domain: Domain, *, until: dt.datetime, new: Iterable[Inserted] = ()) -> None:
    """For records stored without a window (an import, tests, benchmarks): move the domain's
    cursor to `until` (never back), deriving what the range holds as a harvest would; `new`
    are the records just stored (those before the cursor are folded in out of order)."""
    with transaction.atomic():
        cursor = HarvestCursor.objects.held(domain)
        _advance(cursor, late=new, until=until)


def _advance(cursor: HarvestCursor, *, late: Iterable[Inserted] = (), until=None) -> None:
    """In the caller's transaction, holding the cursor: up to the first pending window (or the
    planned end), every record is stored — derive the range from the database, move on."""
    if until is None:
        first_pending = HarvestWindow.objects.filter(
            domain_id=cursor.domain_id, state=HarvestWindow.State.PENDING
        ).aggregate(start=Min("start"))["start"]
        until = first_pending or cursor.planned_until
        cursor.backfilled = cursor.backfilled or first_pending is None
    start = cursor.harvested_until
    late = sorted(
        (r for r in late if start is not None and r.notify_time < start),
        key=lambda r: (r.notify_time, r.id),
    )
    moved = until is not None and (start is None or until > start)
    if moved or late:
        records_settled.send(
            sender=HarvestCursor,
            domain=cursor.domain,
            start=start,
            end=until if moved else start,
            late=late,
        )
    if moved:
        cursor.harvested_until = until
    if cursor.harvested_until is not None:
        HarvestWindow.objects.filter(
            domain_id=cursor.domain_id,
            state=HarvestWindow.State.STORED,
            end__lte=cursor.harvested_until,
        ).delete()
    cursor.save()


def _window_failed(window: HarvestWindow, owner: str, error: str) -> None:
    now = timezone.now()
    interval = dt.timedelta(seconds=settings.ARCHIVE_HARVEST_INTERVAL)
    retry = now + min(interval * 4, dt.timedelta(minutes=5))  # soon, but not in a tight loop
    logger.warning("harvest: %s: %s", window, error)
    try:
        HarvestWindow.objects.filter(pk=window.pk, lease_owner=owner).update(
            lease_owner="", lease_until=None, last_error=error[:500], not_before=retry
        )
        HarvestCursor.objects.filter(domain_id=window.domain_id).update(
            last_run_at=now, last_error=error[:500], last_error_at=now
        )
    except Exception:  # noqa: BLE001 - the database itself may be what failed: the lease runs out
        logger.exception("harvest: could not record the failure of %s", window)


# --- a pass ----------------------------------------------------------------------------------


def harvest_pass(
    *,
    owner: str | None = None,
    now: Callable[[], dt.datetime] = timezone.now,
    progress: Callable[[WindowHarvest], None] | None = None,
    max_windows: int | None = None,
) -> HarvestReport:
    """Plan, then harvest every window that can be had, once. Safe in many processes at once."""
    owner = owner or owner_name()
    cursors_ensure()
    windows_plan(now=now())
    partitions_ahead(now())
    report = HarvestReport()
    lock = threading.Lock()
    taken = [0]

    def work() -> None:
        while True:
            with lock:
                if max_windows is not None and taken[0] >= max_windows:
                    return
                taken[0] += 1
            window = window_claim(owner=owner, now=now())
            if window is None:
                return
            outcome = window_harvest(window, owner=owner, now=now())
            with lock:
                report.windows.append(outcome)
            if progress:
                progress(outcome)
            if outcome.unwell:
                return  # the other windows wait for the next pass rather than fail too

    workers = settings.ARCHIVE_HARVEST_WORKERS if connection.vendor == "postgresql" else 1
    if workers == 1:
        work()  # on the calling thread: what a test's own transaction can see
    else:

        def in_thread() -> None:
            try:
                work()
            finally:
                connections.close_all()  # this thread's own connections

        with ThreadPoolExecutor(workers, thread_name_prefix="harvest") as pool:
            for future in [pool.submit(in_thread) for _ in range(workers)]:
                future.result()  # a failure is raised once every thread has ended
    archive_purge(now=now())
    return report


def iter_follow(
    *,
    interval: float,
    stop: Callable[[], bool],
    sleep: Callable[[float], None],
    owner: str | None = None,
) -> Iterator[HarvestReport]:
    """Harvest pass after pass until `stop()`; sleeps when nothing was due. The database
    connection is closed after every pass, so a restarted database is simply met again, and
    the windows a failed pass still held are taken again at once by the next."""
    owner = owner or owner_name()
    while not stop():
        try:
            leases_release(owner)  # passes run one after another: nothing of ours is in flight
            with log_context(request_id=new_request_id()):  # one id a pass, on its lines
                report = harvest_pass(owner=owner)
        except Exception:  # noqa: BLE001 - a harvester that exits harvests nothing again
            logger.exception("harvest: the pass failed; trying again")
            report = None
        finally:
            try:
                connections.close_all()
            except Exception:  # noqa: BLE001 - a connection already broken is closed anyway
                logger.info("harvest: closing a broken database connection", exc_info=True)
        if report is not None:
            yield report
        if report is None or not report.windows:
            sleep(interval)
