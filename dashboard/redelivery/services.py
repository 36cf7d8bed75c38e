"""Sending archived callbacks again: one from its page, or a domain's failed callbacks in a
window as a background run with progress, pause, cancel and a per-domain rate limit.

What a receiver gets: the record's NotifyContent byte for byte, with its original content
type, at the domain's *current* callback URL of that kind; signed with ALI-LIVE-TIMESTAMP /
ALI-LIVE-SIGNATURE as Live signs (the current key, fetched from the Live API for the send
and never stored) when signed callbacks are on; and two headers that mark it as ours:

    X-Live-Redelivery: <archive record id>
    X-Live-Original-Notify-Time: <the original NotifyTime, ISO 8601 UTC>

The sender is the test callbacks' one: SSRF rules, the address pinned, 5 seconds, no
redirects.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dashboard.access import edit_refusal
from dashboard.archive.filters import KEPT, frozen, thawed
from dashboard.archive.models import ArchivedRecord
from dashboard.archive.selectors import newest_record_id, records_search
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.contract.api import parse_json_tolerant
from dashboard.domains.kinds import ConfigKind, kind_of_record
from dashboard.domains.models import Domain
from dashboard.domains.selectors import upstream_config
from dashboard.failures import UpstreamError
from dashboard.live.ratelimit import SlotLimiter
from dashboard.logs import enqueue_with_request_id
from dashboard.ops.shared import shared_store
from dashboard.receivers.sender import Delivery, SendRefused
from dashboard.receivers.services import callback_deliver
from dashboard.said import Sentence, columns, in_english

from .models import RedeliveryAttempt, RedeliveryRun

REDELIVERY_HEADER = "X-Live-Redelivery"
ORIGINAL_TIME_HEADER = "X-Live-Original-Notify-Time"
RESPONSE_KEEP = 4096
STALE_RUN = dt.timedelta(seconds=60)  # a running run whose worker has not written for this long


# An attempt still "sending" after this long was cut off (its process died): it no longer
# stands in the way of a resend. A send itself is bounded by CALLBACK_TEST_TIMEOUT.
SENDING_AT_MOST = dt.timedelta(seconds=60)
STOPPED_WHILE_SENDING = Sentence(
    gettext_noop("The worker stopped while sending; this run does not send it again.")
)
NOTHING = Sentence("")  # no message


class BeingSent(Exception):
    """The record is being sent right now (another person's Resend, or a run): sending it again
    at the same moment would give the receiver the same callback twice."""

    def __init__(self, attempt: RedeliveryAttempt):
        super().__init__(attempt.pk)
        self.attempt = attempt


class NoCallback(Exception):
    """The domain has no callback of the record's kind today: there is nowhere to send it."""

    def __init__(self, why: Sentence):
        super().__init__(str(why))
        self.why = why


@dataclass(frozen=True)
class Target:
    kind: ConfigKind
    url: str
    key: str  # "" when signed callbacks are off

    @property
    def signed(self) -> bool:
        return bool(self.key)


def current_target(domain: Domain, kind: ConfigKind) -> Target:
    """The domain's callback of this kind as the Live API holds it now. Raises NoCallback or
    UpstreamError."""
    config = upstream_config(domain_name=domain.name, kind=kind)
    if config is None or not config.notify_url:
        raise NoCallback(
            Sentence(
                gettext_noop("%(domain)s has no %(kind)s now: there is nowhere to resend to."),
                {"domain": domain.name, "kind": in_english(kind.label)},
            )
        )
    key = config.notify_auth_key if config.notify_req_auth else ""
    return Target(kind=kind, url=config.notify_url, key=key or "")


def content_type_of(record: ArchivedRecord) -> str:
    """The original request's Content-Type, where the record's NotifyHeader says it as a
    header can carry it (one line of printable ASCII); else JSON's, as Live sends."""
    headers = parse_json_tolerant(record.notify_header)
    if isinstance(headers, dict):
        for name, value in headers.items():
            if str(name).lower() == "content-type" and value:
                text = str(value).strip()[:200]
                if text.isascii() and text.isprintable():
                    return text
    return "application/json"


def body_of(record: ArchivedRecord) -> bytes:
    return record.notify_content.encode("utf-8")


def headers_of(record: ArchivedRecord) -> list[tuple[str, str]]:
    original = record.notify_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ("Content-Type", content_type_of(record)),
        (REDELIVERY_HEADER, str(record.pk)),
        (ORIGINAL_TIME_HEADER, original),
    ]


