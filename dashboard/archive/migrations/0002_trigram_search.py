"""Case-insensitive substring search on app and stream names, in milliseconds on PostgreSQL.

Django's `icontains` is `UPPER(col::text) LIKE UPPER(%s)` there; a pg_trgm GIN index on that
very expression serves it. SQLite has neither pg_trgm nor GIN indexes and scans instead (it
is the zero-config default, not the production database), so this migration does nothing
there.
"""

from django.db import migrations

COLUMNS = ["app_name", "stream_name", "receiver_host"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS arch_{column}_trgm ON archive_archivedrecord "
            f'USING gin ((UPPER(("{column}")::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS arch_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
