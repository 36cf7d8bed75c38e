"""The records list's pages after the first are read as the archive was at the first
(2026-12-07): the first page reads the records' number then, a page after it takes the
records archived since out of its counts. What that costs on PostgreSQL with 90 days of daily
partitions: the number from the records' sequence beside the newest record by its number (which
asks every partition), and a domain's page 2 of 24 hours with and without the pin, rounds
alternated.

    bash scripts/with-postgres.sh .venv/bin/python benchmarks/paging_pin.py
"""

from __future__ import annotations

import datetime as dt
import os
import time

from _bootstrap import setup, summary

RECORDS = int(os.environ.get("RECORDS", "20000"))
SINCE = 50  # archived after the first page was read
ROUNDS = 30
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")


def main() -> None:
    setup("paging", keep_database=os.environ.get("DATABASE_URL", "").startswith("postgres"))
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from dashboard.accounts.roles import VIEWER
    from dashboard.archive.partitions import partitions_ahead
    from dashboard.archive.selectors import newest_record_id, record_number_now
    from dashboard.domains.models import Domain
    from tests.conftest import archive, make_user

    now = timezone.now()
    if connection.vendor == "postgresql":
        partitions_ahead(now, back=92, ahead=3)
    Domain.objects.filter(name="paging.bench.example.com").delete()
    domain = Domain.objects.create(name="paging.bench.example.com", domain_type="liveVideo")

    def store(moments) -> None:  # as the harvester stores them: rollups, names, incidents
        archive(domain, *(("failed", moment) for moment in moments), stream="cam")

    store([now - dt.timedelta(seconds=2 + 4 * n) for n in range(RECORDS)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    viewer = make_user("paging-bench", VIEWER)
    client = Client()
    client.force_login(viewer)
    query = {"domain": domain.name, "window": "24h", "size": "50"}
    pin = record_number_now()
    store([now + dt.timedelta(milliseconds=n) for n in range(SINCE)])

    print(f"-- {RECORDS:,} records in one domain, {SINCE} archived since, {connection.vendor}")
    samples = {"sequence": [], "newest": []}
    for _ in range(ROUNDS):
        for name, read in (("sequence", record_number_now), ("newest", newest_record_id)):
            started = time.perf_counter()
            read()
            samples[name].append((time.perf_counter() - started) * 1000)
    print(
        f"the first page's number: sequence {summary(samples['sequence'])}; "
        f"newest record {summary(samples['newest'])}"
    )
    samples = {"pinned": [], "unpinned": []}
    for _ in range(ROUNDS):
        for name, extra in (("pinned", {"as_of": pin}), ("unpinned", {})):
            started = time.perf_counter()
            response = client.get("/records/", {**query, "page": 2, **extra})
            samples[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (response.status_code, response.content[:300])
    print(
        f"page 2, whole request: read as of the first {summary(samples['pinned'])}; "
        f"as now {summary(samples['unpinned'])}"
    )


if __name__ == "__main__":
    main()
