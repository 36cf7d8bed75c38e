"""A shared rate budget: at most `rate` calls per second per key, across processes and hosts.

Time is cut into slots of 1/rate seconds; a caller claims the first free slot with the
cache's atomic `add` and sleeps until the slot begins. With Redis as Django's cache every
worker and host shares one budget; with the local-memory cache it holds per process. This
is a token bucket of depth one (GCRA): it never bursts, so a sliding one-second window on
the server side never sees more than `rate` calls.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .errors import LiveDeadlineExceeded


class SlotLimiter:
    def __init__(
        self,
        cache,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        prefix: str = "live-rate",
    ):
        self.cache = cache
        self.clock = clock
        self.sleep = sleep
        self.prefix = prefix

    def acquire(self, key: str, rate: float, *, deadline: float) -> float:
        """Wait for a slot; returns the seconds waited. `deadline` is on the same clock."""
        width = 1.0 / rate
        # Slots are numbered in units of `width`: processes configured with another rate use
        # other keys rather than misreading these numbers.
        key = f"{key}@{rate:g}"
        ttl = max(5, math.ceil(width * 4))
        now = self.clock()
        slot = math.floor(now / width)
        hint_key = f"{self.prefix}:{key}:next"
        hint = self.cache.get(hint_key)
        if isinstance(hint, int) and hint > slot:
            slot = hint
        while True:
            if slot * width > deadline:
                raise LiveDeadlineExceeded(
                    "The call's deadline passed while waiting for the shared rate budget."
                )
            if self.cache.add(f"{self.prefix}:{key}:{slot}", 1, timeout=ttl):
                break
            slot += 1
        self.cache.set(hint_key, slot + 1, timeout=ttl)
        wait = slot * width - self.clock()
        if wait > 0:
            self.sleep(wait)
            return wait
        return 0.0
