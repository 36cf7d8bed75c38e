"""A chart's day bars, summed by the database (2026-12-07): they were truncated to days by the
reader's zone *name* (a zone PostgreSQL did not know was a 500; a zone whose midnight is not on
a whole hour, as India's, put part of an hour in the wrong day); now each hourly row is put in
its bar by `width_bucket` over the bars' starts, which need no zone name. The 90-day chart's
query of every domain's hourly totals and of one busy domain's hourly rollups, both ways,
alternated, in New York.

    bash scripts/with-postgres.sh .venv/bin/python benchmarks/chart_days.py
"""

from __future__ import annotations

import datetime as dt
import os
import time
import zoneinfo

from _bootstrap import setup, summary

DAYS = 92
ROUNDS = 30
CLASSES = ["", "http_4xx", "http_5xx", "timeout", "dns", "refused", "tls", "signature"]
TYPES = ["record_file", "record_status", "snapshot"]


def main() -> None:
    setup("chart", keep_database=os.environ.get("DATABASE_URL", "").startswith("postgres"))
    from django.db import connection
    from django.db.models import Sum
    from django.db.models.functions import Trunc
    from django.utils import timezone

    from dashboard.archive.models import HourlyRollup, TotalHourlyRollup
    from dashboard.domains.models import Domain
    from dashboard.incidents.selectors import PERIODS, BucketStart, _bucket_starts, domain_chart

    zone = zoneinfo.ZoneInfo("America/New_York")
    now = timezone.now()
    first = (now - dt.timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    hours = [first + dt.timedelta(hours=h) for h in range(DAYS * 24)]
    Domain.objects.filter(name="chart.bench.example.com").delete()
    domain = Domain.objects.create(name="chart.bench.example.com", domain_type="liveVideo")
    TotalHourlyRollup.objects.filter(hour__gte=first).delete()

    def result(cls: str) -> str:
        return "success" if not cls else "failed"

    TotalHourlyRollup.objects.bulk_create(
        TotalHourlyRollup(hour=h, notify_result=result(c), failure_class=c, count=7)
        for h in hours
        for c in CLASSES
    )
    HourlyRollup.objects.bulk_create(
        (
            HourlyRollup(
                domain=domain,
                hour=h,
                notify_type=t,
                notify_result=result(c),
                failure_class=c,
                count=3,
            )
            for h in hours
            for t in TYPES
            for c in CLASSES
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    span, step = PERIODS["90d"]
    starts = _bucket_starts(now - span, now, step, zone)

    def rows(cells, slot):
        cells = cells.filter(hour__gte=starts[0], hour__lt=now).annotate(slot=slot)
        return list(
            cells.values("slot", "notify_result", "failure_class")
            .annotate(n=Sum("count"))
            .order_by("slot")
        )

    ways = {
        "by bars' starts": lambda: BucketStart("hour", starts),
        "by zone name": lambda: Trunc("hour", "day", tzinfo=zone),
    }
    scopes = {
        "every domain": TotalHourlyRollup.objects.all,
        "one domain": lambda: HourlyRollup.objects.filter(domain=domain),
    }
    print(f"-- 90-day chart, {len(hours):,} hours, {connection.vendor}, New York")
    with timezone.override(zone):
        for scope, cells in scopes.items():
            samples = {way: [] for way in ways}
            counts = {}
            for _ in range(ROUNDS):
                for way, slot in ways.items():
                    started = time.perf_counter()
                    counts[way] = len(rows(cells(), slot()))
                    samples[way].append((time.perf_counter() - started) * 1000)
            print(
                f"{scope}: "
                + "; ".join(f"{w} {summary(samples[w])}, {counts[w]} rows" for w in ways)
            )
            chart_domain = domain if scope == "one domain" else None
            whole = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                domain_chart(domain=chart_domain, period="90d", now=now)
                whole.append((time.perf_counter() - started) * 1000)
            print(f"{scope}: the whole domain_chart (its markers too) {summary(whole)}")


if __name__ == "__main__":
    main()
