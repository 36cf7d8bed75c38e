"""Per-account, per-action QPS limits, enforced as the Live API does (Throttling.User)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from dashboard.contract.api import ACTION_QPS


class Throttle:
    """Sliding one-second window per (access key, action)."""

    def __init__(self, limits: dict[str, int] | None = None, *, enabled: bool = True):
        self.limits = dict(limits or ACTION_QPS)
        self.enabled = enabled
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.throttled = 0
        self.accepted = 0

    def allow(self, access_key_id: str, action: str, now: float | None = None) -> bool:
        if not self.enabled:
            return True
        now = time.monotonic() if now is None else now
        limit = self.limits.get(action)
        if limit is None:
            return True
        with self._lock:
            window = self._calls[(access_key_id, action)]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                self.throttled += 1
                return False
            window.append(now)
            self.accepted += 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self.throttled = 0
            self.accepted = 0
