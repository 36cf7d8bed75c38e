"""The cost of a request a viewer can make, bounded: a time limit on a search's SQL, and a few
places for heavy work (searches that scan text, big exports) shared by every process.

Four parallel 90-day CSV exports once made a lead's domain list take 26 seconds; a free-text
search read every record of 90 days. Now a heavy search takes one of a few places — per person
and for everyone — and gives up with a clear message past SEARCH_TIMEOUT seconds of SQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.db import OperationalError, connections, transaction

from .replica import read_alias
from .shared import Busy, Lease


class TooSlow(Exception):
    """The database gave up on the query at the time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Every query inside stops after `seconds` (PostgreSQL: statement_timeout within a
    transaction; SQLite: a progress handler that interrupts it), on the database the
    archive's reads go to here (the replica on a page read, when there is one). Raises
    TooSlow."""
    alias = read_alias()
    connection = connections[alias]
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(using=alias):
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = %s", [int(seconds * 1000)])
                yield
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == "57014":  # query_canceled
                raise TooSlow from error
            raise
        return
    connection.ensure_connection()
    raw = connection.connection
    ends = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > ends), 20_000)
    try:
        yield
    except OperationalError as error:
        if "interrupted" in str(error):
            raise TooSlow from error
        raise
    finally:
        raw.set_progress_handler(None, 0)


@contextmanager
def heavy(user, kind: str, *, per_user: int, overall: int, ttl: float) -> Iterator[None]:
    """One of `per_user` places for this person and of `overall` for everyone, for heavy work
    of `kind` ("search", "export"). Raises Busy when none is free."""
    with ExitStack() as stack:
        stack.enter_context(Lease(f"{kind}:user:{user.pk}", limit=per_user, ttl=ttl))
        stack.enter_context(Lease(f"{kind}:all", limit=overall, ttl=ttl))
        yield


@contextmanager
def heavy_search(user) -> Iterator[None]:
    """A search that reads records rather than indexes and rollups (free text, long
    windows): two at a time per person, SEARCH_CONCURRENCY for everyone, each stopped after
    SEARCH_TIMEOUT seconds of SQL."""
    with (
        heavy(
            user,
            "search",
            per_user=2,
            overall=settings.SEARCH_CONCURRENCY,
            ttl=settings.SEARCH_TIMEOUT + 30,
        ),
        time_limit(settings.SEARCH_TIMEOUT),
    ):
        yield


__all__ = ["Busy", "TooSlow", "heavy", "heavy_search", "time_limit"]