def _send(record: ArchivedRecord, target: Target) -> Delivery:
    return callback_deliver(
        kind=target.kind,
        url=target.url,
        body=body_of(record),
        headers=headers_of(record),
        key=target.key,
        domain_name=record.domain_name,
    )


def _finish(attempt: RedeliveryAttempt, delivery: Delivery | None, refused=None) -> None:
    if refused is not None:
        attempt.outcome = RedeliveryAttempt.Outcome.REFUSED
        _say_error(attempt, Sentence(refused.message, refused.params))
    else:
        attempt.outcome = (
            RedeliveryAttempt.Outcome.DELIVERED if delivery.ok else RedeliveryAttempt.Outcome.FAILED
        )
        attempt.status_code = delivery.status
        attempt.elapsed_ms = round(delivery.elapsed_ms)
        attempt.response = delivery.body[:RESPONSE_KEEP]
        _say_error(attempt, Sentence(delivery.message_template, delivery.message_params))
    attempt.save()


def _say_error(attempt: RedeliveryAttempt, why: Sentence) -> None:
    for field, value in columns("error", why).items():
        setattr(attempt, field, value)


def _limiter() -> SlotLimiter:
    # shared by every process: Redis, or the database without it
    return SlotLimiter(shared_store(), prefix="redeliver")


def _wait_for_slot(domain: Domain, rate: float) -> None:
    """The per-domain redelivery rate, shared by every process using the same cache."""
    _limiter().acquire(domain.name, rate, deadline=time.time() + 3600)


# --- one record -----------------------------------------------------------------------------


def _being_sent(record: ArchivedRecord, *, lock: bool = False, run=None):
    """The attempt sending the record right now (a person's Resend, or another run's), if any.
    `lock`: in a transaction, take the record's row first, so that a check and the claim that
    follows it are one step for everyone sending this record."""
    if lock:
        ArchivedRecord.objects.select_for_update().filter(
            pk=record.pk, notify_time=record.notify_time
        ).first()
    sending = RedeliveryAttempt.objects.filter(
        record=record,
        outcome=RedeliveryAttempt.Outcome.SENDING,
        created_at__gte=timezone.now() - SENDING_AT_MOST,
    )
    if run is not None:
        sending = sending.exclude(run=run)
    return sending.first()


def resend_one(*, record: ArchivedRecord, actor, client_ip=None) -> RedeliveryAttempt:
    """Send one archived callback again now. Raises PermissionDenied, NoCallback, BeingSent or
    UpstreamError (fetching the current config); a refused or failed send is an attempt."""
    domain = record.domain
    refusal = edit_refusal(actor, domain)
    if refusal:
        raise PermissionDenied(refusal)
    target = current_target(domain, kind_of_record(record))
    _wait_for_slot(domain, settings.REDELIVERY_RATE_PER_SECOND)
    with transaction.atomic():
        # one check-and-claim at a time per record: two presses at once send it once
        sending = _being_sent(record, lock=True)
        if sending is not None:
            raise BeingSent(sending)
        attempt = RedeliveryAttempt.objects.create(
            record=record,
            actor=actor,
            actor_name=actor.get_username(),
            target_url=target.url,
            signed=target.signed,
        )
    try:
        _finish(attempt, _send(record, target))
    except SendRefused as refused:
        _finish(attempt, None, refused=refused)
    audit_entry_create(
        domain=domain,
        kind=AuditEntry.Kind.REDELIVERY,
        action=AuditEntry.Action.RESEND,
        outcome=AuditEntry.Outcome.SUCCESS if attempt.ok else AuditEntry.Outcome.FAILED,
        actor=actor,
        client_ip=client_ip,
        after={
            "record": record.pk,
            "notify_url": target.url,
            "status": attempt.status_code,
            "outcome": attempt.outcome,
            "signed": target.signed,
        },
        error_code=""
        if attempt.ok
        else (f"HTTP{attempt.status_code}" if attempt.status_code else "NotSent"),
        error_message=(attempt.error_said or {}).get("template", attempt.error),
        error_params=(attempt.error_said or {}).get("params") or None,
    )
    return attempt


# --- many records ---------------------------------------------------------------------------


