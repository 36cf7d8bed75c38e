"""Retention: what is older than ARCHIVE_RETENTION_DAYS leaves the archive.

On PostgreSQL whole days go: each expired day's partition of the records is dropped (see
archive/partitions.py), milliseconds where deleting its rows took minutes and left hours of
vacuum. Rows of other tables that hang off those records (a record's redelivery attempts) go
with them: they are kept exactly as long as their record. SQLite deletes the expired records
in batches. Rollups of the expired hours and days, and names with no records left, follow.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from django.conf import settings

from .models import NAME_SLACK, ArchivedName, ArchivedPushParam, PushedSession
from .partitions import records_purge
from .rollups import rollups_purge

# a harvester purges at most this often (a pass runs every few seconds)
PURGE_EVERY = 600.0
_last_purge = {"at": float("-inf")}
_lock = threading.Lock()


def retention_horizon(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS)


def archive_purge(*, now: dt.datetime, force: bool = False) -> int:
    """Remove what is older than the retention; at most every PURGE_EVERY seconds a process
    unless `force`. Returns how many records went."""
    with _lock:
        if not force and time.monotonic() - _last_purge["at"] < PURGE_EVERY:
            return 0
        _last_purge["at"] = time.monotonic()
    horizon = retention_horizon(now)
    removed = records_purge(horizon=horizon)
    rollups_purge(horizon=horizon)
    # no records left of these (last_seen lags by at most NAME_SLACK)
    ArchivedName.objects.filter(last_seen__lt=horizon - NAME_SLACK).delete()
    ArchivedPushParam.objects.filter(last_seen__lt=horizon).delete()
    PushedSession.objects.filter(publish_time__lt=horizon).delete()
    return removed
