"""The covering index of migration 0007, declared in HourlyRollup.Meta (state only on
PostgreSQL, where 0007 made it with raw SQL); SQLite gets it as Django makes it there, keyed
on (domain, hour) without the non-key columns."""

from django.db import migrations, models

INDEX = models.Index(
    fields=["domain", "hour"],
    include=["notify_result", "failure_class", "count"],
    name="rollup_domain_hour_cover",
)


def index_elsewhere(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(apps.get_model("archive", "HourlyRollup"), INDEX)


def no_index_elsewhere(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(apps.get_model("archive", "HourlyRollup"), INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0011_daily_partitions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="hourlyrollup", index=INDEX)],
            database_operations=[migrations.RunPython(index_elsewhere, no_index_elsewhere)],
        ),
    ]
