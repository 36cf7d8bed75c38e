"""A /metrics scrape with 1,000 domains: the state read from the database at scrape time (a
harvest lag per domain, a push-check lag per ingest domain, the counts) plus the process's
counters. Goal: ≤ 100 ms."""

from __future__ import annotations

import datetime as dt
import os
import time

from _bootstrap import setup, summary

N = int(os.environ.get("N", "1000"))
ROUNDS = 30


def main() -> None:
    os.environ["METRICS_TOKEN"] = "bench-token"
    setup("metrics")
    from django.test import Client
    from django.utils import timezone

    from dashboard.archive.models import HarvestCursor
    from dashboard.domains.models import Domain

    Domain.objects.all().delete()
    now = timezone.now()
    Domain.objects.bulk_create(
        Domain(
            name=f"d{i:04d}.bench.example.com",
            domain_type=Domain.Type.INGEST if i % 4 == 0 else Domain.Type.STREAMING,
            status=Domain.Status.ONLINE,
        )
        for i in range(N)
    )
    HarvestCursor.objects.bulk_create(
        HarvestCursor(
            domain=d,
            harvested_until=now - dt.timedelta(seconds=30),
            pushes_checked_until=now - dt.timedelta(minutes=2),
        )
        for d in Domain.objects.all()
    )
    client = Client(HTTP_AUTHORIZATION="Bearer bench-token", HTTP_HOST="10.0.0.1")
    assert client.get("/metrics").status_code == 200
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get("/metrics")
        samples.append((time.perf_counter() - started) * 1000)
    lines = response.content.decode().count("\n")
    print(f"/metrics with {N} domains ({lines} lines, {len(response.content):,} bytes)")
    print(f"  {summary(samples)}")


if __name__ == "__main__":
    main()
