"""App and stream names once per domain (ArchivedName), searched by substring before the
records; on PostgreSQL the trigram index moves from the records' app and stream columns
(millions of rows) to the names (thousands)."""

import django.db.models.deletion
from django.db import migrations, models


def trigram_on_names(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS archived_name_trgm ON archive_archivedname "
        "USING gin ((UPPER((name)::text)) gin_trgm_ops)"
    )
    for column in ("app_name", "stream_name"):
        schema_editor.execute(f"DROP INDEX IF EXISTS arch_{column}_trgm")


def trigram_on_records(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS archived_name_trgm")
    for column in ("app_name", "stream_name"):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS arch_{column}_trgm ON archive_archivedrecord "
            f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0003_dailyrollup"),
        ("domains", "0004_audit_incidents_alerts_redelivery"),
    ]

    operations = [
        migrations.CreateModel(
            name="ArchivedName",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "field",
                    models.CharField(choices=[("app", "App"), ("stream", "Stream")], max_length=8),
                ),
                ("name", models.CharField(max_length=256)),
                ("last_seen", models.DateTimeField()),
            ],
        ),
        migrations.AddIndex(
            model_name="archivedrecord",
            index=models.Index(
                fields=["stream_name", "-notify_time", "-id", "notify_result", "failure_class"],
                name="arch_stream_time",
            ),
        ),
        migrations.AddIndex(
            model_name="archivedrecord",
            index=models.Index(
                fields=["app_name", "-notify_time", "-id", "notify_result", "failure_class"],
                name="arch_app_time",
            ),
        ),
        migrations.AddField(
            model_name="archivedname",
            name="domain",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="archived_names",
                to="domains.domain",
            ),
        ),
        migrations.AddConstraint(
            model_name="archivedname",
            constraint=models.UniqueConstraint(
                fields=("domain", "field", "name"), name="archived_name_once_per_domain"
            ),
        ),
        migrations.RunSQL(
            # the names the archive holds already (portable SQL: SQLite and PostgreSQL)
            "INSERT INTO archive_archivedname (domain_id, field, name, last_seen) "
            "SELECT domain_id, 'app', app_name, MAX(notify_time) FROM archive_archivedrecord "
            "GROUP BY domain_id, app_name "
            "UNION ALL "
            "SELECT domain_id, 'stream', stream_name, MAX(notify_time) "
            "FROM archive_archivedrecord GROUP BY domain_id, stream_name",
            migrations.RunSQL.noop,
        ),
        migrations.RunPython(trigram_on_names, trigram_on_records),
    ]
