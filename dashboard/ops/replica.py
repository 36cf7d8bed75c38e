"""Reads of the archive from a PostgreSQL streaming replica, when one is configured.

With `DATABASE_REPLICA_URL` set, the pages people read (GET and HEAD requests) read the
archive — records, names, rollups, harvest cursors — from the replica: the explorer's searches
and counts, charts, the failure overview. Everything else reads and writes the primary: what
people change and see right after (configs, incidents, alerts, their session), the harvester
(which must read back what it has just stored), workers, exports' bookkeeping. A replica is
behind by its replication lag (normally well under a second): a record harvested a moment ago
may show on a page a moment later. Without the setting — and in tests, where the alias mirrors
the primary — there is one database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
# the apps whose reads may come from the replica on a page read
REPLICA_APPS = frozenset({"archive"})

_pages: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside, reads of the archive go to the replica (when there is one)."""
    token = _pages.set(True)
    try:
        yield
    finally:
        _pages.reset(token)


def read_alias() -> str:
    """The database an archive read inside this context goes to."""
    return REPLICA if _pages.get() and replica_configured() else "default"


class ReplicaRouter:
    """Archive reads on page reads to the replica; nothing is ever written or migrated there."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label in REPLICA_APPS and _pages.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {"default", REPLICA}:
            return True  # one database, two doors
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


class ReplicaReadsMiddleware:
    """GET and HEAD requests read the archive from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or not replica_configured():
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)
