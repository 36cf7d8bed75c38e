"""Reading: the cache, the audit log, and the current upstream config of one domain."""

from __future__ import annotations

from django.db.models import QuerySet

from dashboard.upstream import get_client, upstream_errors

from .models import AuditEntry, Domain

CONFIG_ACTIONS = (
    AuditEntry.Action.ADD,
    AuditEntry.Action.UPDATE,
    AuditEntry.Action.DELETE,
    AuditEntry.Action.DRIFT,
)


def upstream_config(*, domain_name: str, kind, deadline: float | None = None):
    """The config of one kind as the Live API holds it now (None: not configured).

    Raises UpstreamError. Used by saves, refreshes, key reveals and test callbacks alike.
    """
    with upstream_errors():
        return kind.describe(get_client(), domain_name, deadline=deadline)


def upstream_health() -> dict:
    """Is the Live API failing right now (the client's circuit breaker is open)?"""
    return {"degraded": get_client().breaker.is_open}


def domain_get(*, name: str) -> Domain | None:
    """A domain by name, however its letters are cased (domain names are case-insensitive)."""
    return (
        Domain.objects.select_related("team", "record_config", "snapshot_config")
        .filter(name__iexact=name.strip().rstrip("."))
        .first()
    )


def streaming_domain_names() -> list[str]:
    return list(
        Domain.objects.filter(gone_at__isnull=True, domain_type=Domain.Type.STREAMING)
        .order_by("name")
        .values_list("name", flat=True)
    )


def editable_domain_names(*, user) -> list[str]:
    """The streaming domains whose callbacks (and keys) `user` may use: permissions.py's rule
    as a query."""
    rows = Domain.objects.filter(gone_at__isnull=True, domain_type=Domain.Type.STREAMING)
    if user.has_perm("domains.edit_any_callbacks"):
        pass
    elif user.has_perm("domains.edit_team_callbacks"):
        rows = rows.filter(team__members=user)
    else:
        return []
    return list(rows.order_by("name").values_list("name", flat=True).distinct())


def domain_history(*, domain: Domain, limit: int = 20) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(domain=domain).select_related("actor")[:limit])


def last_change(*, domain: Domain, kind) -> AuditEntry | None:
    """The latest successful change of one config: who changed it and when."""
    return (
        AuditEntry.objects.filter(
            domain=domain,
            kind=str(kind),
            action__in=CONFIG_ACTIONS,
            outcome=AuditEntry.Outcome.SUCCESS,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def audit_entries() -> QuerySet[AuditEntry]:
    """Every audit entry, newest first (the audit filter set narrows it)."""
    return AuditEntry.objects.select_related("actor", "domain")
