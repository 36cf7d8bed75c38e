"""Writing callback configs: validate → claim → Describe → conflict check → Add/Update →
one short atomic write of the cache and the audit entry.

No database transaction is ever held open across a call to the Live API. Concurrent saves
are serialised by a short-lived claim on the domain row, taken only when the version the
editor was shown is still current: exactly one save per version can go ahead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from dashboard.live import (
    ConfigAlreadyExistsError,
    LiveApiError,
    NotFoundError,
    get_client,
    is_ambiguous,
)

from .models import AuditEntry, Domain, RecordNotifyConfig, SnapshotNotifyConfig, key_fingerprint
from .sync import UpstreamConfigs, apply_configs, fetch_configs

RECORD = "record"
SNAPSHOT = "snapshot"
KINDS = (RECORD, SNAPSHOT)
CLAIM_SECONDS = 60


class ConflictError(Exception):
    """The config changed since the editor loaded the form.

    `reason` is English (it goes into the audit log as it is); pages translate it.
    """

    def __init__(self, *, current: dict | None, version: int, reason: str):
        super().__init__(reason)
        self.current = current
        self.version = version
        self.reason = reason


class UpstreamFailure(Exception):
    """The Live API refused or failed; nothing was written to the cache.

    `refused`: the API answered no. Otherwise it did not answer (5xx, no connection) and a
    Describe afterwards found the change not applied — or, with `outcome_unknown`, could not
    tell.
    """

    def __init__(self, error: LiveApiError, *, outcome_unknown: bool = False):
        super().__init__(str(error))
        self.error = error
        self.code = error.code or type(error).__name__
        self.message = error.message
        self.request_id = error.request_id
        self.refused = not is_ambiguous(error)
        self.outcome_unknown = outcome_unknown


@dataclass(frozen=True)
class SaveResult:
    action: str
    request_id: str
    new_key: str  # the key just saved, shown once; "" when unchanged


def _model(kind: str):
    return RecordNotifyConfig if kind == RECORD else SnapshotNotifyConfig


def cached_config(domain: Domain, kind: str):
    return _model(kind).objects.filter(domain=domain).first()


def _snapshot_of(config) -> dict | None:
    return config.snapshot() if config is not None else None


def upstream_snapshot(kind: str, upstream: UpstreamConfigs) -> dict | None:
    config = upstream.record if kind == RECORD else upstream.snapshot
    if config is None:
        return None
    values = {
        "notify_url": config.notify_url,
        "notify_req_auth": config.notify_req_auth,
        "auth_key": "set" if config.notify_auth_key else "",
        "auth_key_fingerprint": key_fingerprint(config.notify_auth_key)[:12],
    }
    if kind == RECORD:
        values.update(
            on_demand_url=config.on_demand_url, need_status_notify=config.need_status_notify
        )
    return values


APPLIED, NOT_APPLIED, UNKNOWN = "applied", "not applied", "unknown"


def _outcome_after(name: str, kind: str, error: LiveApiError, expected: dict | None) -> str:
    """After a failure that may have been applied (no answer, 5xx), ask the Live API once.

    A change whose answer was lost is still a change: if upstream now holds exactly what was
    sent (None: no config), the save or delete counts as done, so cache and audit follow it.
    """
    if not is_ambiguous(error):
        return NOT_APPLIED  # a refusal
    try:
        upstream = fetch_configs(name)
    except LiveApiError:
        return UNKNOWN
    return APPLIED if upstream_snapshot(kind, upstream) == expected else NOT_APPLIED


def _lost_answer_note(error: LiveApiError) -> str:
    return (
        f"The answer was lost ({error.code or type(error).__name__}); "
        "a Describe confirmed the change was applied."
    )


def _claim(domain: Domain, kind: str, expected_version: int) -> str:
    token = str(uuid.uuid4())
    now = timezone.now()
    claimed = (
        Domain.objects.filter(pk=domain.pk, **{f"{kind}_version": expected_version})
        .filter(Q(**{f"{kind}_claim": ""}) | Q(**{f"{kind}_claim_until__lt": now}))
        .update(
            **{
                f"{kind}_claim": token,
                f"{kind}_claim_until": now + dt.timedelta(seconds=CLAIM_SECONDS),
            }
        )
    )
    if not claimed:
        fresh = Domain.objects.get(pk=domain.pk)
        busy = getattr(fresh, f"{kind}_version") == expected_version
        raise ConflictError(
            current=_snapshot_of(cached_config(fresh, kind)),
            version=getattr(fresh, f"{kind}_version"),
            reason=gettext_noop("Someone else is saving this config right now.")
            if busy
            else gettext_noop("This config was changed after you opened the form."),
        )
    return token


def _release(domain: Domain, kind: str, token: str) -> None:
    Domain.objects.filter(pk=domain.pk, **{f"{kind}_claim": token}).update(
        **{f"{kind}_claim": "", f"{kind}_claim_until": None}
    )


def _audit(
    *,
    domain,
    kind,
    action,
    outcome,
    actor,
    client_ip,
    before=None,
    after=None,
    request_id="",
    error: LiveApiError | None = None,
    error_code: str = "",
    error_message: str = "",
) -> AuditEntry:
    if error is not None:
        error_code = error.code or type(error).__name__
        error_message = error.message
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=getattr(actor, "username", "") or "",
        domain=domain,
        domain_name=domain.name,
        kind=kind,
        action=action,
        outcome=outcome,
        before=before,
        after=after,
        request_id=request_id or (error.request_id if error else ""),
        error_code=error_code,
        error_message=error_message,
        client_ip=client_ip,
    )


def _upstream_matches_cache(domain: Domain, kind: str, upstream: UpstreamConfigs) -> bool:
    return upstream_snapshot(kind, upstream) == _snapshot_of(cached_config(domain, kind))


def _audited_conflict(func):
    """Refused saves and deletes are part of the record too: audit each conflict."""

    def wrapper(*, domain, kind, actor, client_ip=None, **kwargs):
        try:
            return func(domain=domain, kind=kind, actor=actor, client_ip=client_ip, **kwargs)
        except ConflictError as conflict:
            if func.__name__ == "config_delete":
                action = AuditEntry.Action.DELETE
            elif cached_config(domain, kind) is not None:
                action = AuditEntry.Action.UPDATE
            else:
                action = AuditEntry.Action.ADD
            _audit(
                domain=domain,
                kind=kind,
                action=action,
                outcome=AuditEntry.Outcome.CONFLICT,
                actor=actor,
                client_ip=client_ip,
                after=conflict.current,
                error_code="Conflict",
                error_message=conflict.reason,
            )
            raise

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@dataclass(frozen=True)
class _Edit:
    """One save or delete in flight: what every audit entry about it shares."""

    domain: Domain
    kind: str
    action: str
    actor: object
    client_ip: str | None
    before: dict | None

    def _audit(self, outcome: str, **fields) -> None:
        _audit(
            domain=self.domain,
            kind=self.kind,
            action=self.action,
            outcome=outcome,
            actor=self.actor,
            client_ip=self.client_ip,
            before=self.before,
            **fields,
        )

    def failed(
        self, error: LiveApiError, *, after: dict | None = None, outcome: str = NOT_APPLIED
    ) -> UpstreamFailure:
        """Audit the failure; the exception for the caller to raise."""
        self._audit(AuditEntry.Outcome.FAILED, after=after, error=error)
        return UpstreamFailure(error, outcome_unknown=outcome == UNKNOWN)

    def applied(self, *, token: str, after: dict | None, request_id: str, note: str) -> None:
        """Inside the cache write's transaction: bump the version, release, audit."""
        kind = self.kind
        Domain.objects.filter(pk=self.domain.pk, **{f"{kind}_claim": token}).update(
            **{
                f"{kind}_version": F(f"{kind}_version") + 1,
                f"{kind}_claim": "",
                f"{kind}_claim_until": None,
            }
        )
        self._audit(
            AuditEntry.Outcome.SUCCESS, after=after, request_id=request_id, error_message=note
        )


