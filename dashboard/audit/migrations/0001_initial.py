"""The audit log moves from the domains app to its own, keeping its table (domains_auditentry)
and its rows: only Django's idea of where the model lives changes. The content type moves
with it, so the leads' permission to read the log stays the same row."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="audit", model="auditentry").exists():
        ContentType.objects.filter(app_label="domains", model="auditentry").update(
            app_label="audit"
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("domains", "0004_audit_incidents_alerts_redelivery"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("actor_name", models.CharField(blank=True, max_length=150)),
                        ("domain_name", models.CharField(db_index=True, max_length=253)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("record", "Recording callback"),
                                    ("snapshot", "Snapshot callback"),
                                    ("domain", "Domain"),
                                    ("person", "Person"),
                                    ("incident", "Incident"),
                                    ("alert", "Alert rule"),
                                    ("redelivery", "Redelivery"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("add", "Add"),
                                    ("update", "Update"),
                                    ("delete", "Delete"),
                                    ("reveal", "Reveal key"),
                                    ("drift", "Drift"),
                                    ("gone", "Gone upstream"),
                                    ("test", "Test callback"),
                                    ("role", "Role and teams"),
                                    ("acknowledge", "Acknowledge"),
                                    ("resolve", "Resolve"),
                                    ("mute", "Mute"),
                                    ("reopen", "Reopen"),
                                    ("note", "Note"),
                                    ("resend", "Resend"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("success", "Success"),
                                    ("failed", "Failed"),
                                    ("conflict", "Conflict"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        ("request_id", models.CharField(blank=True, max_length=64)),
                        ("error_code", models.CharField(blank=True, max_length=100)),
                        ("error_message", models.TextField(blank=True)),
                        ("error_params", models.JSONField(blank=True, null=True)),
                        ("client_ip", models.GenericIPAddressField(blank=True, null=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "domain",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="domains.domain",
                            ),
                        ),
                        (
                            "rollback_of",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="rollbacks",
                                to="audit.auditentry",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "audit entry",
                        "verbose_name_plural": "audit entries",
                        "db_table": "domains_auditentry",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
