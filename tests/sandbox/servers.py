"""`manage.py runsandbox` in its own process, on 127.0.0.1, for the official SDKs to talk to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sandbox_process(folder: Path, *, faults: str = "", throttle: bool = False):
    """Yields the port of a fresh sandbox (its own small demo account in `folder`)."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "SANDBOX_DATABASE_URL": f"sqlite:///{folder / 'sandbox.sqlite3'}",
        "LIVE_SANDBOX_BIG_DOMAIN_RECORDS": "400",
        "LIVE_SANDBOX_RATE_SCALE": "0.02",
    }
    env.pop("DATABASE_URL", None)
    with _serve(env, throttle=throttle, faults=faults) as port:
        yield port


@contextmanager
def sandbox_on_this_run():
    """Yields the port of a sandbox serving this test run's own sandbox database over HTTP
    (what the embedded sandbox holds, for the official SDK or a dashboard process to read;
    the test must be transaction=True)."""
    from tests.conftest import process_env

    with _serve(process_env(), throttle=False) as port:
        yield port


@contextmanager
def _serve(env: dict, *, throttle: bool, faults: str = ""):
    port = free_port()
    command = [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{port}"]
    if not throttle:
        command.append("--no-throttle")
    if faults:
        command += ["--faults", faults]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("runsandbox exited: " + (proc.stdout.read() if proc.stdout else ""))
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("runsandbox did not start within 90 s")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
