"""The callback that never came: Live's push history checked against the archive.

Live's push history (DescribeLiveStreamsPublishList) is the ground truth of which streams were
pushed to an ingest domain. For each ingest domain a check pass reads the pushes up to where
the domain's records are archived (its cursor's `harvested_until`, less SAME_PUSH so a
callback sent a moment after its push is in), and for each push of at least SHORT_PUSH marks
which stream callbacks it should have caused that the archive does not hold:

- `publish`, if the domain has a stream callback configured;
- `publish_done`, likewise, once the push has stopped (the history gives its stop time).

A callback is the push's when it is of the same app and stream and within SAME_PUSH of the
push's start (or stop). Whether a callback was configured is judged at that moment, from the
audit log's changes of the stream config (a callback set up today does not flag yesterday's
pushes; one deleted today still flags them); a change made outside the dashboard counts from
when the sync noticed it.
Recording callbacks are not expected here: whether a push is recorded depends on recording
templates the API does not list; the stream's timeline marks those from the callbacks.

Pushes still running are read again on the next pass (from the oldest one still open, for up
to OPEN_FOR), so their `publish_done` is judged once they stop. Each domain costs one call a
pass (more only past PUBLISH_PAGE_SIZE_MAX pushes), in the operation's own 3 QPS budget.

A callback that reaches the archive after its push was judged (Live listed it late: the
harvest's overlap reads it, older than the domain's cursor) takes the flag back, by the same
rule, in the transaction that settles it (`pushes_settle`, a `records_settled` receiver);
`rebuild_rollups` does the same for every flagged push (`flags_recheck`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from dashboard.audit.selectors import config_states
from dashboard.contract.api import (
    PUBLISH_PAGE_SIZE_MAX,
    PUBLISH_WINDOW,
    RECORDS_WINDOW,
    STREAM_NOTIFY_TYPES,
)
from dashboard.domains.kinds import STREAM
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.live import PublishedStream
from dashboard.upstream import get_client, upstream_errors

from .models import ArchivedRecord, HarvestCursor, PushedSession

logger = logging.getLogger(__name__)

# A callback this close to a push's start (or stop) in the push history is that push's.
SAME_PUSH = dt.timedelta(minutes=2)
# Pushes shorter than this are left out (Live sends publish after about 2 s of pushing).
SHORT_PUSH = dt.timedelta(seconds=10)
# A push still running is read again until it stops, for at most this long after its start.
OPEN_FOR = dt.timedelta(days=2)
# Where a domain's first check begins: the archive's 7 days, just inside their edge.
EDGE_MARGIN = dt.timedelta(minutes=5)


@dataclass
class DomainCheck:
    domain: str
    start: dt.datetime
    end: dt.datetime
    calls: int = 0
    pushes: int = 0
    missing: int = 0  # callbacks expected and not in the archive
    error: str = ""


@dataclass
class PushCheckReport:
    domains: list[DomainCheck] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(d.calls for d in self.domains)

    @property
    def missing(self) -> int:
        return sum(d.missing for d in self.domains)

    @property
    def failed(self) -> list[DomainCheck]:
        return [d for d in self.domains if d.error]


def expected_of(
    push: PublishedStream, *, configured: Callable[[dt.datetime], bool], until: dt.datetime
) -> list[str]:
    """The stream callbacks `push` should have caused by `until`: each one when a stream
    callback was `configured` at the moment Live would have sent it."""
    began, stopped = push.publish_time, push.stop_time
    if began is None or began + SAME_PUSH > until:
        return []
    if stopped is not None and stopped - began < SHORT_PUSH:
        return []
    expected = ["publish"] if configured(began) else []
    if stopped is not None and stopped + SAME_PUSH <= until and configured(stopped):
        expected.append("publish_done")
    return expected


def configured_over(domain: Domain, start: dt.datetime, end: dt.datetime):
    """moment → whether `domain` had a stream callback URL then, over [start, end]."""
    current = domain.stream_config_or_none
    states = config_states(
        domain_id=domain.pk,
        kind=STREAM.name,
        start=start,
        end=end,
        current={"notify_url": current.notify_url} if current is not None else None,
    )
    moments = [since for since, _state in states[1:]]
    urls = [bool((state or {}).get("notify_url")) for _since, state in states]

    def configured(moment: dt.datetime) -> bool:
        return urls[bisect.bisect_right(moments, moment)]

    return configured


def _told(domain: Domain, start: dt.datetime, end: dt.datetime) -> dict:
    """(app, stream, type) → the sorted times of the domain's stream callbacks near [start, end)."""
    rows = ArchivedRecord.objects.filter(
        domain=domain,
        notify_type__in=STREAM_NOTIFY_TYPES,
        notify_time__gte=start - SAME_PUSH,
        notify_time__lt=end + SAME_PUSH,
    ).values_list("app_name", "stream_name", "notify_type", "notify_time")
    told: dict[tuple[str, str, str], list[dt.datetime]] = {}
    for app, stream, kind, when in rows:
        told.setdefault((app, stream, kind), []).append(when)
    for times in told.values():
        times.sort()
    return told


