"""Sync: discover every upstream domain, then refresh both configs of each streaming domain.

Upstream calls run concurrently in a thread pool, paced by the client's shared rate budget;
every database write happens on the calling thread in short transactions, never while a
network call is outstanding. A domain's configs are written only if no save changed them
after they were fetched (services.configs_apply).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.utils import timezone

from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create
from dashboard.contract.text import fitted
from dashboard.failures import UpstreamError
from dashboard.upstream import get_client, upstream_errors

from .models import Domain
from .services import UpstreamConfigs, configs_apply, configs_fetch

logger = logging.getLogger(__name__)

SYNC_WORKERS = 16


@dataclass
class SyncReport:
    domains_seen: int = 0
    ingest_domains: int = 0
    created: int = 0
    gone: int = 0
    refreshed: int = 0
    drifted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def _fetch_in_thread(domain: Domain, deadline: float) -> UpstreamConfigs:
    try:
        return configs_fetch(domain=domain, deadline=deadline)
    finally:
        # The embedded sandbox opened this thread's own connections; do not leak them.
        connections.close_all()


def domains_discover(*, report: SyncReport) -> list[Domain]:
    """Upsert every upstream domain; mark those no longer upstream as gone.

    Returns the domains still upstream, read after the upsert: their config versions are the ones
    the following fetches are compared against.
    """
    with upstream_errors():
        upstream = list(get_client().iter_user_domains())
    report.domains_seen = len(upstream)
    now = timezone.now()
    names = set()
    with transaction.atomic():
        existing = {d.name: d for d in Domain.objects.select_for_update()}
        for item in upstream:
            names.add(item.name)
            # as much as the cache holds: Alibaba Cloud documents no limit for these (a status
            # or type it adds later may be longer than the ones it documents)
            values = {
                "domain_type": fitted(Domain, "domain_type", item.domain_type),
                "status": fitted(Domain, "status", item.status),
                "region": fitted(Domain, "region", item.region),
                "cname": fitted(Domain, "cname", item.cname),
                "description": fitted(Domain, "description", item.description),
                "gone_at": None,
            }
            if item.domain_type == Domain.Type.INGEST:
                report.ingest_domains += 1  # their configs are stream callbacks
            current = existing.get(item.name)
            if current is None:
                Domain.objects.create(name=item.name, **values)
                report.created += 1
            elif any(getattr(current, k) != v for k, v in values.items()):
                Domain.objects.filter(pk=current.pk).update(**values)
        for name, current in existing.items():
            if name not in names and current.gone_at is None:
                Domain.objects.filter(pk=current.pk).update(gone_at=now)
                audit_entry_create(
                    domain=current,
                    kind=AuditEntry.Kind.DOMAIN,
                    action=AuditEntry.Action.GONE,
                    actor_name="sync",
                )
                report.gone += 1
    return list(Domain.objects.filter(gone_at__isnull=True))


def domains_sync_all(
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = SYNC_WORKERS,
) -> SyncReport:
    """Discover domains, then refresh the configs of every one (recording and snapshot of the
    streaming domains, stream callbacks of the ingest domains)."""
    report = SyncReport()
    domains = domains_discover(report=report)
    total = len(domains)
    if progress:
        progress(0, total)
    done = 0
    if workers <= 1:
        results = ((d, lambda d=d: configs_fetch(domain=d, deadline=60.0)) for d in domains)
    else:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync")
        futures = {pool.submit(_fetch_in_thread, d, 60.0): d for d in domains}
        results = ((futures[f], f.result) for f in as_completed(futures))
    try:
        for domain, fetch in results:
            try:
                upstream = fetch()
            except UpstreamError as failure:
                message = failure.describe()
                report.failed.append((domain.name, message))
                Domain.objects.filter(pk=domain.pk).update(sync_error=message[:500])
                logger.warning("sync: %s failed: %s", domain.name, message)
            else:
                applied = configs_apply(domain=domain, upstream=upstream)
                report.drifted += bool(applied.drifted)
                report.refreshed += 1
            done += 1
            if progress:
                progress(done, total)
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    return report
