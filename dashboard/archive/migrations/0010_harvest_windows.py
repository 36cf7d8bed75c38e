"""The harvest's unit of work becomes a domain's window of time (HarvestWindow), leased on its
own; a domain's cursor says how far its windows are planned. Existing cursors carry on from
where they are: planned as far as they were harvested."""

import django.db.models.deletion
from django.db import migrations, models


def planned_as_harvested(apps, schema_editor):
    cursors = apps.get_model("archive", "HarvestCursor")
    cursors.objects.update(planned_until=models.F("harvested_until"))


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0009_drop_receiver_host_trigram"),
        ("domains", "0005_delete_auditentry"),
    ]

    operations = [
        migrations.CreateModel(
            name="HarvestWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateTimeField()),
                ("end", models.DateTimeField()),
                ("overlap", models.PositiveIntegerField(default=0)),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "Pending"), ("stored", "Stored")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("lease_owner", models.CharField(blank=True, max_length=64)),
                ("lease_until", models.DateTimeField(null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("last_error", models.CharField(blank=True, max_length=500)),
                ("not_before", models.DateTimeField(null=True)),
                (
                    "domain",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="harvest_windows",
                        to="domains.domain",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["state", "start"], name="harvest_window_due")],
                "constraints": [
                    models.UniqueConstraint(fields=("domain", "start"), name="harvest_window_once")
                ],
            },
        ),
        migrations.RemoveField(model_name="harvestcursor", name="lease_owner"),
        migrations.RemoveField(model_name="harvestcursor", name="lease_until"),
        migrations.AddField(
            model_name="harvestcursor",
            name="planned_until",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(planned_as_harvested, migrations.RunPython.noop),
    ]