def run_records(run: RedeliveryRun):
    """The run's records, oldest first: failed, of its domain, in its window and filters,
    archived before the run was made."""
    filters = {**thawed(run.filters), "domain_id": run.domain_id, "status": "failed"}
    return (
        records_search(filters=filters)
        .filter(pk__lte=run.max_record_id)
        .order_by("notify_time", "id")
    )


# Every filter that narrows the records page, but the two a run sets itself (its domain, and
# failed). A run once kept only some: opened from the header search ("App or stream") or a
# push parameter, "Resend 529 failed callbacks…" led to a run of all 2,241 of the domain's.
RUN_KEPT = tuple(name for name in KEPT if name not in ("domain", "domain_id", "status"))


def run_filters(cleaned: dict) -> dict:
    """The explorer's filters as a run keeps them (absolute window, JSON-safe)."""
    return frozen(cleaned, keep=RUN_KEPT)


def run_create(
    *, domain: Domain, filters: dict, query: str, actor, skip_redelivered: bool, client_ip=None
) -> RedeliveryRun:
    refusal = edit_refusal(actor, domain)
    if refusal:
        raise PermissionDenied(refusal)
    newest = newest_record_id()
    active = active_run(domain=domain)
    if active is not None:
        raise RunActive(active)
    try:
        with transaction.atomic():
            run = _create_run(domain, filters, query, actor, skip_redelivered, newest, client_ip)
    except IntegrityError:  # another run of the domain was started at the same moment
        raise RunActive(active_run(domain=domain)) from None
    _enqueue(run)
    return run


class RunActive(Exception):
    """The domain has an unfinished run: two at once would send the same records twice."""

    def __init__(self, run: RedeliveryRun | None):
        super().__init__(
            _("Redelivery run #%(n)s of this domain is not finished: wait for it, or cancel it.")
            % {"n": run.pk if run else "?"}
        )
        self.run = run


def active_run(*, domain: Domain) -> RedeliveryRun | None:
    return (
        RedeliveryRun.objects.filter(domain=domain, state__in=RedeliveryRun.ACTIVE_STATES)
        .order_by("-pk")
        .first()
    )


def _create_run(domain, filters, query, actor, skip_redelivered, newest, client_ip):
    """The run and its audit entry (inside the caller's transaction)."""
    run = RedeliveryRun.objects.create(
        domain=domain,
        created_by=actor,
        created_by_name=actor.get_username(),
        filters=filters,
        query=query[:2000],
        max_record_id=newest,
        skip_redelivered=skip_redelivered,
        rate_per_second=settings.REDELIVERY_RATE_PER_SECOND,
    )
    run.total = run_records(run).count()
    run.save(update_fields=["total"])
    audit_entry_create(
        domain=domain,
        kind=AuditEntry.Kind.REDELIVERY,
        action=AuditEntry.Action.RESEND,
        actor=actor,
        client_ip=client_ip,
        after={"run": run.pk, "records": run.total, **filters},
    )
    return run


def _enqueue(run: RedeliveryRun, *, at: dt.datetime | None = None) -> None:
    from .tasks import redelivery_run_task

    task = redelivery_run_task.using(run_after=at) if at else redelivery_run_task
    transaction.on_commit(lambda: enqueue_with_request_id(task, run.pk))


def run_change(*, run: RedeliveryRun, action: str, actor, client_ip=None) -> RedeliveryRun:
    """pause, resume or cancel. Audited."""
    refusal = edit_refusal(actor, run.domain)
    if refusal:
        raise PermissionDenied(refusal)
    now = timezone.now()
    with transaction.atomic():
        locked = RedeliveryRun.objects.select_for_update().get(pk=run.pk)
        before = locked.state
        stale = locked.state == RedeliveryRun.State.RUNNING and (
            locked.heartbeat_at is None or now - locked.heartbeat_at > STALE_RUN
        )
        if action == "pause" and locked.state in ("queued", "running"):
            locked.state = RedeliveryRun.State.PAUSED
        elif action == "cancel" and locked.state in ("queued", "running", "paused"):
            locked.state = RedeliveryRun.State.CANCELLED
            locked.finished_at = now
        elif action == "resume" and (locked.state == RedeliveryRun.State.PAUSED or stale):
            locked.state = RedeliveryRun.State.QUEUED
            locked.executor = ""  # a task still finishing its record sees it is not its run
            locked.resume_at = None
            locked.message, locked.message_said = "", None
            _enqueue(locked)
        else:
            refusals = {
                "pause": _("The run is %(state)s: it cannot be paused now."),
                "resume": _("The run is %(state)s: it cannot be resumed now."),
                "cancel": _("The run is %(state)s: it cannot be cancelled now."),
            }
            raise RunStateError(refusals[action] % {"state": locked.get_state_display().lower()})
        if action in ("pause", "cancel"):
            locked.executor = ""
        locked.save(
            update_fields=[
                "state",
                "finished_at",
                "executor",
                "resume_at",
                "message",
                "message_said",
            ]
        )
        audit_entry_create(
            domain=locked.domain,
            kind=AuditEntry.Kind.REDELIVERY,
            action=AuditEntry.Action.RESEND,
            actor=actor,
            client_ip=client_ip,
            before={"run": locked.pk, "state": before},
            after={"run": locked.pk, "state": locked.state},
        )
    return locked


