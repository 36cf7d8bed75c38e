"""Liveness and readiness probes: `GET /healthz` and `GET /readyz`.

Answered by the first middleware, before the host is checked (probes hit the pod's address,
which ALLOWED_HOSTS does not list), before the HTTPS redirect and without sign-in. Both are
JSON; neither ever shows a setting, a URL or an error's text (only its class):

- /healthz: the process answers. No database, no cache: a liveness probe that fails only when
  the process cannot serve at all.
- /readyz: each dependency, with its result and how long it took — every database in use (the
  sandbox's only while it is the upstream) answers a query, no migration is left to apply,
  and the cache (Redis, when REDIS_URL is set) stores and reads a value. 200 when all pass,
  503 otherwise.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

PATHS = ("/healthz", "/readyz", "/metrics")
# Once every migration is applied it stays so for this process (a new one comes with a new
# release, that is a new process): the migration graph is then not loaded on every probe.
_migrated = {"done": False}


def _database(alias: str) -> Callable[[], None]:
    def check() -> None:
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            connection.close()  # a broken connection is not kept for the next request
            raise

    return check


def _migrations() -> None:
    if _migrated["done"]:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise NotMigrated(f"{len(pending)} migrations not applied")
    _migrated["done"] = True


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise CacheUnreadable("the value written could not be read back")
    cache.delete(key)


class NotMigrated(Exception):
    pass


class CacheUnreadable(Exception):
    pass


def readiness_checks() -> dict[str, Callable[[], None]]:
    aliases = [a for a in settings.DATABASES if a != "sandbox" or not settings.LIVE_API_ENDPOINT]
    checks = {f"database:{alias}": _database(alias) for alias in aliases}
    checks["migrations"] = _migrations
    if settings.REDIS_URL:
        checks["cache"] = _cache
    return checks


def _run(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except (NotMigrated, CacheUnreadable) as failure:
        result = {"ok": False, "error": str(failure)}  # our own words: no secret in them
    except Exception as failure:  # noqa: BLE001 - a probe reports, it does not raise
        result = {"ok": False, "error": type(failure).__name__}
    else:
        result = {"ok": True}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


class HealthMiddleware:
    """First in MIDDLEWARE: the two probe paths are answered here and go no further."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "method not allowed"}, status=405)
        if request.path == "/metrics":
            from .metrics import metrics_response

            return metrics_response(request)
        if request.path == "/healthz":
            response = JsonResponse({"status": "ok"})
        else:
            results = {name: _run(check) for name, check in readiness_checks().items()}
            ready = all(result["ok"] for result in results.values())
            response = JsonResponse(
                {"status": "ready" if ready else "not ready", "checks": results},
                status=200 if ready else 503,
            )
        response["Cache-Control"] = "no-store"
        return response
