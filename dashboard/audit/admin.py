from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, here too."""

    list_display = [
        "created_at",
        "actor_name",
        "domain_name",
        "kind",
        "action",
        "outcome",
        "request_id",
    ]
    list_filter = ["action", "outcome", "kind"]
    search_fields = ["domain_name", "actor_name", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
