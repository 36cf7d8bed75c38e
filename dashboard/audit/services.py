"""The audit log's one writer. Every app records what people did through `audit_entry_create`."""

from __future__ import annotations

from dashboard.contract.text import fitted
from dashboard.failures import UpstreamError

from .models import AuditEntry


def audit_entry_create(
    *,
    kind: str,
    action: str,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    domain=None,
    domain_name: str = "",
    actor=None,
    actor_name: str = "",
    client_ip: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    request_id: str = "",
    error: UpstreamError | None = None,
    error_code: str = "",
    error_message: str = "",
    error_params: dict | None = None,
    rollback_of: AuditEntry | None = None,
    batch: str = "",
) -> AuditEntry:
    """Append one entry. Messages of our own are stored as English templates with their
    parameters (gettext_noop), so every reader sees them in their own language; messages
    from the Live API are stored as Alibaba Cloud sent them."""
    signed_in = actor is not None and getattr(actor, "is_authenticated", False)
    if error is not None:
        error_code = error_code or error.code
        error_message = error_message or error.message
        request_id = request_id or error.request_id
    return AuditEntry.objects.create(
        actor=actor if signed_in else None,
        actor_name=_fit("actor_name", actor_name or (actor.get_username() if signed_in else "")),
        domain=domain,
        domain_name=_fit("domain_name", domain.name if domain is not None else domain_name),
        kind=str(kind),
        action=action,
        outcome=outcome,
        before=before,
        after=after,
        request_id=_fit("request_id", request_id),
        error_code=_fit("error_code", error_code),
        error_message=_fit("error_message", error_message),
        error_params=error_params,
        client_ip=client_ip,
        rollback_of=rollback_of,
        batch=batch,
    )


def _fit(field: str, text: str) -> str:
    """What the entry's column holds of `text` (the page that answered shows it whole)."""
    return fitted(AuditEntry, field, text)