class RunStateError(Exception):
    pass


WAIT_MAX = dt.timedelta(minutes=5)  # a longer Retry-After pauses the run instead
WAITS_BEFORE_PAUSE = 5  # the receiver asked to wait this many times in a row: pause
SPIKE_WINDOW, SPIKE_FAILED = 20, 12  # of the last 20 sends, 12 failed: the receiver is down


def _claim(run_id: int, token: str) -> RedeliveryRun | None:
    """Take the run for this task, or None when it is not this task's to work on: paused,
    cancelled, done, or held by another task that is alive."""
    now = timezone.now()
    with transaction.atomic():
        run = RedeliveryRun.objects.select_for_update().get(pk=run_id)
        stale = run.heartbeat_at is None or now - run.heartbeat_at > STALE_RUN
        free = run.state == RedeliveryRun.State.QUEUED or (
            run.state == RedeliveryRun.State.RUNNING and (not run.executor or stale)
        )
        if not free or (run.resume_at and run.resume_at > now):
            return None
        # a task that lost the run (paused and resumed meanwhile) may still be waiting for
        # its last record's answer: the run goes on once that send is over, never beside it
        in_flight = RedeliveryAttempt.objects.filter(
            run=run,
            outcome=RedeliveryAttempt.Outcome.SENDING,
            created_at__gt=now - dt.timedelta(seconds=settings.CALLBACK_TEST_TIMEOUT + 5),
        )
        if in_flight.exists():
            _enqueue(run, at=now + dt.timedelta(seconds=1))
            return None
        run.state = RedeliveryRun.State.RUNNING
        run.executor = token
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.resume_at = None
        run.save(update_fields=["state", "executor", "started_at", "heartbeat_at", "resume_at"])
    return run


def _still_mine(run: RedeliveryRun, token: str) -> bool:
    return RedeliveryRun.objects.filter(
        pk=run.pk, state=RedeliveryRun.State.RUNNING, executor=token
    ).exists()


def _hand_over(run: RedeliveryRun, token: str, *, at=None, message: Sentence = NOTHING) -> None:
    """End this slice: the next task goes on (at `at`, when the receiver asked to wait)."""
    handed = RedeliveryRun.objects.filter(
        pk=run.pk, state=RedeliveryRun.State.RUNNING, executor=token
    ).update(executor="", resume_at=at, heartbeat_at=timezone.now(), **columns("message", message))
    if handed:
        _enqueue(run, at=at)


def _stop(run: RedeliveryRun, token: str, state: str, message: Sentence = NOTHING) -> None:
    fields = {"state": state, "executor": "", **columns("message", message)}
    if state == RedeliveryRun.State.DONE:
        fields.update(finished_at=timezone.now(), heartbeat_at=timezone.now())
    RedeliveryRun.objects.filter(
        pk=run.pk, state=RedeliveryRun.State.RUNNING, executor=token
    ).update(**fields)


