"""DATABASE_REPLICA_URL against a real streaming replica (two local PostgreSQL clusters,
pg_basebackup): pages read the archive from the replica, everything else reads the primary."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ALL_DATABASES, process_env
from tests.pgcluster import PostgresCluster

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=ALL_DATABASES),
    pytest.mark.own_cluster,
]
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("replica_script.py")


@pytest.fixture
def clusters():
    primary = PostgresCluster().start()
    made = [primary]
    try:
        url = primary.createdb("dashboard")
        env = process_env(DATABASE_URL=url, DEBUG="true")
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        replica = primary.replica()
        made.append(replica)
        yield primary, replica, url, replica.url("dashboard")
    finally:
        for cluster in reversed(made):
            cluster.remove()


def script(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def replayed(replica_url: str, stream: str) -> bool:
    with psycopg.connect(replica_url) as db:
        return (
            db.execute(
                "SELECT count(*) FROM archive_archivedrecord WHERE stream_name = %s", [stream]
            ).fetchone()[0]
            == 1
        )


def wait(check, seconds: float = 30.0) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_pages_read_the_archive_from_the_replica_and_the_rest_from_the_primary(clusters):
    _primary, _replica, url, replica_url = clusters
    # DEBUG on: the script counts the queries each connection ran
    env = process_env(DATABASE_URL=url, DATABASE_REPLICA_URL=replica_url, DEBUG="true")
    script(env, "setup")
    assert script(env, "archive", "first-stream") == {"new": 1}
    assert wait(lambda: replayed(replica_url, "first-stream"))
    page = script(env, "page", "first-stream")
    assert page["status"] == 200 and page["shown"] and page["queries_on_replica"] > 0
    # the failure overview's ranking (one statement of the archive's numbers) reads it too
    overview = script(env, "overview")
    assert overview == {
        "status": 200,
        "shown": True,
        "ranked_on_replica": True,
        "ranked_on_primary": False,
    }

    # the replica stops replaying: what the primary stores now is not on the replica yet
    with psycopg.connect(replica_url, autocommit=True) as db:
        db.execute("SELECT pg_wal_replay_pause()")
    assert script(env, "archive", "second-stream") == {"new": 1}
    page = script(env, "page", "second-stream")
    assert page["status"] == 200 and not page["shown"]  # the page read the replica
    assert page["outside_a_request"] == 1  # a read outside a page (the harvester's) did not

    with psycopg.connect(replica_url, autocommit=True) as db:
        db.execute("SELECT pg_wal_replay_resume()")
    assert wait(lambda: replayed(replica_url, "second-stream"))
    assert script(env, "page", "second-stream")["shown"]
