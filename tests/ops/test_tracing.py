"""OpenTelemetry traces from a real gunicorn to a real OTLP/HTTP receiver: one trace holds the
request, its call to the Live API and its queries; without OTEL_* nothing is even imported."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from dashboard.ops.tracing import wanted
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, Gunicorn, process_env, signed_in_session
from tests.sandbox.servers import sandbox_on_this_run

ROOT = Path(__file__).resolve().parents[2]
SERVER, CLIENT = 2, 3  # opentelemetry.proto Span.SpanKind


class Collector:
    """An OTLP/HTTP traces endpoint (protobuf), keeping every span it is sent."""

    def __init__(self):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[dict] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = {
                        a.key: a.value.string_value for a in resource.resource.attributes
                    }.get("service.name")
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            collector.spans.append(
                                {
                                    "service": service,
                                    "name": span.name,
                                    "kind": span.kind,
                                    "trace": span.trace_id.hex(),
                                    "id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex(),
                                    "attributes": {
                                        a.key: a.value.string_value or a.value.int_value
                                        for a in span.attributes
                                    },
                                }
                            )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_request_its_live_api_call_and_its_queries_are_one_trace(lead, synced):
    collector = Collector()
    # The Live API over real HTTP (the sandbox as its own process, on this run's sandbox
    # database), as in production: the embedded sandbox is called in-process, not over HTTP.
    server = None
    try:
        with sandbox_on_this_run() as port:
            server = Gunicorn(
                workers=2,
                LIVE_API_ENDPOINT=f"http://127.0.0.1:{port}",
                ALIBABA_CLOUD_ACCESS_KEY_ID="sandbox",
                ALIBABA_CLOUD_ACCESS_KEY_SECRET="sandbox-secret",
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                OTEL_SERVICE_NAME="dashboard-under-test",
                OTEL_BSP_SCHEDULE_DELAY="100",
            )
            session = signed_in_session(server.url, lead)
            answer = session.post(f"/domains/{TEAM_DOMAIN}/refresh/")
            assert answer.status_code == 302
            deadline = time.monotonic() + 30
            request = None
            while time.monotonic() < deadline and request is None:
                time.sleep(0.2)
                request = next(
                    (
                        s
                        for s in list(collector.spans)
                        if s["kind"] == SERVER
                        and s["name"].startswith("POST")
                        and "refresh" in str(s["attributes"].get("http.route", ""))
                    ),
                    None,
                )
            assert request is not None, [s["name"] for s in collector.spans][:30]
            time.sleep(0.5)  # the rest of the batch
    finally:
        if server is not None:
            server.stop()
        collector.stop()
    assert request["service"] == "dashboard-under-test"
    trace = [s for s in collector.spans if s["trace"] == request["trace"]]
    ids = {s["id"] for s in trace}
    calls = [s for s in trace if s["kind"] == CLIENT and "db.system" not in s["attributes"]]
    assert calls, sorted({(s["name"], s["kind"]) for s in trace})
    assert all(s["parent"] in ids for s in calls)  # children of the request, not orphans
    urls = [str(s["attributes"].get("url.full") or s["attributes"].get("http.url")) for s in calls]
    assert any(url.startswith(f"http://127.0.0.1:{port}/") for url in urls), urls
    # the signed request's secrets stay out of the traces
    for span in collector.spans:
        text = str(span["attributes"])
        assert "Signature" not in text and "sandbox-secret" not in text, span
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        queries = [s for s in trace if s["attributes"].get("db.system") == "postgresql"]
        assert queries, [(s["name"], s["attributes"]) for s in trace]


def _imports_opentelemetry(**env) -> bool:
    probe = (
        "import django, sys; django.setup(); "
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=process_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1] == "True"


def test_without_otel_settings_opentelemetry_is_not_even_imported():
    assert _imports_opentelemetry() is False
    assert _imports_opentelemetry(OTEL_TRACES_EXPORTER="none") is False
    assert _imports_opentelemetry(OTEL_TRACES_EXPORTER="console") is True


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "   "}, False),
    ],
)
def test_which_environments_turn_tracing_on(environ, on):
    assert wanted(environ) is on
