"""At most one "Sync all" run queued at a time. Runs queued before, but for the newest, never
ran (a worker was down, or a lead pressed twice): they are marked failed, with words."""

from django.db import migrations, models
from django.utils import timezone


def fail_all_but_the_newest_queued(apps, schema_editor):
    SyncRun = apps.get_model("domains", "SyncRun")
    queued = SyncRun.objects.filter(state="queued").order_by("-created_at", "-pk")
    newest = queued.values_list("pk", flat=True).first()
    queued.exclude(pk=newest).update(
        state="failed",
        finished_at=timezone.now(),
        message="Never run: another run was queued after it.",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0008_syncrun_without_ingest"),
    ]

    operations = [
        migrations.RunPython(fail_all_but_the_newest_queued, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="syncrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "queued")),
                fields=("state",),
                name="one_sync_run_queued",
            ),
        ),
    ]
