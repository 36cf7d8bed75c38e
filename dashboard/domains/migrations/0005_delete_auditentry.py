"""The audit log now lives in the audit app (its table stays where it is)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0004_audit_incidents_alerts_redelivery"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
