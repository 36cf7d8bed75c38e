"""Writing: callback configs (save, delete, reveal), refreshing the cache, and the audit log.

Save: claim → Describe (the kind being saved) → conflict check → Add/Update → one short atomic
write of the cache and the audit entry. No database transaction is ever held open across a
call to the Live API. Concurrent saves are serialised by a short-lived claim on the domain
row, taken only when the version the editor was shown is still current: exactly one save per
version goes ahead.

Refresh and sync write what they fetched only if nothing was saved meanwhile: the config's
version must be the one read before the Describe, and no save may hold its claim. A fetch
that started before a save finished is older than the cache, and is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import last_change
from dashboard.audit.services import audit_entry_create
from dashboard.failures import UpstreamError
from dashboard.upstream import get_client, upstream_errors

from .kinds import KINDS, ConfigKind, kinds_for
from .models import ConfigState, Domain, SyncRun, key_fingerprint
from .selectors import upstream_config, upstream_mapping

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 60
NOT_FOUND_CODES = {"InvalidConfig.NotFound", "ConfigNotFound"}
DOMAIN_NOT_FOUND = "InvalidDomain.NotFound"


# --- errors a save can end with -----------------------------------------------------------


class ConflictError(Exception):
    """The config changed since the editor loaded the form.

    `reason` is an English template (it goes into the audit log as it is); pages translate it.
    `changed` is the audit entry of the change the editor has not seen, when it is known.
    """

    def __init__(self, *, current: dict | None, version: int, reason: str, changed=None):
        super().__init__(reason)
        self.current = current
        self.version = version
        self.reason = reason
        self.changed = changed


@dataclass(frozen=True)
class SaveResult:
    action: str
    request_id: str
    new_key: str  # the key just saved, shown once; "" when unchanged


APPLIED, NOT_APPLIED, UNKNOWN = "applied", "not applied", "unknown"


def _outcome_after(
    name: str, kind: ConfigKind, failure: UpstreamError, expected: dict | None
) -> str:
    """After a failure that may have been applied (no answer, 5xx), ask the Live API once.

    A change whose answer was lost is still a change: if upstream now holds exactly what was
    sent (None: no config), the save or delete counts as done, so cache and audit follow it.
    """
    if failure.refused:
        return NOT_APPLIED
    try:
        current = upstream_config(domain_name=name, kind=kind)
    except UpstreamError:
        return UNKNOWN
    return APPLIED if kind.state_of_upstream(current) == expected else NOT_APPLIED


LOST_ANSWER_NOTE = gettext_noop(
    "The answer was lost (%(code)s); a Describe confirmed the change was applied."
)


# --- claims: one save per version ----------------------------------------------------------


def _state(domain: Domain, kind: ConfigKind):
    """The domain's ConfigState row of `kind` (as a queryset), made if it is not there yet."""
    ConfigState.objects.get_or_create(domain_id=domain.pk, kind=kind.name)
    return ConfigState.objects.filter(domain_id=domain.pk, kind=kind.name)


def _claimed(domain: Domain, kind: ConfigKind, token: str):
    """The config's ConfigState row while `token` holds its claim (the claim made the row)."""
    return ConfigState.objects.filter(domain_id=domain.pk, kind=kind.name, claim=token)


