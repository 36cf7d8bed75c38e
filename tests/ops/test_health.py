"""Liveness and readiness: answered to probes that sign in to nothing and name the pod's
address, and telling the truth when the database goes away and comes back."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings

from tests.conftest import ALL_DATABASES, Gunicorn, process_env
from tests.pgcluster import PostgresCluster


def test_healthz_answers_any_host_without_sign_in_or_a_database(client):
    # no django_db mark: touching a database here would fail the test
    response = client.get("/healthz", HTTP_HOST="10.244.3.17:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_readyz_says_each_check_and_no_secret(client):
    response = client.get("/readyz", HTTP_HOST="10.244.3.17")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {"database:default", "database:sandbox", "migrations"} <= set(body["checks"])
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())
    text = response.content.decode()
    assert settings.SECRET_KEY not in text and "sqlite" not in text and "postgres" not in text


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_probes_take_reads_only(client, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_other_paths_are_not_probes(client):
    assert client.get("/healthz/", HTTP_HOST="10.244.3.17").status_code == 400  # host checked


@pytest.fixture
def own_postgres():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.remove()


def readiness(base: str) -> tuple[int, dict]:
    response = httpx.get(base + "/readyz", headers={"Host": "10.244.3.17"}, timeout=30)
    return response.status_code, response.json()["checks"]


@pytest.mark.own_cluster
def test_readyz_fails_while_the_database_is_down_and_recovers_after(own_postgres):
    import subprocess
    import sys
    from pathlib import Path

    url = own_postgres.createdb("dashboard")
    server = Gunicorn(workers=1, DATABASE_URL=url)
    try:
        # a new release's database before `migrate`: reachable, not ready
        status, checks = readiness(server.url)
        assert status == 503
        assert checks["database:default"]["ok"] and not checks["migrations"]["ok"]
        assert "migrations not applied" in checks["migrations"]["error"]
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=Path(__file__).resolve().parents[2],
            env=process_env(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert readiness(server.url)[0] == 200
        own_postgres.stop()
        status, checks = readiness(server.url)
        assert status == 503 and checks["database:default"] == {
            "ok": False,
            "error": "OperationalError",
            "ms": checks["database:default"]["ms"],
        }
        assert httpx.get(server.url + "/healthz").status_code == 200  # alive all along
        own_postgres.start()
        status, checks = readiness(server.url)
        assert status == 200 and checks["database:default"]["ok"], checks
    finally:
        server.stop()