def run_execute(run_id: int, *, slice_seconds: float | None = None) -> str:
    """One slice of a run (the background task): send its pending records, oldest first,
    for up to `slice_seconds`, then hand over to a new task, so a long run never holds a
    worker for hours. Stops when paused or cancelled; safe after a crash: a record this run
    has sent is never sent by it again."""
    token = str(uuid.uuid4())
    run = _claim(run_id, token)
    if run is None:
        return RedeliveryRun.objects.filter(pk=run_id).values_list("state", flat=True).first()
    # What a crashed worker left half-done is not sent again: it is marked unknown.
    RedeliveryAttempt.objects.filter(run=run, outcome=RedeliveryAttempt.Outcome.SENDING).update(
        outcome=RedeliveryAttempt.Outcome.UNKNOWN,
        **columns("error", STOPPED_WHILE_SENDING),
    )
    _recount(run)
    ends = time.monotonic() + (slice_seconds or settings.REDELIVERY_SLICE_SECONDS)
    targets: dict[str, Target] = {}
    pace = _Pace(run)
    try:
        for record in _pending_in_chunks(run):
            if not _still_mine(run, token):
                return RedeliveryRun.objects.get(pk=run.pk).state  # paused or cancelled
            if time.monotonic() >= ends:
                _hand_over(run, token)
                return RedeliveryRun.State.RUNNING
            kind = kind_of_record(record)
            if kind.name not in targets:
                targets[kind.name] = current_target(run.domain, kind)
            verdict = pace.after(_send_in_run(run, record, targets[kind.name]))
            if verdict is not None:
                state, at, message = verdict
                if state == RedeliveryRun.State.PAUSED:
                    _stop(run, token, state, message)
                else:
                    _hand_over(run, token, at=at, message=message)
                return state
    except (UpstreamError, NoCallback) as failure:  # stop, say why; resume when mended
        message = (
            Sentence(failure.describe()) if isinstance(failure, UpstreamError) else failure.why
        )
        _stop(run, token, RedeliveryRun.State.PAUSED, message)
        return RedeliveryRun.State.PAUSED
    _stop(run, token, RedeliveryRun.State.DONE)
    return RedeliveryRun.State.DONE


def retry_after(delivery: Delivery | None) -> float | None:
    """Seconds a receiver asked to wait (429 or 503 with Retry-After: seconds or an HTTP
    date), or None."""
    if delivery is None or delivery.status not in (429, 503):
        return None
    value = next((v for k, v in delivery.headers if k.lower() == "retry-after"), "")
    value = value.strip()
    if not value:
        return 30.0 if delivery.status == 429 else None  # 429 alone still means "slower"
    if value.isascii() and value.isdigit():  # "²" is a digit to isdigit(), not to float()
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


class _Pace:
    """Slows a run down when its receiver says so: waits when asked (429/503 with
    Retry-After), pauses when asked too long or too often, or when most recent sends
    failed — instead of hammering a receiver that is down."""

    def __init__(self, run: RedeliveryRun):
        self.run = run
        self.recent: list[bool] = []
        self.waits = 0

    def after(self, delivery: Delivery | None | bool):
        """(state, resume at, message) when the run must wait or pause, else None."""
        if delivery is False:  # skipped: says nothing about the receiver
            return None
        wait = retry_after(delivery) if delivery is not True else None
        if wait is not None:
            self.waits += 1
            if wait > WAIT_MAX.total_seconds() or self.waits >= WAITS_BEFORE_PAUSE:
                return (
                    RedeliveryRun.State.PAUSED,
                    None,
                    Sentence(
                        gettext_noop(
                            "Paused: the receiver answered HTTP %(status)s and asked to wait "
                            "%(seconds)d s. Resume when it is ready."
                        ),
                        {"status": delivery.status, "seconds": wait},
                    ),
                )
            at = timezone.now() + dt.timedelta(seconds=wait)
            return (
                RedeliveryRun.State.RUNNING,
                at,
                Sentence(
                    gettext_noop(
                        "Waiting: the receiver answered HTTP %(status)s and asked to wait "
                        "%(seconds)d s; going on at %(at)s."
                    ),
                    {"status": delivery.status, "seconds": wait, "at": at.isoformat()},
                ),
            )
        self.waits = 0
        ok = delivery is True or (delivery is not None and delivery.ok)
        self.recent = (self.recent + [ok])[-SPIKE_WINDOW:]
        failed = self.recent.count(False)
        if len(self.recent) >= SPIKE_WINDOW and failed >= SPIKE_FAILED:
            return (
                RedeliveryRun.State.PAUSED,
                None,
                Sentence(
                    gettext_noop(
                        "Paused: %(failed)d of the last %(n)d callbacks failed — the receiver "
                        "may be down. Resume when it is back."
                    ),
                    {"failed": failed, "n": len(self.recent)},
                ),
            )
        return None