def _claim(domain: Domain, kind: ConfigKind, expected_version: int) -> str:
    token = str(uuid.uuid4())
    now = timezone.now()
    claimed = (
        _state(domain, kind)
        .filter(version=expected_version)
        .filter(Q(claim="") | Q(claim_until__lt=now))
        .update(claim=token, claim_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        fresh = Domain.objects.get(pk=domain.pk)
        busy = fresh.version(kind) == expected_version
        raise ConflictError(
            current=kind.state_of_cached(fresh.config(kind)),
            version=fresh.version(kind),
            reason=gettext_noop("Someone else is saving this config right now.")
            if busy
            else gettext_noop("This config was changed after you opened the form."),
            changed=None if busy else last_change(domain=fresh, kind=kind),
        )
    return token


def _release(domain: Domain, kind: ConfigKind, token: str) -> None:
    _claimed(domain, kind, token).update(claim="", claim_until=None)


@dataclass(frozen=True)
class _Edit:
    """One save or delete in flight: what every audit entry about it shares."""

    domain: Domain
    kind: ConfigKind
    action: str
    actor: object
    client_ip: str | None
    before: dict | None
    rollback_of: AuditEntry | None = None
    batch: str = ""  # the config run the change belongs to ("config-run:12"), if any

    def audit(self, outcome: str, **fields) -> AuditEntry:
        return audit_entry_create(
            domain=self.domain,
            kind=self.kind,
            action=self.action,
            outcome=outcome,
            actor=self.actor,
            client_ip=self.client_ip,
            before=self.before,
            rollback_of=self.rollback_of,
            batch=self.batch,
            **fields,
        )

    def conflict(self, conflict: ConflictError) -> ConflictError:
        """Refused saves and deletes are part of the record too."""
        self.audit(
            AuditEntry.Outcome.CONFLICT,
            after=conflict.current,
            error_code="Conflict",
            error_message=conflict.reason,
        )
        return conflict

    def failed(
        self, failure: UpstreamError, *, after: dict | None = None, outcome: str = NOT_APPLIED
    ) -> UpstreamError:
        """Audit the failure; the error for the caller to raise."""
        self.audit(AuditEntry.Outcome.FAILED, after=after, error=failure)
        failure.outcome_unknown = outcome == UNKNOWN
        return failure

    def applied(self, *, token: str, after: dict | None, request_id: str, note: dict) -> None:
        """Inside the cache write's transaction: bump the version, release, audit."""
        kind = self.kind
        _claimed(self.domain, kind, token).update(
            version=F("version") + 1, claim="", claim_until=None
        )
        self.audit(AuditEntry.Outcome.SUCCESS, after=after, request_id=request_id, **note)


def _lost_answer(failure: UpstreamError) -> dict:
    return {"error_message": LOST_ANSWER_NOTE, "error_params": {"code": failure.code}}


# --- saving and deleting -------------------------------------------------------------------


def config_save(
    *,
    domain: Domain,
    kind: ConfigKind,
    data: dict,
    actor,
    expected_version: int,
    client_ip: str | None = None,
    rollback_of: AuditEntry | None = None,
    batch: str = "",
) -> SaveResult:
    """Create or update one callback config. Raises ConflictError or UpstreamError.

    `data` holds the validated form fields; an empty `notify_auth_key` keeps the current key.
    `rollback_of`: the audit entry whose earlier configuration this save restores; `batch`:
    the config run it is part of.
    """

    def edit_of(cached) -> _Edit:
        action = AuditEntry.Action.UPDATE if cached else AuditEntry.Action.ADD
        before = kind.state_of_cached(cached)
        return _Edit(domain, kind, action, actor, client_ip, before, rollback_of, batch)

    edit = edit_of(kind.model.objects.filter(domain=domain).first())
    try:
        token = _claim(domain, kind, expected_version)
    except ConflictError as conflict:
        raise edit.conflict(conflict) from None
    try:
        # Read again under the claim: no other save can write this config now.
        cached = kind.model.objects.filter(domain=domain).first()
        edit = edit_of(cached)
        try:
            current = upstream_config(domain_name=domain.name, kind=kind)
        except UpstreamError as failure:
            raise edit.failed(failure) from failure
        if not kind.cached_matches_upstream(cached, current):
            # Changed outside the dashboard (the console, another tool): record the drift,
            # bring the cache up to date and show the editor what is there now.
            _apply_upstream(domain, kind, current, claim_token=token)
            fresh = Domain.objects.get(pk=domain.pk)
            raise edit.conflict(
                ConflictError(
                    current=kind.state_of_upstream(current),
                    version=fresh.version(kind),
                    reason=gettext_noop(
                        "This config was changed outside the dashboard after you opened the form."
                    ),
                    changed=last_change(domain=fresh, kind=kind),
                )
            )
        new_key = data.get("notify_auth_key") or ""
        key = new_key or (current.notify_auth_key if current else "")
        values = kind.values_from(data)
        sent = kind.state(values, key_fingerprint(key))
        note: dict = {}
        try:
            request_id = _send(kind, domain.name, values, key, add=current is None)
        except UpstreamError as failure:
            outcome = _outcome_after(domain.name, kind, failure, sent)
            if outcome != APPLIED:
                raise edit.failed(failure, after=sent, outcome=outcome) from failure
            request_id, note = failure.request_id, _lost_answer(failure)
        with transaction.atomic():
            kind.model.objects.update_or_create(
                domain=domain, defaults={**values, "auth_key_fingerprint": key_fingerprint(key)}
            )
            edit.applied(token=token, after=sent, request_id=request_id, note=note)
        return SaveResult(action=edit.action, request_id=request_id, new_key=new_key)
    finally:
        _release(domain, kind, token)


def _send(kind: ConfigKind, name: str, values: dict, key: str, *, add: bool) -> str:
    client = get_client()
    if add:
        try:
            with upstream_errors():
                return kind.send(client, name, values, key, add=True)
        except UpstreamError as failure:
            if failure.code != "ConfigAlreadyExists":
                raise
            # Created meanwhile: Update is what the editor asked for.
    with upstream_errors():
        return kind.send(client, name, values, key, add=False)


def config_delete(
    *,
    domain: Domain,
    kind: ConfigKind,
    actor,
    expected_version: int,
    client_ip: str | None = None,
    batch: str = "",
) -> str:
    """Delete one callback config upstream and in the cache. Returns the RequestId."""
    cached = kind.model.objects.filter(domain=domain).first()
    edit = _Edit(
        domain,
        kind,
        AuditEntry.Action.DELETE,
        actor,
        client_ip,
        kind.state_of_cached(cached),
        batch=batch,
    )
    try:
        token = _claim(domain, kind, expected_version)
    except ConflictError as conflict:
        raise edit.conflict(conflict) from None
    note: dict = {}
    try:
        try:
            with upstream_errors():
                request_id = kind.delete(get_client(), domain.name)
        except UpstreamError as failure:
            if failure.code in NOT_FOUND_CODES:
                request_id = failure.request_id  # already gone upstream: the cache follows
            elif failure.code == DOMAIN_NOT_FOUND:
                raise edit.failed(failure) from failure
            else:
                outcome = _outcome_after(domain.name, kind, failure, None)
                if outcome != APPLIED:
                    raise edit.failed(failure, outcome=outcome) from failure
                request_id, note = failure.request_id, _lost_answer(failure)
        with transaction.atomic():
            kind.model.objects.filter(domain=domain).delete()
            edit.applied(token=token, after=None, request_id=request_id, note=note)
        return request_id
    finally:
        _release(domain, kind, token)


def auth_key_reveal(
    *, domain: Domain, kind: ConfigKind, actor, client_ip: str | None = None
) -> str:
    """Fetch the current auth key from upstream for an editor; every reveal is audited."""
    reveal = {
        "domain": domain,
        "kind": kind,
        "action": AuditEntry.Action.REVEAL,
        "actor": actor,
        "client_ip": client_ip,
    }
    try:
        config = upstream_config(domain_name=domain.name, kind=kind)
    except UpstreamError as failure:
        audit_entry_create(**reveal, outcome=AuditEntry.Outcome.FAILED, error=failure)
        raise
    audit_entry_create(**reveal, request_id=config.request_id if config else "")
    return config.notify_auth_key if config else ""


# --- refreshing the cache from upstream ------------------------------------------------------


@dataclass(frozen=True)
class UpstreamConfigs:
    """The configs of one domain (each kind it carries) as the Live API holds them, and the
    cache versions that were current before they were fetched."""

    domain: str
    configs: dict[str, object]
    versions: dict[str, int]
    # an ingest domain's mapped streaming domains; None: not asked (a streaming domain: its
    # ingest domain's answer says it) or not answered (the last known mapping is kept)
    mapped: list[str] | None = None


def configs_fetch(*, domain: Domain, deadline: float | None = None) -> UpstreamConfigs:
    """Describe each config one domain carries. Raises UpstreamError.

    `domain` must have been read from the database before this call: its versions are what a
    later `configs_apply` compares against.
    """
    kinds = kinds_for(domain)
    versions = {kind.name: domain.version(kind) for kind in kinds}
    configs = {
        kind.name: upstream_config(domain_name=domain.name, kind=kind, deadline=deadline)
        for kind in kinds
    }
    mapped = None
    if domain.domain_type == Domain.Type.INGEST:
        try:
            mapped = upstream_mapping(domain_name=domain.name, deadline=deadline)
        except UpstreamError as failure:  # the configs still count: the mapping waits
            logger.warning("mapping of %s not read: %s", domain.name, failure.describe())
    return UpstreamConfigs(domain=domain.name, configs=configs, versions=versions, mapped=mapped)


DRIFTED, UNCHANGED, SKIPPED = "drifted", "unchanged", "skipped"


def _apply_upstream(
    domain: Domain,
    kind: ConfigKind,
    upstream,
    *,
    seen_version: int | None = None,
    claim_token: str = "",
) -> str:
    """Bring one cached config in line with what upstream held; returns what happened.

    SKIPPED when a save holds the claim (other than `claim_token`) or the version moved past
    `seen_version`: the cache was written after this upstream state was read, so it is newer.
    """
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        state = _state(locked, kind).select_for_update().get()
        now = timezone.now()
        if (
            state.claim
            and state.claim != claim_token
            and state.claim_until
            and state.claim_until > now
        ):
            return SKIPPED
        if seen_version is not None and state.version != seen_version:
            return SKIPPED
        cached = kind.model.objects.filter(domain=locked).first()
        if kind.cached_matches_upstream(cached, upstream):
            if cached is not None and upstream is not None:
                # The same key under a rotated SECRET_KEY: re-fingerprint it quietly.
                fingerprint = key_fingerprint(upstream.notify_auth_key)
                if cached.auth_key_fingerprint != fingerprint:
                    kind.model.objects.filter(pk=cached.pk).update(auth_key_fingerprint=fingerprint)
            return UNCHANGED
        before = kind.state_of_cached(cached)
        if upstream is None:
            kind.model.objects.filter(domain=locked).delete()
        else:
            kind.model.objects.update_or_create(domain=locked, defaults=kind.cache_values(upstream))
        ConfigState.objects.filter(pk=state.pk).update(version=F("version") + 1)
        if locked.last_synced_at is None:
            return UNCHANGED  # the first sync fills the cache: nothing drifted
        audit_entry_create(
            domain=locked,
            kind=kind,
            action=AuditEntry.Action.DRIFT,
            before=before,
            after=kind.state_of_upstream(upstream),
            actor_name="sync",
        )
        return DRIFTED


@dataclass
class ApplyResult:
    drifted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def configs_apply(*, domain: Domain, upstream: UpstreamConfigs) -> ApplyResult:
    """Write what `configs_fetch` found, kind by kind, each in its own short transaction."""
    result = ApplyResult()
    for name, config in upstream.configs.items():
        kind = KINDS[name]
        outcome = _apply_upstream(domain, kind, config, seen_version=upstream.versions[name])
        if outcome == DRIFTED:
            result.drifted.append(name)
        elif outcome == SKIPPED:
            result.skipped.append(name)
            logger.info(
                "refresh of %s %s dropped: a save finished or is running", domain.name, name
            )
    if upstream.mapped is not None:
        with transaction.atomic():
            others = Domain.objects.filter(name__in=upstream.mapped).exclude(pk=domain.pk)
            domain.mapped.set(list(others))
    Domain.objects.filter(pk=domain.pk).update(last_synced_at=timezone.now(), sync_error="")
    return result


def domain_refresh(*, domain: Domain) -> ApplyResult:
    """Refresh one domain's configs from upstream (the Refresh button). Raises UpstreamError."""
    domain = Domain.objects.get(pk=domain.pk)  # versions as they are before the fetch
    try:
        upstream = configs_fetch(domain=domain)
    except UpstreamError as failure:
        Domain.objects.filter(pk=domain.pk).update(sync_error=failure.describe()[:500])
        raise
    return configs_apply(domain=domain, upstream=upstream)


SYNC_RUN_SILENT = dt.timedelta(minutes=30)
# kept in English and shown in the reader's language (templates/domains/sync_run.html)
SYNC_RUN_SILENT_MESSAGE = gettext_noop(
    "No word from the background worker for 30 minutes: is manage.py db_worker running? "
    "Marked failed."
)


def sync_run_start(actor, *, queue: Callable[[SyncRun], object]) -> tuple[SyncRun, bool]:
    """A press of "Sync all": a new queued run (True), its task queued by `queue` in the same
    transaction (a queued run without its task would stand in the way), or the run already
    queued or running (False) — two leads, or two tabs, pressing it at once make one run, not
    two full syncs against the Live API's rate limit (the database keeps one queued run). A run
    the worker has not reported on for SYNC_RUN_SILENT (since it was queued, or since the
    worker's last progress: a sync of many thousand domains takes longer and is not silent) is
    marked failed first, so that a dead worker's run does not stand in the way for ever; its
    worker, if it was only stuck, stops at its next report (domains.tasks)."""
    now = timezone.now()
    silent = Q(reported_at__isnull=True, created_at__lt=now - SYNC_RUN_SILENT) | Q(
        reported_at__lt=now - SYNC_RUN_SILENT
    )
    SyncRun.objects.filter(silent, state__in=SyncRun.OPEN).update(
        state=SyncRun.State.FAILED,
        finished_at=now,
        message=SYNC_RUN_SILENT_MESSAGE,
    )
    for _attempt in range(3):
        open_run = SyncRun.objects.filter(state__in=SyncRun.OPEN).select_related("started_by")
        if (run := open_run.first()) is not None:
            return run, False
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(started_by=actor)
                queue(run)
                return run, True
        except IntegrityError:  # another press queued one just now: follow it
            continue
    raise RuntimeError("no sync run could be queued or found")
