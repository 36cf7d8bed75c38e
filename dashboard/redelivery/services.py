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
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.access import edit_refusal
from dashboard.archive.models import ArchivedRecord
from dashboard.archive.selectors import records_search
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.contract.api import parse_json_tolerant
from dashboard.domains.kinds import KINDS, ConfigKind
from dashboard.domains.models import Domain
from dashboard.domains.selectors import upstream_config
from dashboard.failures import UpstreamError
from dashboard.live.ratelimit import SlotLimiter
from dashboard.ops.shared import shared_store
from dashboard.receivers.sender import Delivery, SendRefused, deliver
from dashboard.receivers.services import live_signature_headers

from .models import RedeliveryAttempt, RedeliveryRun

REDELIVERY_HEADER = "X-Live-Redelivery"
ORIGINAL_TIME_HEADER = "X-Live-Original-Notify-Time"
RESPONSE_KEEP = 4096
STALE_RUN = dt.timedelta(seconds=60)  # a running run whose worker has not written for this long


class NoCallback(Exception):
    """The domain has no callback of the record's kind today: there is nowhere to send it."""


@dataclass(frozen=True)
class Target:
    kind: ConfigKind
    url: str
    key: str  # "" when signed callbacks are off

    @property
    def signed(self) -> bool:
        return bool(self.key)


def kind_of(record: ArchivedRecord) -> ConfigKind:
    """Snapshot callbacks go to the snapshot URL, everything else to the recording one."""
    return KINDS["snapshot"] if "snapshot" in record.notify_type.lower() else KINDS["record"]


def current_target(domain: Domain, kind: ConfigKind) -> Target:
    """The domain's callback of this kind as the Live API holds it now. Raises NoCallback or
    UpstreamError."""
    config = upstream_config(domain_name=domain.name, kind=kind)
    if config is None or not config.notify_url:
        raise NoCallback(
            _("%(domain)s has no %(kind)s callback now: there is nowhere to resend to.")
            % {"domain": domain.name, "kind": kind.label}
        )
    key = config.notify_auth_key if config.notify_req_auth else ""
    return Target(kind=kind, url=config.notify_url, key=key or "")


def content_type_of(record: ArchivedRecord) -> str:
    """The original request's Content-Type, where the record's NotifyHeader says it."""
    headers = parse_json_tolerant(record.notify_header)
    if isinstance(headers, dict):
        for name, value in headers.items():
            if str(name).lower() == "content-type" and value:
                return str(value)[:200]
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
    return deliver(
        url=target.url,
        body=body_of(record),
        headers=headers_of(record),
        sign=live_signature_headers(target.key),
    )


def _finish(attempt: RedeliveryAttempt, delivery: Delivery | None, refused=None) -> None:
    if refused is not None:
        attempt.outcome = RedeliveryAttempt.Outcome.REFUSED
        attempt.error = str(refused)[:500]
    else:
        attempt.outcome = (
            RedeliveryAttempt.Outcome.DELIVERED if delivery.ok else RedeliveryAttempt.Outcome.FAILED
        )
        attempt.status_code = delivery.status
        attempt.elapsed_ms = round(delivery.elapsed_ms)
        attempt.response = delivery.body[:RESPONSE_KEEP]
        attempt.error = "" if delivery.ok else delivery.message()[:500]
    attempt.save()


def _limiter() -> SlotLimiter:
    # shared by every process: Redis, or the database without it
    return SlotLimiter(shared_store(), prefix="redeliver")


def _wait_for_slot(domain: Domain, rate: float) -> None:
    """The per-domain redelivery rate, shared by every process using the same cache."""
    _limiter().acquire(domain.name, rate, deadline=time.time() + 3600)


# --- one record -----------------------------------------------------------------------------


def resend_one(*, record: ArchivedRecord, actor, client_ip=None) -> RedeliveryAttempt:
    """Send one archived callback again now. Raises PermissionDenied, NoCallback or
    UpstreamError (fetching the current config); a refused or failed send is an attempt."""
    domain = record.domain
    refusal = edit_refusal(actor, domain)
    if refusal:
        raise PermissionDenied(refusal)
    target = current_target(domain, kind_of(record))
    _wait_for_slot(domain, settings.REDELIVERY_RATE_PER_SECOND)
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
        error_message=attempt.error,
    )
    return attempt


# --- many records ---------------------------------------------------------------------------