@_audited_conflict
def config_save(
    *,
    domain: Domain,
    kind: str,
    data: dict,
    actor,
    expected_version: int,
    client_ip: str | None = None,
) -> SaveResult:
    """Create or update one callback config. Raises ConflictError or UpstreamFailure.

    `data` holds the validated form fields; an empty `notify_auth_key` keeps the current key.
    """
    token = _claim(domain, kind, expected_version)
    before = _snapshot_of(cached_config(domain, kind))
    action = AuditEntry.Action.UPDATE if before else AuditEntry.Action.ADD
    edit = _Edit(domain, kind, action, actor, client_ip, before)
    client = get_client()
    try:
        try:
            upstream = fetch_configs(domain.name)
        except LiveApiError as error:
            raise edit.failed(error) from error
        if not _upstream_matches_cache(domain, kind, upstream):
            # Changed outside the dashboard (the console, another tool): record the drift,
            # bring the cache up to date and show the editor what is there now.
            apply_configs(domain, upstream)
            fresh = Domain.objects.get(pk=domain.pk)
            raise ConflictError(
                current=upstream_snapshot(kind, upstream),
                version=getattr(fresh, f"{kind}_version"),
                reason=gettext_noop(
                    "This config was changed outside the dashboard after you opened the form."
                ),
            )
        current_up = upstream.record if kind == RECORD else upstream.snapshot
        new_key = data.get("notify_auth_key") or ""
        key = new_key or (current_up.notify_auth_key if current_up else "")
        auth = bool(data.get("notify_req_auth"))
        sent = _masked_after(kind, data, key, auth)
        note = ""
        try:
            request_id = _send_save(
                client, kind, domain.name, data, key, auth, exists=current_up is not None
            )
        except LiveApiError as error:
            outcome = _outcome_after(domain.name, kind, error, sent)
            if outcome != APPLIED:
                raise edit.failed(error, after=sent, outcome=outcome) from error
            request_id, note = error.request_id, _lost_answer_note(error)
        with transaction.atomic():
            values = {
                "notify_url": data["notify_url"],
                "notify_req_auth": auth,
                "auth_key_fingerprint": key_fingerprint(key),
            }
            if kind == RECORD:
                values.update(
                    on_demand_url=data.get("on_demand_url") or "",
                    need_status_notify=bool(data.get("need_status_notify")),
                )
            config, _ = _model(kind).objects.update_or_create(domain=domain, defaults=values)
            edit.applied(token=token, after=config.snapshot(), request_id=request_id, note=note)
        return SaveResult(action=action, request_id=request_id, new_key=new_key)
    finally:
        _release(domain, kind, token)


