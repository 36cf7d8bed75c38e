"""With Redis as the cache, four processes share one rate budget: the sandbox never throttles.

Without Redis (each process with its own local-memory budget) the same burst is throttled,
which shows the test can fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDIS = shutil.which("redis-server")
PROCESSES, CALLS = 4, 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            assert proc.poll() is None, "server exited"
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if not REDIS:
        pytest.skip("!!!!! redis-server not installed: the shared rate-limit test is SKIPPED !!!!!")
    tmp = tmp_path_factory.mktemp("shared")
    redis_port, sandbox_port = free_port(), free_port()
    redis = subprocess.Popen(
        [
            REDIS,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "DEBUG": "true",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp / 'sandbox.sqlite3'}",
        "LIVE_SANDBOX_BIG_DOMAIN_RECORDS": "100",
        "LIVE_SANDBOX_RATE_SCALE": "0.01",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",  # the real sandbox: it throttles
    }
    env.pop("DATABASE_URL", None)
    sandbox = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{sandbox_port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(redis_port, redis)
        wait_for(sandbox_port, sandbox)
        yield {"redis": redis_port, "sandbox": sandbox_port, "tmp": tmp}
    finally:
        sandbox.terminate()
        redis.terminate()
        sandbox.wait(10)
        redis.wait(10)


def burst(servers, *, redis: bool) -> tuple[int, int]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "LIVE_API_ENDPOINT": f"http://127.0.0.1:{servers['sandbox']}",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "sandbox",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sandbox-secret",
        "DATABASE_URL": f"sqlite:///{servers['tmp'] / 'dashboard.sqlite3'}",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = f"redis://127.0.0.1:{servers['redis']}/0"
    start_at = time.time() + 4.0  # after every process has imported Django
    procs = [
        subprocess.Popen(
            [sys.executable, "tests/support/burst_worker.py", str(CALLS), str(start_at)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    ok = throttled = 0
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        a, b = map(int, out.split())
        ok, throttled = ok + a, throttled + b
    time.sleep(1.1)  # let the sandbox's one-second window drain before the next burst
    return ok, throttled


def test_four_processes_share_one_budget_through_redis(servers):
    ok, throttled = burst(servers, redis=True)
    assert (ok, throttled) == (PROCESSES * CALLS, 0)


def test_without_a_shared_cache_the_same_burst_is_throttled(servers):
    ok, throttled = burst(servers, redis=False)
    assert ok + throttled == PROCESSES * CALLS and throttled > 0
