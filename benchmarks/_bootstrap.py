"""Shared set-up for benchmark scripts: their own databases under var/bench/."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"


def setup(
    name: str, *, sandbox_db: str | None = None, throttle: bool = False, keep_database=False
) -> None:
    """Databases of the benchmark's own; `keep_database`: use DATABASE_URL as it is set
    (a PostgreSQL that scripts/with-postgres.sh started)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DEBUG", "true")
    if not keep_database:
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / (name + '-dashboard.sqlite3')}"
    os.environ["SANDBOX_DATABASE_URL"] = (
        f"sqlite:///{BENCH_DIR / (sandbox_db or name + '-sandbox.sqlite3')}"
    )
    os.environ["LIVE_SANDBOX_THROTTLE"] = "true" if throttle else "false"
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="sandbox", verbosity=0)


def summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    median = statistics.median(ordered)
    return f"median {median:.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms (n={len(ordered)})"
