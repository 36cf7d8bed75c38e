"""OpenTelemetry tracing, only when the standard OTEL_* environment asks for it.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
OTEL_TRACES_EXPORTER is set, and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none:
every request (Django), every call to the Live API and to receivers (httpx) and every query
(psycopg) becomes a span of one trace, sent in batches by OTLP over HTTP (the exporter reads
the rest of OTEL_*: headers, timeout, service name, resource attributes, sampler). Off, this
module imports nothing from OpenTelemetry, and nothing is slowed.

Started from the ops app's `ready()`, so gunicorn workers, `runserver` and every management
command (the task worker, the harvester, the alert loop) trace alike; Django's middleware is
instrumented before the first request builds the middleware chain. The packages are the
`tracing` extra: `pip install -e ".[tracing]"`.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_started = False


def wanted(environ=os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return bool(
        exporters
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    )


def start() -> bool:
    """Set up tracing if the environment asks for it (once a process); True when on."""
    global _started
    if _started or not wanted():
        return _started
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as missing:
        log.error(
            "OTEL_* is set but OpenTelemetry is not installed (pip install -e '.[tracing]'): %s",
            missing,
        )
        return False
    service = os.environ.get("OTEL_SERVICE_NAME", "").strip() or "live-callback-dashboard"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    names = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        else:
            log.error("OTEL_TRACES_EXPORTER=%s is not one of otlp, console, none", name)
            continue
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    _started = True
    log.info("tracing on: service %s, exporter %s", service, names)
    return True
