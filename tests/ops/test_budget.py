"""What one request may cost: a time limit on a search's SQL, and a few places for heavy
searches shared by everyone (a viewer cannot stall the deployment)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings

from dashboard.ops.budget import TooSlow, time_limit
from dashboard.ops.shared import Lease
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def slow_query(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_sleep(3)")
    else:  # counting to a hundred million takes SQLite seconds
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)"
            " SELECT count(*) FROM n"
        )
    cursor.fetchall()


def test_a_query_past_the_time_limit_is_stopped():
    started = time.monotonic()
    with pytest.raises(TooSlow), time_limit(0.3), connection.cursor() as cursor:
        slow_query(cursor)
    assert time.monotonic() - started < 2.0
    # the connection is fine afterwards, and the limit is gone
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_quick_query_within_the_limit_is_answered():
    with time_limit(2.0), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@override_settings(SEARCH_CONCURRENCY=2)
def test_heavy_searches_beyond_the_places_are_refused_with_a_message(client, viewer, archived):
    client.force_login(viewer)
    with Lease("search:all", limit=2, ttl=60), Lease("search:all", limit=2, ttl=60):
        busy = client.get("/records/?window=24h&q=nginx")
        assert busy.status_code == 429
        assert "Too many searches or exports are running right now" in busy.content.decode()
        # searches the indexes answer are not held back
        assert client.get("/records/?window=24h&stream=room").status_code == 200
    assert client.get("/records/?window=24h&q=nginx").status_code == 200
