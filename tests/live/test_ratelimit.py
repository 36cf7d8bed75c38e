"""The shared rate budget: threads hammering it never exceed the budget in any window."""

import threading
import time

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from dashboard.live import LiveDeadlineExceeded
from dashboard.live.ratelimit import SlotLimiter


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_slots_are_unique_and_paced_exactly_with_a_fake_clock():
    clock = FakeClock()
    limiter = SlotLimiter(
        LocMemCache("t1", {"OPTIONS": {"MAX_ENTRIES": 10_000}}), clock=clock, sleep=clock.sleep
    )
    starts = []
    for _ in range(30):
        limiter.acquire("k", 10, deadline=clock.now + 100)
        starts.append(clock.now)
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    assert all(g >= 0.1 - 1e-9 for g in gaps[1:])  # one call per 1/rate seconds
    assert starts[-1] - starts[0] == pytest.approx(2.9, abs=0.11)


def test_waiting_beyond_the_deadline_raises():
    clock = FakeClock()
    limiter = SlotLimiter(LocMemCache("t2", {}), clock=clock, sleep=lambda s: None)
    limiter.acquire("k", 1, deadline=clock.now + 10)
    with pytest.raises(LiveDeadlineExceeded):
        limiter.acquire("k", 1, deadline=clock.now + 0.5)


def test_budgets_are_per_key():
    clock = FakeClock()
    limiter = SlotLimiter(LocMemCache("t3", {}), clock=clock, sleep=clock.sleep)
    limiter.acquire("a", 1, deadline=clock.now + 10)
    assert limiter.acquire("b", 1, deadline=clock.now + 10) == 0.0


def test_threads_hammering_never_exceed_the_budget_in_any_window():
    rate = 100
    limiter = SlotLimiter(caches["default"], prefix="test-hammer")
    stamps = []
    lock = threading.Lock()

    def worker():
        for _ in range(40):
            limiter.acquire("acct:listing", rate, deadline=time.time() + 30)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 240
    # Slots are 10 ms apart, so any one-second window holds at most rate + 1 slot starts. A
    # thread is never released early, only late (the OS may wake it late), and at most one
    # late call per thread can spill into a window: that bounds it whatever the machine's load.
    worst = max(sum(1 for s in stamps[i:] if s < start + 1.0) for i, start in enumerate(stamps))
    assert worst <= rate + 1 + len(threads)
    assert stamps[-1] - stamps[0] >= (240 - rate - 2) / rate  # it really was paced