def _masked_after(kind: str, data: dict, key: str, auth: bool) -> dict:
    after = {
        "notify_url": data.get("notify_url", ""),
        "notify_req_auth": auth,
        "auth_key": "set" if key else "",
        "auth_key_fingerprint": key_fingerprint(key)[:12],
    }
    if kind == RECORD:
        after.update(
            on_demand_url=data.get("on_demand_url") or "",
            need_status_notify=bool(data.get("need_status_notify")),
        )
    return after


def _send_save(
    client, kind: str, name: str, data: dict, key: str, auth: bool, *, exists: bool
) -> str:
    if kind == RECORD:
        kwargs = {
            "on_demand_url": data.get("on_demand_url") or "",
            "need_status_notify": bool(data.get("need_status_notify")),
            "notify_req_auth": auth,
            "notify_auth_key": key or None,
        }
        if not exists:
            try:
                return client.add_record_notify_config(name, data["notify_url"], **kwargs)
            except ConfigAlreadyExistsError:
                pass  # created meanwhile: Update is what the editor asked for
        return client.update_record_notify_config(name, data["notify_url"], **kwargs)
    kwargs = {"notify_req_auth": auth, "notify_auth_key": key or None}
    if not exists:
        try:
            return client.add_snapshot_notify_config(name, data["notify_url"], **kwargs)
        except ConfigAlreadyExistsError:
            pass
    return client.update_snapshot_notify_config(name, notify_url=data["notify_url"], **kwargs)


@_audited_conflict
def config_delete(
    *, domain: Domain, kind: str, actor, expected_version: int, client_ip: str | None = None
) -> str:
    """Delete one callback config upstream and in the cache. Returns the RequestId."""
    token = _claim(domain, kind, expected_version)
    before = _snapshot_of(cached_config(domain, kind))
    edit = _Edit(domain, kind, AuditEntry.Action.DELETE, actor, client_ip, before)
    client = get_client()
    note = ""
    try:
        try:
            if kind == RECORD:
                request_id = client.delete_record_notify_config(domain.name)
            else:
                request_id = client.delete_snapshot_notify_config(domain.name)
        except NotFoundError as error:
            if error.code == "InvalidDomain.NotFound":
                raise edit.failed(error) from error
            request_id = error.request_id  # already gone upstream: the cache follows
        except LiveApiError as error:
            outcome = _outcome_after(domain.name, kind, error, None)
            if outcome != APPLIED:
                raise edit.failed(error, outcome=outcome) from error
            request_id, note = error.request_id, _lost_answer_note(error)
        with transaction.atomic():
            _model(kind).objects.filter(domain=domain).delete()
            edit.applied(token=token, after=None, request_id=request_id, note=note)
        return request_id
    finally:
        _release(domain, kind, token)


def auth_key_reveal(*, domain: Domain, kind: str, actor, client_ip: str | None = None) -> str:
    """Fetch the current auth key from upstream for an editor; every reveal is audited."""
    client = get_client()
    try:
        if kind == RECORD:
            config = client.describe_record_notify_config(domain.name)
        else:
            config = client.describe_snapshot_notify_config(domain.name)
    except LiveApiError as error:
        _audit(
            domain=domain,
            kind=kind,
            action=AuditEntry.Action.REVEAL,
            outcome=AuditEntry.Outcome.FAILED,
            actor=actor,
            client_ip=client_ip,
            error=error,
        )
        raise UpstreamFailure(error) from error
    key = config.notify_auth_key if config else ""
    _audit(
        domain=domain,
        kind=kind,
        action=AuditEntry.Action.REVEAL,
        outcome=AuditEntry.Outcome.SUCCESS,
        actor=actor,
        client_ip=client_ip,
        request_id=config.request_id if config else "",
    )
    return key