def _came(times: list[dt.datetime], moment: dt.datetime | None) -> bool:
    if moment is None:  # a push still running has no publish_done to find
        return False
    i = bisect.bisect_left(times, moment - SAME_PUSH)
    return i < len(times) and times[i] <= moment + SAME_PUSH


def _moment(push: PushedSession | PublishedStream, kind: str) -> dt.datetime | None:
    return push.publish_time if kind == "publish" else push.stop_time


def flags_recheck(domain: Domain, pushes: Iterable[PushedSession]) -> int:
    """Take back the flags of `pushes` (the domain's) that the archive now disproves: their
    callback is there after all. Returns how many pushes changed."""
    pushes = [p for p in pushes if p.missing]
    moments = [m for p in pushes for m in (p.publish_time, p.stop_time) if m is not None]
    if not moments:
        return 0
    told = _told(domain, min(moments), max(moments) + dt.timedelta(seconds=1))
    changed = []
    for push in pushes:
        missing = [
            kind
            for kind in push.missing_types
            if not _came(told.get((push.app_name, push.stream_name, kind), []), _moment(push, kind))
        ]
        if missing != push.missing_types:
            push.missing = " ".join(missing)
            changed.append(push)
    PushedSession.objects.bulk_update(changed, ["missing"], batch_size=1000)
    return len(changed)


def pushes_settle(sender=None, *, domain: Domain, late: Iterable = (), **kwargs) -> None:
    """The records_settled receiver: stream callbacks archived late take back the flags of the
    pushes they belong to. (The rest of a settled range is newer than any push judged: a check
    stops SAME_PUSH before the cursor.)"""
    came = [r for r in late if r.notify_type in STREAM_NOTIFY_TYPES]
    if not came:
        return
    low = min(r.notify_time for r in came) - SAME_PUSH
    high = max(r.notify_time for r in came) + SAME_PUSH
    streams = {(r.app_name, r.stream_name) for r in came}
    near = (
        PushedSession.objects.filter(domain=domain)
        .exclude(missing="")
        .filter(Q(publish_time__range=(low, high)) | Q(stop_time__range=(low, high)))
    )
    flags_recheck(domain, [p for p in near if (p.app_name, p.stream_name) in streams])


def _window(cursor: HarvestCursor, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) of the domain's next check, or None when there is nothing new to check."""
    if cursor.harvested_until is None:
        return None  # its records are not archived yet: every push would look uncalled
    end = min(cursor.harvested_until, now).replace(microsecond=0) - SAME_PUSH
    oldest = now.replace(microsecond=0) - min(RECORDS_WINDOW, PUBLISH_WINDOW) + EDGE_MARGIN
    start = cursor.pushes_checked_until or oldest
    still_open = PushedSession.objects.filter(
        domain_id=cursor.domain_id, stop_time__isnull=True, publish_time__gte=now - OPEN_FOR
    ).aggregate(first=Min("publish_time"))["first"]
    if still_open is not None:
        start = min(start, still_open)
    start = max(start, oldest)
    return (start, end) if end > start else None


