"""Prometheus metrics: `GET /metrics`, with `Authorization: Bearer <METRICS_TOKEN>`.

Two kinds of numbers, each where it is true:

- what happens in a process — requests per view (count, latency), Live API calls per operation
  and outcome, the circuit breaker — is counted with `prometheus-client`; under gunicorn
  (`-c python:dashboard.gunicorn_conf`) in its multiprocess mode, so a scrape answered by any
  worker shows the counts of all of them, one consistent set;
- the state of things — harvest lag per domain, the push check's lag, records archived,
  incidents open, alert notifications by status, redelivery runs by state, tasks waiting — is
  read from the database at scrape time, so every worker (and every host) says the same.

Without METRICS_TOKEN the endpoint does not exist (404). It is answered before the host check
and sign-in, like the probes (ops/health.py).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import time

from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "dashboard_http_requests",
    "Requests answered, by view, method and status.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "dashboard_http_request_duration_seconds",
    "Time to answer a request, by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LIVE_CALLS = Counter(
    "dashboard_live_api_calls",
    "Live API operations, after their retries, by operation and outcome (ok, throttled, or "
    "the error's code).",
    ["operation", "outcome"],
)
BREAKER_OPEN = Gauge(
    "dashboard_live_api_breaker_open",
    "1 while a process's circuit breaker to the Live API is open.",
    multiprocess_mode="livemax",
)


def live_call_observed(operation: str, outcome: str, breaker_open: bool) -> None:
    LIVE_CALLS.labels(operation, outcome).inc()
    BREAKER_OPEN.set(1 if breaker_open else 0)


class MetricsMiddleware:
    """Counts every request by its view (the URL pattern's name, not the path: a bounded set
    of labels)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unresolved"
        REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        return response


class StateCollector:
    """The state of things, read from the database when scraped."""

    def collect(self):
        from dashboard.alerts.models import AlertNotification
        from dashboard.archive.models import HarvestCursor, TotalHourlyRollup
        from dashboard.incidents.models import Incident
        from dashboard.redelivery.models import RedeliveryRun

        now = timezone.now()
        lag = GaugeMetricFamily(
            "dashboard_harvest_lag_seconds",
            "How far behind now each domain's archive is complete (NaN: not yet harvested).",
            labels=["domain"],
        )
        pushes = GaugeMetricFamily(
            "dashboard_push_check_lag_seconds",
            "How far behind now each ingest domain's pushes are checked.",
            labels=["domain"],
        )
        cursors = HarvestCursor.objects.filter(domain__gone_at__isnull=True).values_list(
            "domain__name", "domain__domain_type", "harvested_until", "pushes_checked_until"
        )
        for name, kind, harvested, checked in cursors:
            lag.add_metric([name], _age(now, harvested))
            if kind == "liveEdge":
                pushes.add_metric([name], _age(now, checked))
        yield lag
        yield pushes
        since = now - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS)
        archived = TotalHourlyRollup.objects.filter(hour__gte=since).aggregate(n=Sum("count"))
        yield GaugeMetricFamily(
            "dashboard_archived_records",
            "Records in the archive (the retention's days, from the hourly totals).",
            value=archived["n"] or 0,
        )
        yield GaugeMetricFamily(
            "dashboard_incidents_open",
            "Incidents not resolved.",
            value=Incident.objects.exclude(state=Incident.State.RESOLVED).count(),
        )
        yield _by(
            "dashboard_alert_notifications",
            "Alert notifications by status.",
            AlertNotification.objects,
            "status",
        )
        yield _by(
            "dashboard_redelivery_runs", "Redelivery runs by state.", RedeliveryRun.objects, "state"
        )
        yield _tasks_waiting()


def _age(now, moment) -> float:
    return (now - moment).total_seconds() if moment else float("nan")


def _by(name: str, documentation: str, rows, field: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[field])
    for row in rows.order_by().values(field).annotate(n=Count("pk")):
        family.add_metric([str(row[field])], row["n"])
    return family


def _tasks_waiting() -> GaugeMetricFamily:
    from django_tasks_db.models import DBTaskResult

    family = GaugeMetricFamily(
        "dashboard_tasks", "Background tasks by status (the database queue).", labels=["status"]
    )
    for row in DBTaskResult.objects.order_by().values("status").annotate(n=Count("pk")):
        family.add_metric([str(row["status"])], row["n"])
    return family


def metrics_response(request) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is needed.\n", status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    state = CollectorRegistry()
    state.register(StateCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    body = generate_latest(processes) + generate_latest(state)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
