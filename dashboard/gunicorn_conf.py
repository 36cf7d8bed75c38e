"""Gunicorn's settings for the dashboard: `gunicorn -c python:dashboard.gunicorn_conf
dashboard.wsgi`. With LOG_FORMAT=json gunicorn's own lines (start-up, workers booting or
timing out) are JSON objects like the dashboard's; its access log stays off (the dashboard
writes one access line per request itself, with the request id)."""

from __future__ import annotations

import os

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "dashboard.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
    }

# Prometheus counters of several workers: each writes its own files in one directory (a new
# one each start, so no stale counts), and a scrape answered by any worker sums them all.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashboard-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
