"""Refresh the cache from the Live API: domains (all pages) and both configs of each.

Upstream calls run concurrently in a thread pool, paced by the client's shared rate budget;
every database write happens on the calling thread in short transactions, never while a
network call is outstanding.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.live import LiveApiError, get_client
from dashboard.live import RecordNotifyConfig as UpstreamRecord
from dashboard.live import SnapshotNotifyConfig as UpstreamSnapshot

from .models import AuditEntry, Domain, RecordNotifyConfig, SnapshotNotifyConfig, key_fingerprint

logger = logging.getLogger(__name__)

SYNC_WORKERS = 16


@dataclass
class SyncReport:
    domains_seen: int = 0
    created: int = 0
    gone: int = 0
    refreshed: int = 0
    drifted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class UpstreamConfigs:
    domain: str
    record: UpstreamRecord | None
    snapshot: UpstreamSnapshot | None


def fetch_configs(name: str, *, deadline: float | None = None) -> UpstreamConfigs:
    client = get_client()
    return UpstreamConfigs(
        domain=name,
        record=client.describe_record_notify_config(name, deadline=deadline),
        snapshot=client.describe_snapshot_notify_config(name, deadline=deadline),
    )


def _fetch_in_thread(name: str, deadline: float) -> UpstreamConfigs:
    try:
        return fetch_configs(name, deadline=deadline)
    finally:
        # The embedded sandbox opened this thread's own connections; do not leak them.
        connections.close_all()


def _record_values(up: UpstreamRecord) -> dict:
    return {
        "notify_url": up.notify_url,
        "on_demand_url": up.on_demand_url,
        "need_status_notify": up.need_status_notify,
        "notify_req_auth": up.notify_req_auth,
        "auth_key_fingerprint": key_fingerprint(up.notify_auth_key),
    }


def _snapshot_values(up: UpstreamSnapshot) -> dict:
    return {
        "notify_url": up.notify_url,
        "notify_req_auth": up.notify_req_auth,
        "auth_key_fingerprint": key_fingerprint(up.notify_auth_key),
    }


def _apply_one(domain: Domain, kind: str, model, current, values: dict | None) -> bool:
    """Bring one cached config in line with upstream; True when it drifted."""
    before = current.snapshot() if current else None
    if values is None:
        if current is None:
            return False
        current.delete()
        after = None
    else:
        if current is not None and all(getattr(current, k) == v for k, v in values.items()):
            return False
        if current is None:
            current = model(domain=domain, **values)
        else:
            for k, v in values.items():
                setattr(current, k, v)
        current.save()
        after = current.snapshot()
    version_field = f"{kind}_version"
    Domain.objects.filter(pk=domain.pk).update(**{version_field: F(version_field) + 1})
    first_sync = domain.last_synced_at is None
    if not first_sync:
        AuditEntry.objects.create(
            domain=domain,
            domain_name=domain.name,
            kind=kind,
            action=AuditEntry.Action.DRIFT,
            outcome=AuditEntry.Outcome.SUCCESS,
            before=before,
            after=after,
            actor_name="sync",
        )
    return not first_sync


def apply_configs(domain: Domain, upstream: UpstreamConfigs) -> bool:
    """Write both configs to the cache in one short transaction; True when any drifted."""
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        drift = _apply_one(
            locked,
            "record",
            RecordNotifyConfig,
            RecordNotifyConfig.objects.filter(domain=locked).first(),
            _record_values(upstream.record) if upstream.record else None,
        )
        drift |= _apply_one(
            locked,
            "snapshot",
            SnapshotNotifyConfig,
            SnapshotNotifyConfig.objects.filter(domain=locked).first(),
            _snapshot_values(upstream.snapshot) if upstream.snapshot else None,
        )
        Domain.objects.filter(pk=locked.pk).update(last_synced_at=timezone.now(), sync_error="")
    return drift


def domain_refresh(*, domain: Domain) -> bool:
    """Refresh one domain's configs from upstream (the Refresh button). Raises LiveApiError."""
    try:
        upstream = fetch_configs(domain.name)
    except LiveApiError as error:
        Domain.objects.filter(pk=domain.pk).update(sync_error=_describe_error(error)[:500])
        raise
    return apply_configs(domain, upstream)


def _describe_error(error: LiveApiError) -> str:
    if error.request_id:
        return f"{error.code}: {error.message} (RequestId {error.request_id})"
    return f"{type(error).__name__}: {error.message}"


def domains_discover(*, report: SyncReport) -> list[Domain]:
    """Upsert every upstream domain; mark those no longer upstream as gone."""
    upstream = list(get_client().iter_user_domains())
    report.domains_seen = len(upstream)
    now = timezone.now()
    names = set()
    with transaction.atomic():
        existing = {d.name: d for d in Domain.objects.select_for_update()}
        for item in upstream:
            names.add(item.name)
            values = {
                "domain_type": item.domain_type,
                "status": item.status,
                "region": item.region,
                "cname": item.cname,
                "description": item.description,
                "gone_at": None,
            }
            if item.domain_type != Domain.Type.STREAMING:
                # Ingest domains carry no callback configs: discovering them is their sync.
                values["last_synced_at"] = now
            current = existing.get(item.name)
            if current is None:
                Domain.objects.create(name=item.name, **values)
                report.created += 1
            elif any(getattr(current, k) != v for k, v in values.items()):
                Domain.objects.filter(pk=current.pk).update(**values)
        for name, current in existing.items():
            if name not in names and current.gone_at is None:
                Domain.objects.filter(pk=current.pk).update(gone_at=now)
                AuditEntry.objects.create(
                    domain=current,
                    domain_name=name,
                    kind=AuditEntry.Kind.DOMAIN,
                    action=AuditEntry.Action.GONE,
                    outcome=AuditEntry.Outcome.SUCCESS,
                    actor_name="sync",
                )
                report.gone += 1
    return list(Domain.objects.filter(gone_at__isnull=True, domain_type=Domain.Type.STREAMING))


def domains_sync_all(
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = SYNC_WORKERS,
) -> SyncReport:
    """Discover domains, then refresh both configs of every streaming domain."""
    report = SyncReport()
    domains = domains_discover(report=report)
    total = len(domains)
    if progress:
        progress(0, total)
    done = 0
    if workers <= 1:
        results = ((d, lambda d=d: fetch_configs(d.name, deadline=60.0)) for d in domains)
    else:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync")
        futures = {pool.submit(_fetch_in_thread, d.name, 60.0): d for d in domains}
        results = ((futures[f], f.result) for f in as_completed(futures))
    try:
        for domain, fetch in results:
            try:
                upstream = fetch()
            except LiveApiError as error:
                message = _describe_error(error)
                report.failed.append((domain.name, message))
                Domain.objects.filter(pk=domain.pk).update(sync_error=message[:500])
                logger.warning("sync: %s failed: %s", domain.name, message)
            else:
                report.drifted += apply_configs(domain, upstream)
                report.refreshed += 1
            done += 1
            if progress:
                progress(done, total)
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    return report
