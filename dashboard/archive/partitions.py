"""The archive's records in daily partitions on PostgreSQL, and retention.

On PostgreSQL `archive_archivedrecord` is partitioned by range of `notify_time`, one partition
a UTC day (`archive_archivedrecord_p20261204`): a search of a window reads only its days'
partitions (pruning), and retention drops whole expired days — a `DROP TABLE` of a partition,
milliseconds, where deleting a day's rows took minutes and left hours of vacuum. Its primary
key is (id, notify_time) and a record's uniqueness (fingerprint, notify_time): PostgreSQL wants
the partition key in both. The harvester makes the next days' partitions ahead; an insert makes
any missing day's first. SQLite keeps one table and deletes expired rows in batches.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext

from django.db import DatabaseError, connection, transaction

from .models import ArchivedRecord

logger = logging.getLogger(__name__)

TABLE = ArchivedRecord._meta.db_table


def partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def partitions_ensure(moments) -> None:
    """Make sure the days of `moments` (datetimes or dates) have their partitions. Asked of
    the catalogue each time (a fraction of a millisecond), never remembered: a partition made
    in a transaction that rolled back is not there. Making one locks the records table for a
    moment, so the harvester makes them ahead (`partitions_ahead`) in transactions of their
    own; here only a day nobody foresaw is made."""
    if not is_partitioned():
        return
    days = {m.astimezone(dt.UTC).date() if isinstance(m, dt.datetime) else m for m in moments}
    wanted = {partition_name(day): day for day in days}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relispartition",
            [sorted(wanted)],
        )
        existing = {name for (name,) in cursor.fetchall()}
        for name in sorted(set(wanted) - existing):
            day = wanted[name]
            try:
                with transaction.atomic():  # a savepoint: another writer may win the race
                    cursor.execute(
                        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{TABLE}" '
                        f"FOR VALUES FROM ('{day.isoformat()}') "
                        f"TO ('{(day + dt.timedelta(days=1)).isoformat()}')"
                    )
            except DatabaseError:
                logger.info("partition %s: made by another writer meanwhile", name)


def partitions_ahead(now: dt.datetime, back: int = 8, ahead: int = 3) -> None:
    """The partitions of the days the Live API can still hand over (`back` days) and of the
    next `ahead` days, each made in a transaction of its own, before any record needs it."""
    today = now.astimezone(dt.UTC).date()
    for n in range(-back, ahead + 1):
        partitions_ensure({today + dt.timedelta(days=n)})


def partitions(*, before: dt.date | None = None) -> list[tuple[dt.date, str, bool]]:
    """The daily partitions (day, name, attached), oldest first; those of days before
    `before` only. A detached one is a purge interrupted between detaching and dropping."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relispartition FROM pg_class WHERE relkind = 'r' "
            "AND relname LIKE %s ORDER BY relname",
            [f"{TABLE}\\_p%"],
        )
        rows = cursor.fetchall()
    found = []
    for name, attached in rows:
        try:
            day = dt.datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").date()
        except (IndexError, ValueError):
            continue
        if before is None or day < before:
            found.append((day, name, attached))
    return found


def records_purge(*, horizon: dt.datetime, max_batches: int = 200, batch: int = 5000) -> int:
    """Remove the records older than `horizon`, and the rows that hang off them (other
    tables' foreign keys to a record, such as its redelivery attempts): whole days'
    partitions on PostgreSQL (a day partly inside the retention stays until it is entirely
    outside), batched deletes elsewhere. Returns how many records went."""
    if is_partitioned():
        return _drop_days(before=horizon.astimezone(dt.UTC).date())
    return records_delete(horizon=horizon, max_batches=max_batches, batch=batch)


def records_delete(*, horizon: dt.datetime, max_batches: int = 200, batch: int = 5000) -> int:
    """Delete the records older than `horizon` (and their dependents' rows) in batches: how
    SQLite purges, and the way PostgreSQL did before partitions (the benchmark's peer)."""
    removed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(
                ArchivedRecord.objects.filter(notify_time__lt=horizon)
                .order_by()
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            for relation in _dependents():
                relation.related_model._base_manager.filter(
                    **{f"{relation.field.name}__in": ids}
                ).delete()
            removed += ArchivedRecord.objects.filter(pk__in=ids)._raw_delete(connection.alias)
    return removed


def _dependents() -> list:
    """The relations of other models to a record (their foreign keys)."""
    return [r for r in ArchivedRecord._meta.related_objects if r.field.many_to_one]


def _drop_days(*, before: dt.date) -> int:
    """Each expired day: its dependents' rows deleted, the partition detached — CONCURRENTLY
    outside a transaction, so readers of the records never queue behind it — and dropped."""
    removed = 0
    quote = connection.ops.quote_name
    for _day, name, attached in partitions(before=before):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for relation in _dependents():
                    table = quote(relation.related_model._meta.db_table)
                    column = quote(relation.field.column)
                    cursor.execute(
                        f'DELETE FROM {table} WHERE {column} IN (SELECT id FROM "{name}")'  # noqa: S608
                    )
                cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
                removed += cursor.fetchone()[0]
            inside = connection.in_atomic_block  # (a savepoint then; CONCURRENTLY cannot)
            with transaction.atomic() if inside else nullcontext(), connection.cursor() as cursor:
                if attached:
                    how = "" if inside else " CONCURRENTLY"
                    cursor.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{name}"{how}')
                cursor.execute(f'DROP TABLE "{name}"')
        except DatabaseError as error:
            logger.warning("retention: partition %s not dropped now (%s)", name, error)
    return removed
