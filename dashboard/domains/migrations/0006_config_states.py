"""Each config's version and claim in a row of its own (ConfigState) instead of six columns on
Domain reached through f-string names. The versions move over; claims are short-lived and are
not carried (a save in flight during the upgrade finds its claim gone and reports a conflict)."""

import django.db.models.deletion
from django.db import migrations, models

KINDS = ("record", "snapshot")


def versions_to_rows(apps, schema_editor):
    Domain = apps.get_model("domains", "Domain")
    ConfigState = apps.get_model("domains", "ConfigState")
    rows = [
        ConfigState(domain_id=domain["pk"], kind=kind, version=domain[f"{kind}_version"])
        for domain in Domain.objects.values("pk", *(f"{kind}_version" for kind in KINDS))
        for kind in KINDS
        if domain[f"{kind}_version"]
    ]
    ConfigState.objects.bulk_create(rows, batch_size=1000)


def rows_to_versions(apps, schema_editor):
    Domain = apps.get_model("domains", "Domain")
    ConfigState = apps.get_model("domains", "ConfigState")
    for state in ConfigState.objects.all().iterator():
        Domain.objects.filter(pk=state.domain_id).update(**{f"{state.kind}_version": state.version})


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0005_delete_auditentry"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("version", models.PositiveIntegerField(default=0)),
                ("claim", models.CharField(blank=True, max_length=36)),
                ("claim_until", models.DateTimeField(blank=True, null=True)),
                (
                    "domain",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="config_states",
                        to="domains.domain",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("domain", "kind"), name="one_state_per_config")
                ],
            },
        ),
        migrations.RunPython(versions_to_rows, rows_to_versions),
        migrations.RemoveField(model_name="domain", name="record_claim"),
        migrations.RemoveField(model_name="domain", name="record_claim_until"),
        migrations.RemoveField(model_name="domain", name="record_version"),
        migrations.RemoveField(model_name="domain", name="snapshot_claim"),
        migrations.RemoveField(model_name="domain", name="snapshot_claim_until"),
        migrations.RemoveField(model_name="domain", name="snapshot_version"),
    ]
