from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dashboard.audit"
    label = "audit"

    def ready(self):
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from .signals import admin_change_audit

        post_save.connect(admin_change_audit, sender=LogEntry, dispatch_uid="audit-admin-changes")
