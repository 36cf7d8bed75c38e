"""/metrics: one consistent set of counters from 4 gunicorn workers, the state read from the
database, a bearer token, and the Live API's calls counted by operation and outcome."""

from __future__ import annotations

import re

import httpx
import pytest
from prometheus_client import REGISTRY

from dashboard.contract import api
from dashboard.upstream import get_client
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, Gunicorn, signed_in_session

TOKEN = "scrape-secret-0123456789"
DOMAIN_LIST = re.compile(
    r'^dashboard_http_requests_total\{method="GET",status="200",view="domain_list"\} (\S+)$', re.M
)


def scrape(base: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Host": "10.244.3.17"}  # the pod's address, as Prometheus scrapes it
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(base + "/metrics", headers=headers, timeout=30)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_four_workers_report_one_set_of_counters_and_the_state(lead, archived):
    server = Gunicorn(workers=4, METRICS_TOKEN=TOKEN)
    try:
        assert scrape(server.url, token=None).status_code == 401
        assert scrape(server.url, token="wrong").status_code == 401
        session = signed_in_session(server.url, lead)  # one GET /domains/ itself
        for _ in range(40):
            assert session.get("/domains/").status_code == 200
        # each scrape is answered by whichever worker is free: every one says the same
        seen = set()
        for _ in range(12):
            response = scrape(server.url)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            seen.add(float(DOMAIN_LIST.search(response.text).group(1)))
        assert seen == {41.0}
        text = response.text
        assert re.search(
            rf'^dashboard_harvest_lag_seconds\{{domain="{TEAM_DOMAIN}"\}} ', text, re.M
        )
        assert re.search(r"^dashboard_archived_records \d", text, re.M)
        assert re.search(r"^dashboard_incidents_open \d", text, re.M)
        assert "dashboard_push_check_lag_seconds" in text and TOKEN not in text
    finally:
        server.stop()


def test_without_a_token_there_is_no_metrics_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer x").status_code == 404


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_live_api_calls_are_counted_by_operation_and_outcome(synced):
    from dashboard.sandbox import app as sandbox_app

    def count(outcome: str) -> float:
        labels = {"operation": api.DESCRIBE_RECORD, "outcome": outcome}
        return REGISTRY.get_sample_value("dashboard_live_api_calls_total", labels) or 0.0

    ok, throttled = count("ok"), count("throttled")
    get_client().call(api.DESCRIBE_RECORD, {"DomainName": TEAM_DOMAIN})
    assert count("ok") == ok + 1
    sandbox_app.faults.configure(f"{api.DESCRIBE_RECORD}:throttle=1")
    with pytest.raises(Exception, match="flow control"):
        get_client().call(api.DESCRIBE_RECORD, {"DomainName": TEAM_DOMAIN})
    assert count("throttled") == throttled + 1  # one operation, whatever its retries
    assert count("ok") == ok + 1
