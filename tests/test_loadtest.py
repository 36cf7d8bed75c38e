"""`make loadtest` fails, loudly, when a page it asks for is broken: it once counted a 404 on
every ninth request as traffic and reported success."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ALL_DATABASES, Gunicorn, signed_in_session

ROOT = Path(__file__).resolve().parents[1]


def run_load(server, cookie, paths, tmp_path) -> subprocess.CompletedProcess:
    file = tmp_path / "paths.json"
    file.write_text(json.dumps(paths))
    return subprocess.run(
        [
            sys.executable,
            "scripts/loadtest.py",
            "--base",
            server.url,
            "--cookie",
            cookie,
            "--users",
            "3",
            "--duration",
            "2",
            "--paths",
            str(file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_load_test_fails_on_a_broken_path_and_names_it(viewer, synced, tmp_path):
    server = Gunicorn(workers=2)
    try:
        session = signed_in_session(server.url, viewer)
        cookie = "sessionid=" + next(c.value for c in session.cookies.jar if c.name == "sessionid")
        good = [[1, "/domains/", False], [1, "/records/?window=1h", True]]
        ok = run_load(server, cookie, good, tmp_path)
        broken = run_load(server, cookie, [*good, [1, "/records/overview/nope/", False]], tmp_path)
    finally:
        server.stop()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "/records/?window=1h (htmx)" in ok.stdout and "LOAD TEST FAILED" not in ok.stdout
    assert broken.returncode == 1
    assert "!!!!! LOAD TEST FAILED" in broken.stdout
    line = next(
        row for row in broken.stdout.splitlines() if row.startswith("/records/overview/nope/")
    )
    assert int(line.split()[2]) > 0  # its failures are counted on its own line
