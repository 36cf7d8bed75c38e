"""A name search that no name holds as typed: since 2026-12-07 it reads the names with a
character that draws nothing (`livetest` finds `live<U+200B>test`), a scan of the names table.
What that costs at 200,000 names (a large account; the demo has a few hundred), PostgreSQL,
beside the search before it (the trigram-indexed names only), rounds alternated.

    bash scripts/with-postgres.sh .venv/bin/python benchmarks/names_fallback.py
"""

from __future__ import annotations

import datetime as dt
import os
import time

from _bootstrap import setup, summary

NAMES = int(os.environ.get("NAMES", "200000"))
HIDDEN = 50  # names with a zero-width space among them
ROUNDS = 30


def main() -> None:
    setup("names", keep_database=os.environ.get("DATABASE_URL", "").startswith("postgres"))
    from django.db import connection
    from django.utils import timezone

    from dashboard.archive.models import NAME_SLACK, ArchivedName
    from dashboard.archive.selectors import names_matching
    from dashboard.domains.models import Domain

    Domain.objects.filter(name="names.bench.example.com").delete()
    domain = Domain.objects.create(name="names.bench.example.com", domain_type="streaming")
    now = timezone.now()
    rows = [
        ArchivedName(domain=domain, field="stream", name=f"studio-{n:06}", last_seen=now)
        for n in range(NAMES)
    ]
    rows += [
        ArchivedName(domain=domain, field="stream", name=f"cam\u200b{n}", last_seen=now)
        for n in range(HIDDEN)
    ]
    ArchivedName.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE archive_archivedname")
    filters = {"start": now - dt.timedelta(days=90)}

    def before(part: str) -> list[str]:  # names_matching as it was: the names holding it only
        found = ArchivedName.objects.filter(
            field="stream", name__icontains=part, last_seen__gte=filters["start"] - NAME_SLACK
        )
        return list(found.order_by().values_list("name", flat=True).distinct()[:1001])

    def now_(part: str) -> list[str]:
        return list(names_matching("stream", part, filters))

    print(f"-- {NAMES:,} stream names, {HIDDEN} with U+200B, {connection.vendor}")
    for label, part in (
        ("a part 100 names hold", "studio-0001"),
        ("a part no name holds", "nosuch"),
        ("a name reading as one with U+200B", "cam7"),
    ):
        samples = {"now": [], "before": []}
        for _ in range(ROUNDS):
            for name, search in (("now", now_), ("before", before)):
                started = time.perf_counter()
                found = search(part)
                samples[name].append((time.perf_counter() - started) * 1000)
                if name == "now":
                    count = len(found)
        print(
            f"{label} (found {count}): now {summary(samples['now'])}; "
            f"before {summary(samples['before'])}"
        )


if __name__ == "__main__":
    main()