def _pending(run: RedeliveryRun):
    """The run's records it has not finished with: never tried, or tried and told to wait."""
    done = RedeliveryAttempt.objects.filter(run=run).exclude(outcome=RedeliveryAttempt.Outcome.WAIT)
    return run_records(run).exclude(pk__in=done.values("record_id"))


def _pending_in_chunks(run: RedeliveryRun, size: int = 200):
    """`_pending`, read a chunk at a time with no cursor left open between chunks: on SQLite
    an open cursor holds its snapshot, and the run's writes on the same connection then fail
    ("database is locked") as soon as another process (the harvester) has written."""
    rows = _pending(run)
    while chunk := list(rows[:size]):
        yield from chunk
        last = chunk[-1]
        rows = _pending(run).filter(
            Q(notify_time__gt=last.notify_time) | Q(notify_time=last.notify_time, pk__gt=last.pk)
        )


BUSY = object()  # the record is being sent by someone else right now


def _attempt_for(run: RedeliveryRun, record: ArchivedRecord, target: Target):
    """This run's attempt row for the record, claimed for sending; None when another executor
    of the run has it; BUSY while someone else sends the record. A record the receiver asked
    to wait for keeps its row and is claimed again."""
    values = {
        "actor": run.created_by,
        "actor_name": run.created_by_name,
        "target_url": target.url,
        "signed": target.signed,
    }
    try:
        with transaction.atomic():
            if _being_sent(record, lock=True, run=run) is not None:
                return BUSY
            return RedeliveryAttempt.objects.create(record=record, run=run, **values)
    except IntegrityError:
        pass
    retried = RedeliveryAttempt.objects.filter(
        run=run, record=record, outcome=RedeliveryAttempt.Outcome.WAIT
    ).update(outcome=RedeliveryAttempt.Outcome.SENDING, created_at=timezone.now(), **values)
    return RedeliveryAttempt.objects.get(run=run, record=record) if retried else None


def _send_in_run(run: RedeliveryRun, record: ArchivedRecord, target: Target):
    """Send one record of the run; the Delivery (None when refused), or False when nothing
    was sent (skipped, or another executor had it). A record someone is resending right now
    waits for that send to end first (then counts as redelivered if it was)."""
    while _being_sent(record, run=run) is not None:
        time.sleep(0.25)  # at most SENDING_AT_MOST
    if (
        run.skip_redelivered
        and record.redeliveries.filter(outcome=RedeliveryAttempt.Outcome.DELIVERED).exists()
    ):
        try:
            RedeliveryAttempt.objects.create(
                record=record,
                run=run,
                actor=run.created_by,
                actor_name=run.created_by_name,
                outcome=RedeliveryAttempt.Outcome.SKIPPED,
            )
        except IntegrityError:
            return False
        _count(run, "skipped")
        return False
    _wait_for_slot(run.domain, run.rate_per_second)
    attempt = _attempt_for(run, record, target)  # claimed before it is sent
    if attempt is BUSY:  # someone pressed Resend just now: after theirs, from the top
        return _send_in_run(run, record, target)
    if attempt is None:
        return False
    try:
        delivery = _send(record, target)
    except SendRefused as refused:
        _finish(attempt, None, refused=refused)
        _count(run, "sent_failed")
        return None
    if retry_after(delivery) is not None:
        _finish(attempt, delivery)
        RedeliveryAttempt.objects.filter(pk=attempt.pk).update(
            outcome=RedeliveryAttempt.Outcome.WAIT
        )
        return delivery
    _finish(attempt, delivery)
    _count(run, "sent_ok" if attempt.ok else "sent_failed")
    return delivery


def _count(run: RedeliveryRun, field: str) -> None:
    RedeliveryRun.objects.filter(pk=run.pk).update(
        **{field: F(field) + 1}, heartbeat_at=timezone.now()
    )


def _recount(run: RedeliveryRun) -> None:
    """The counters from the attempts themselves (after a crash they may lag by one)."""
    attempts = RedeliveryAttempt.objects.filter(run=run)
    Outcome = RedeliveryAttempt.Outcome
    RedeliveryRun.objects.filter(pk=run.pk).update(
        sent_ok=attempts.filter(outcome=Outcome.DELIVERED).count(),
        sent_failed=attempts.filter(
            Q(outcome=Outcome.FAILED) | Q(outcome=Outcome.REFUSED) | Q(outcome=Outcome.UNKNOWN)
        ).count(),
        skipped=attempts.filter(outcome=Outcome.SKIPPED).count(),
    )