def _one_per_publish(pushes: list[PublishedStream]) -> list[PublishedStream]:
    """The pushes one per (app, stream, publish second), the one that stopped last (or still
    runs) of any that share one: an encoder that reconnects within the second starts two
    sessions Live lists with one PublishTime, and the archive keeps one push per publish (one
    upsert cannot write a row twice: PostgreSQL refused the whole check)."""
    kept: dict[tuple, PublishedStream] = {}
    for push in pushes:
        if push.publish_time is None:
            continue
        key = (push.app_name[:255], push.stream_name[:255], push.publish_time)
        have = kept.get(key)
        if have is None or (
            have.stop_time is not None
            and (push.stop_time is None or push.stop_time > have.stop_time)
        ):
            kept[key] = push
    return list(kept.values())


def domain_check(cursor: HarvestCursor, *, now: dt.datetime) -> DomainCheck | None:
    """Check one ingest domain's pushes since its last check. Raises UpstreamError."""
    domain = cursor.domain
    span = _window(cursor, now)
    if span is None:
        return None
    start, end = span
    outcome = DomainCheck(domain=domain.name, start=start, end=end)
    client = get_client()
    pushes: list[PublishedStream] = []
    page_number = 1
    while True:
        with upstream_errors():
            page = client.describe_streams_publish_list(
                domain.name,
                start=start,
                end=end,
                page_number=page_number,
                page_size=PUBLISH_PAGE_SIZE_MAX,
                now=now,
                deadline=60.0,
            )
        outcome.calls += 1
        pushes += page.streams
        if page_number >= page.total_page or not page.streams:
            break
        page_number += 1
    configured = configured_over(domain, start, end)
    told = _told(domain, start, end)
    rows = []
    for push in _one_per_publish(pushes):
        missing = [
            kind
            for kind in expected_of(push, configured=configured, until=end)
            if not _came(told.get((push.app_name, push.stream_name, kind), []), _moment(push, kind))
        ]
        outcome.missing += len(missing)
        rows.append(
            PushedSession(
                domain=domain,
                app_name=push.app_name[:255],
                stream_name=push.stream_name[:255],
                publish_time=push.publish_time,
                stop_time=push.stop_time,
                client_addr=push.client_addr[:64],
                missing=" ".join(missing),
                checked_at=now,
            )
        )
    outcome.pushes = len(rows)
    with transaction.atomic():  # the pushes and the cursor move together, or neither does
        PushedSession.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["domain", "app_name", "stream_name", "publish_time"],
            update_fields=["stop_time", "client_addr", "missing", "checked_at"],
        )
        HarvestCursor.objects.filter(pk=cursor.pk).update(pushes_checked_until=end)
    return outcome


def pushes_check(
    *,
    now: Callable[[], dt.datetime] = timezone.now,
    progress: Callable[[DomainCheck], None] | None = None,
) -> PushCheckReport:
    """One pass over every ingest domain whose archive has moved on since its last check.
    A domain the API refuses is said (and logged) and tried again next pass; when the API as a
    whole does not answer, the pass stops."""
    report = PushCheckReport()
    cursors = (
        HarvestCursor.objects.filter(
            domain__domain_type=Domain.Type.INGEST,
            domain__gone_at__isnull=True,
            harvested_until__isnull=False,
        )
        .select_related("domain", "domain__stream_config")
        .order_by("domain__name")
    )
    for cursor in cursors:
        unwell = False
        try:
            outcome = domain_check(cursor, now=now())
        except UpstreamError as error:
            start = cursor.pushes_checked_until or now()
            outcome = DomainCheck(cursor.domain.name, start, start, error=error.describe())
            logger.warning("push check: %s: %s", cursor.domain.name, outcome.error)
            unwell = not error.refused or error.code == "CircuitOpen"
        except Exception as error:  # noqa: BLE001 - one domain's failure must not stop the others
            logger.exception("push check: %s failed", cursor.domain.name)
            start = cursor.pushes_checked_until or now()
            outcome = DomainCheck(
                cursor.domain.name,
                start,
                start,
                error=f"internal error: {type(error).__name__}: {error}",
            )
        if outcome is None:
            continue
        report.domains.append(outcome)
        if progress:
            progress(outcome)
        if unwell:
            break  # the others wait for the next pass rather than fail too
    return report
