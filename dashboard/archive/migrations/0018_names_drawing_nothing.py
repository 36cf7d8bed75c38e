"""On PostgreSQL, a partial index of the names with a character that draws nothing: a name
search no name holds as typed reads them (`names_reading_as`), and a scan of 200,000 names
took ~70–120 ms where the index takes ~4 (benchmarks/names_fallback.py). Its predicate is the
query's own regular expression, so a change of INVISIBLE_RANGES needs a new index."""

from django.db import migrations

from dashboard.invisible import INVISIBLE_RANGES


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    pattern = f"[{INVISIBLE_RANGES}]".replace("'", "''")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS archived_name_draws_nothing ON archive_archivedname "
        f"(field, last_seen) WHERE (name)::text ~ '{pattern}'"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS archived_name_draws_nothing")


class Migration(migrations.Migration):
    dependencies = [("archive", "0017_covering_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
