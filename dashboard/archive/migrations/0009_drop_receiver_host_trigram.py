"""Drop the trigram index on the records' receiver host (PostgreSQL only; migration 0002 made
it): nothing searches records by a part of their receiver's host (incidents and alerts match
whole hosts, on their own tables), and keeping it up to date was the most expensive part of
each record's insert — 6 of the 20 µs it cost PostgreSQL, more than the table itself.
"""

from django.db import migrations


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS arch_receiver_host_trgm")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS arch_receiver_host_trgm ON archive_archivedrecord "
            'USING gin ((UPPER(("receiver_host")::text)) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("archive", "0008_failed_partial_index")]
    operations = [migrations.RunPython(drop, create)]
