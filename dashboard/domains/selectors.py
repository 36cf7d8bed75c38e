"""Reading the cache: the domain list query and a domain's recent history."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .forms import DomainFilterForm
from .models import AuditEntry, Domain


def domain_list(*, filters: dict) -> QuerySet[Domain]:
    rows = Domain.objects.select_related("team", "record_config", "snapshot_config")
    if not filters.get("gone"):
        rows = rows.filter(gone_at__isnull=True)
    if filters.get("q"):
        rows = rows.filter(Q(name__icontains=filters["q"]) | Q(description__icontains=filters["q"]))
    if filters.get("type"):
        rows = rows.filter(domain_type=filters["type"])
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("team"):
        rows = rows.filter(team=filters["team"])
    configured = filters.get("configured")
    if configured == "record":
        rows = rows.filter(record_config__isnull=False)
    elif configured == "snapshot":
        rows = rows.filter(snapshot_config__isnull=False)
    elif configured == "both":
        rows = rows.filter(record_config__isnull=False, snapshot_config__isnull=False)
    elif configured == "none":
        rows = rows.filter(record_config__isnull=True, snapshot_config__isnull=True)
    order = DomainFilterForm.SORTS.get(filters.get("sort") or "name", "name")
    return rows.order_by(order, "name")


def domain_history(*, domain: Domain, limit: int = 20) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(domain=domain).select_related("actor")[:limit])
