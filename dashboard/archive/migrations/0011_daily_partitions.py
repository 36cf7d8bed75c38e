"""The records table partitioned by day of `notify_time` on PostgreSQL (archive/partitions.py).

A record is unique by (fingerprint, notify_time) — the fingerprint includes the time already,
and PostgreSQL wants the partition key in every unique rule; the primary key becomes
(id, notify_time) there, `id` still drawn from one identity sequence. PostgreSQL: the table is
renamed, a partitioned table made in its place with a partition for each day it holds (and
the days ahead), its rows copied over (a one-off: about a minute per ten million records),
its indexes made on the new table, the old one dropped. SQLite keeps one table and swaps the
unique rule. Reversible.
"""

import datetime as dt

from django.db import migrations, models

TABLE = "archive_archivedrecord"
ONCE = models.UniqueConstraint(fields=["fingerprint", "notify_time"], name="arch_record_once")


def _strip(cursor, table: str) -> None:
    """Drop a table's constraints and indexes: their names are wanted by the new table."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        [table],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
    for (name,) in cursor.fetchall():
        cursor.execute(f'DROP INDEX "{name}"')


def _days(cursor, table: str) -> list[dt.date]:
    cursor.execute(f'SELECT min(notify_time), max(notify_time) FROM "{table}"')  # noqa: S608
    first, last = cursor.fetchone()
    today = dt.datetime.now(dt.UTC).date()
    start = min(first.astimezone(dt.UTC).date(), today) if first else today
    stop = max(last.astimezone(dt.UTC).date(), today) if last else today
    start = min(start, today - dt.timedelta(days=8))
    stop = max(stop, today + dt.timedelta(days=3))
    return [start + dt.timedelta(days=n) for n in range((stop - start).days + 1)]


def _copy_identity(cursor, source: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{TABLE}\"', 'id'), "  # noqa: S608
        f'coalesce((SELECT max(id) FROM "{source}"), 0) + 1, false)'
    )


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("archive", "ArchivedRecord")
    flat = f"{TABLE}_flat"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{flat}"')
        _strip(cursor, flat)
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{flat}" INCLUDING DEFAULTS INCLUDING IDENTITY) '
            "PARTITION BY RANGE (notify_time)"
        )
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id, notify_time)'
        )
        for day in _days(cursor, flat):
            cursor.execute(
                f'CREATE TABLE "{TABLE}_p{day:%Y%m%d}" PARTITION OF "{TABLE}" FOR VALUES '
                f"FROM ('{day.isoformat()}') TO ('{(day + dt.timedelta(days=1)).isoformat()}')"
            )
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{flat}"')  # noqa: S608
        _copy_identity(cursor, flat)
        cursor.execute(f'DROP TABLE "{flat}"')
    _indexes(model, schema_editor)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("archive", "ArchivedRecord")
    parted = f"{TABLE}_parted"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{parted}"')
        _strip(cursor, parted)
        cursor.execute(
            f'CREATE TABLE "{TABLE}" (LIKE "{parted}" INCLUDING DEFAULTS INCLUDING IDENTITY)'
        )
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id)')
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{parted}"')  # noqa: S608
        _copy_identity(cursor, parted)
        cursor.execute(f'DROP TABLE "{parted}"')  # and its partitions
    _indexes(model, schema_editor)


def _indexes(model, schema_editor) -> None:
    for index in model._meta.indexes:
        schema_editor.add_index(model, index)
    for constraint in model._meta.constraints:
        schema_editor.add_constraint(model, constraint)


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0010_harvest_windows"),
        # its records' redelivery attempts no longer hold a database foreign key to them
        ("redelivery", "0003_record_without_db_constraint"),
    ]

    operations = [
        # the unique rule swapped on the table as it is (SQLite: all there is to do) …
        migrations.AlterField(
            model_name="archivedrecord", name="fingerprint", field=models.UUIDField()
        ),
        migrations.AddConstraint(model_name="archivedrecord", constraint=ONCE),
        # … then, on PostgreSQL, the table made again partitioned, with its indexes and rule
        migrations.RunPython(partition, unpartition),
    ]
