"""What administrators change in Django's admin goes into the audit log too: the admin
writes its own LogEntry for every add, change and delete, and each becomes an audit entry."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION

from .models import AuditEntry
from .services import audit_entry_create

ACTIONS = {
    ADDITION: AuditEntry.Action.ADD,
    CHANGE: AuditEntry.Action.UPDATE,
    DELETION: AuditEntry.Action.DELETE,
}


def admin_change_audit(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    label = model._meta.label_lower if model is not None else ""
    audit_entry_create(
        kind=AuditEntry.Kind.ADMIN,
        action=ACTIONS.get(instance.action_flag, AuditEntry.Action.UPDATE),
        actor=instance.user,
        domain_name=instance.object_repr[:253] if label == "domains.domain" else "",
        after={
            "model": label,
            "object": instance.object_repr[:200],
            "change": instance.get_change_message()[:500],
        },
    )
