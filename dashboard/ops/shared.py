"""A store shared by every process and host, for limits that must hold across them: test
callbacks per person, the redelivery rate, concurrent exports and heavy searches.

With REDIS_URL it is Redis (Django's cache). Without it, the database every process already
shares: a small table whose rows are taken atomically — a key is won by whoever inserts it
first, or takes over a row that has expired with a conditional UPDATE — so the limits hold on
four gunicorn workers and a task worker without Redis too. It offers the few operations the
limits need, in the cache's own words: `add`, `get`, `set`, `delete`.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SharedSlot


class DatabaseStore:
    """`add` / `get` / `set` / `delete` over SharedSlot; values are short strings or ints."""

    def _until(self, timeout: float) -> dt.datetime:
        return timezone.now() + dt.timedelta(seconds=timeout)

    def add(self, key: str, value, timeout: float = 300) -> bool:
        """Store `value` under `key` unless a live value is there; True when it was stored."""
        now = timezone.now()
        try:
            with transaction.atomic():
                SharedSlot.objects.create(
                    key=key, value=str(value), expires_at=now + dt.timedelta(seconds=timeout)
                )
        except IntegrityError:
            # there already: take it over only if it has expired (one UPDATE: one winner)
            taken = SharedSlot.objects.filter(key=key, expires_at__lte=now).update(
                value=str(value), expires_at=self._until(timeout)
            )
            return bool(taken)
        if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
            SharedSlot.objects.filter(expires_at__lt=now - dt.timedelta(minutes=5)).delete()
        return True

    def get(self, key: str, default=None):
        row = (
            SharedSlot.objects.filter(key=key, expires_at__gt=timezone.now())
            .values_list("value", flat=True)
            .first()
        )
        if row is None:
            return default
        return int(row) if row.lstrip("-").isdigit() else row

    def set(self, key: str, value, timeout: float = 300) -> None:
        SharedSlot.objects.update_or_create(
            key=key, defaults={"value": str(value), "expires_at": self._until(timeout)}
        )

    def delete(self, key: str) -> bool:
        return SharedSlot.objects.filter(key=key).delete()[0] > 0

    def delete_if(self, key: str, value) -> bool:
        """Delete `key` only while it still holds `value` (a lease released by its holder)."""
        return SharedSlot.objects.filter(key=key, value=str(value)).delete()[0] > 0

    def renew_if(self, key: str, value, timeout: float) -> bool:
        """Give `key` `timeout` more seconds only while it still holds `value` (a lease kept by
        its holder)."""
        rows = SharedSlot.objects.filter(key=key, value=str(value))
        return rows.update(expires_at=self._until(timeout)) > 0


class CacheStore:
    """The same operations over Django's (Redis) cache."""

    def __init__(self, backend):
        self.backend = backend

    def add(self, key: str, value, timeout: float = 300) -> bool:
        return self.backend.add(key, value, timeout=max(1, int(timeout + 0.999)))

    def get(self, key: str, default=None):
        return self.backend.get(key, default)

    def set(self, key: str, value, timeout: float = 300) -> None:
        self.backend.set(key, value, timeout=max(1, int(timeout + 0.999)))

    def delete(self, key: str) -> bool:
        return bool(self.backend.delete(key))

    def delete_if(self, key: str, value) -> bool:
        # not atomic on a plain cache; a lease outliving its holder only ends early
        if self.backend.get(key) == value:
            return bool(self.backend.delete(key))
        return False

    def renew_if(self, key: str, value, timeout: float) -> bool:
        # not atomic either: a lease taken over just now is given the time of its new holder
        if self.backend.get(key) == value:
            return bool(self.backend.touch(key, timeout=max(1, int(timeout + 0.999))))
        return False


@cache
def shared_store() -> DatabaseStore | CacheStore:
    """Redis when REDIS_URL is set, else the database."""
    if settings.REDIS_URL:
        return CacheStore(caches["default"])
    return DatabaseStore()


def reset_shared_store() -> None:
    shared_store.cache_clear()


def allow(key: str, *, limit: int, per_seconds: int) -> bool:
    """At most `limit` calls in any `per_seconds` for `key`, across every process. Each call
    takes one of `limit` numbered places for `per_seconds` (a sliding window: a burst at the
    end of one minute and the start of the next cannot double the limit)."""
    store = shared_store()
    return any(store.add(f"allow:{key}:{n}", 1, timeout=per_seconds) for n in range(limit))


class Busy(Exception):
    """Every slot of a concurrency limit is taken."""


class Lease:
    """One of `limit` concurrent places for `key`, across every process; released on exit, or
    when it expires (a holder that crashed frees its place after `ttl` seconds).

        with Lease("export:user:7", limit=2, ttl=600):
            ...
    """

    def __init__(self, key: str, *, limit: int, ttl: float):
        self.key, self.limit, self.ttl = key, limit, ttl
        self.token = f"{random.getrandbits(64):x}"  # noqa: S311 - a holder's mark, not a secret
        self.slot: str | None = None

    def acquire(self) -> Lease:
        store = shared_store()
        for n in range(self.limit):
            slot = f"lease:{self.key}:{n}"
            if store.add(slot, self.token, timeout=self.ttl):
                self.slot = slot
                return self
        raise Busy(self.key)

    def renew(self) -> bool:
        """Another `ttl` seconds for a holder still at work; False when the place was lost (it
        expired and someone took it)."""
        return self.slot is not None and shared_store().renew_if(self.slot, self.token, self.ttl)

    def release(self) -> None:
        if self.slot is not None:
            shared_store().delete_if(self.slot, self.token)
            self.slot = None

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
