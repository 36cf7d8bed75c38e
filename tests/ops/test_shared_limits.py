"""Limits that hold across processes without Redis: the database is the shared store.

Repro: on 4 gunicorn workers without Redis, 39 of 40 test callbacks in a minute went out
(limit 10), and redelivery ran at 9.8 a second (limit 5): each process counted on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.test import override_settings

from dashboard.ops.shared import Busy, Lease, allow, shared_store
from tests.conftest import (
    ALL_DATABASES,
    TEAM_DOMAIN,
    Gunicorn,
    Receiver,
    process_env,
    signed_in_session,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_test_callbacks_per_minute_hold_on_four_workers(editor):
    receiver = Receiver()
    server = Gunicorn(pinned={receiver.host: f"127.0.0.1:{receiver.port}"})
    try:
        session = signed_in_session(server.url, editor)
        url = f"/domains/{TEAM_DOMAIN}/record/test/"
        form = {"notify_url": receiver.url(), "event": "file_created"}

        def send(_):
            # a connection of its own each: the requests spread over the four workers
            with httpx.Client(
                base_url=server.url, cookies=session.cookies, headers=session.headers
            ) as one:
                return one.post(url, data=form).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(send, range(40)))
    finally:
        server.stop()
        receiver.close()
    assert codes.count(200) == 10 and codes.count(429) == 30, codes
    assert len(receiver.received) == 10


RATE_PROBE = """
import json, time, django
django.setup()
from dashboard.redelivery.services import _wait_for_slot
from dashboard.domains.models import Domain
domain = Domain.objects.get(name=%r)
stamps = []
for _ in range(8):
    _wait_for_slot(domain, 5.0)
    stamps.append(time.time())
print(json.dumps(stamps))
"""


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_redelivery_rate_holds_across_three_processes(synced):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RATE_PROBE % TEAM_DOMAIN],
            cwd=ROOT,
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    stamps = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        stamps += json.loads(out)
    stamps.sort()
    # 24 sends at 5 a second: a one-second span holds five slots' starts, plus one at its
    # edge. A send is never early, only late (the OS wakes a process late; a slot claimed
    # part-way through it is used at once, after the shared store's write): at most one late
    # send of each process can spill into a span — without the shared budget it would hold 15
    for i, first in enumerate(stamps):
        within = [s for s in stamps[i:] if s - first < 1.0]
        assert len(within) <= 5 + 1 + len(procs), f"{len(within)} sends within one second"
    assert stamps[-1] - stamps[0] >= (24 / 5) - 1.5


@pytest.mark.django_db(databases=ALL_DATABASES)
@override_settings(REDIS_URL="")
def test_the_database_store_gives_each_slot_to_one_holder():
    assert allow("k", limit=2, per_seconds=60) and allow("k", limit=2, per_seconds=60)
    assert not allow("k", limit=2, per_seconds=60)
    with Lease("export", limit=1, ttl=60), pytest.raises(Busy), Lease("export", limit=1, ttl=60):
        pass
    with Lease("export", limit=1, ttl=60):  # released on exit
        pass
    store = shared_store()
    assert store.add("x", "a", timeout=60) and not store.add("x", "b", timeout=60)
    assert store.get("x") == "a"
    assert not store.delete_if("x", "b") and store.delete_if("x", "a")
    assert store.get("x") is None