def run_records(run: RedeliveryRun):
    """The run's records, oldest first: failed, of its domain, in its window and filters,
    archived before the run was made."""
    filters = dict(run.filters)
    filters["start"] = dt.datetime.fromisoformat(filters["start"])
    filters["end"] = dt.datetime.fromisoformat(filters["end"])
    filters["domain_id"] = run.domain_id
    filters["status"] = "failed"
    return (
        records_search(filters=filters)
        .filter(pk__lte=run.max_record_id)
        .order_by("notify_time", "id")
    )


def run_filters(cleaned: dict) -> dict:
    """The explorer's filters as a run keeps them (absolute window, JSON-safe)."""
    keep = ("app", "stream", "type", "failure", "http", "q")
    filters = {name: cleaned.get(name) for name in keep if cleaned.get(name)}
    filters["start"] = cleaned["start"].astimezone(dt.UTC).isoformat()
    filters["end"] = cleaned["end"].astimezone(dt.UTC).isoformat()
    return filters


def run_create(
    *, domain: Domain, filters: dict, query: str, actor, skip_redelivered: bool, client_ip=None
) -> RedeliveryRun:
    refusal = edit_refusal(actor, domain)
    if refusal:
        raise PermissionDenied(refusal)
    newest = ArchivedRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
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
    _enqueue(run)
    return run


def _enqueue(run: RedeliveryRun) -> None:
    from .tasks import redelivery_run_task

    transaction.on_commit(lambda: redelivery_run_task.enqueue(run.pk))


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
            _enqueue(locked)
        else:
            refusals = {
                "pause": _("The run is %(state)s: it cannot be paused now."),
                "resume": _("The run is %(state)s: it cannot be resumed now."),
                "cancel": _("The run is %(state)s: it cannot be cancelled now."),
            }
            raise RunStateError(refusals[action] % {"state": locked.get_state_display().lower()})
        locked.save(update_fields=["state", "finished_at"])
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


def run_execute(run_id: int, *, sleep=time.sleep) -> str:
    """Work through a run (the background task). Stops when paused or cancelled; safe to run
    again after a crash: a record this run has touched is never sent by it again."""
    with transaction.atomic():
        run = RedeliveryRun.objects.select_for_update().get(pk=run_id)
        if run.state != RedeliveryRun.State.QUEUED and not (
            run.state == RedeliveryRun.State.RUNNING
            and (run.heartbeat_at is None or timezone.now() - run.heartbeat_at > STALE_RUN)
        ):
            return run.state
        run.state = RedeliveryRun.State.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["state", "started_at", "heartbeat_at"])
    # What a crashed worker left half-done is not sent again: it is marked unknown.
    RedeliveryAttempt.objects.filter(run=run, outcome=RedeliveryAttempt.Outcome.SENDING).update(
        outcome=RedeliveryAttempt.Outcome.UNKNOWN,
        error="The worker stopped while sending; this run does not send it again.",
    )
    _recount(run)
    targets: dict[str, Target] = {}
    try:
        for record in _pending(run).iterator(chunk_size=200):
            state = RedeliveryRun.objects.filter(pk=run.pk).values_list("state", flat=True).first()
            if state != RedeliveryRun.State.RUNNING:
                return state  # paused or cancelled from the page
            kind = kind_of(record)
            if kind.name not in targets:
                targets[kind.name] = current_target(run.domain, kind)
            _send_in_run(run, record, targets[kind.name])
    except (UpstreamError, NoCallback) as failure:  # stop, say why; resume when mended
        message = failure.describe() if isinstance(failure, UpstreamError) else str(failure)
        RedeliveryRun.objects.filter(pk=run.pk, state=RedeliveryRun.State.RUNNING).update(
            state=RedeliveryRun.State.PAUSED, message=message[:500]
        )
        return RedeliveryRun.State.PAUSED
    RedeliveryRun.objects.filter(pk=run.pk, state=RedeliveryRun.State.RUNNING).update(
        state=RedeliveryRun.State.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    return RedeliveryRun.State.DONE


def _pending(run: RedeliveryRun):
    return run_records(run).exclude(redeliveries__run=run)


def _send_in_run(run: RedeliveryRun, record: ArchivedRecord, target: Target) -> None:
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
            return
        _count(run, "skipped")
        return
    _wait_for_slot(run.domain, run.rate_per_second)
    try:
        # Claimed before it is sent: the unique (run, record) row is the guarantee.
        with transaction.atomic():
            attempt = RedeliveryAttempt.objects.create(
                record=record,
                run=run,
                actor=run.created_by,
                actor_name=run.created_by_name,
                target_url=target.url,
                signed=target.signed,
            )
    except IntegrityError:
        return
    try:
        _finish(attempt, _send(record, target))
    except SendRefused as refused:
        _finish(attempt, None, refused=refused)
    _count(run, "sent_ok" if attempt.ok else "sent_failed")


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
