"""The 7-day sparklines of a page of 50 domains (2026-12-07): they were read from the daily
rollups, whose days are UTC days (in Shanghai a day from 08:00 to 08:00, unnamed); now from the
hourly totals, each hour put in the reader's day by the database (`width_bucket` over the
days' starts). 1,000 domains with 90 days of rows in both tables, both ways alternated on the
same database, in Shanghai.

    bash scripts/with-postgres.sh .venv/bin/python benchmarks/sparklines.py
"""

from __future__ import annotations

import datetime as dt
import os
import time
import zoneinfo

from _bootstrap import setup, summary

DOMAINS = 1000
DAYS = 90
PAGE = 50
ROUNDS = 40


def main() -> None:
    setup("sparklines", keep_database=os.environ.get("DATABASE_URL", "").startswith("postgres"))
    from django.db import connection
    from django.db.models import Q, Sum
    from django.utils import timezone

    from dashboard.archive.models import DailyRollup, DomainHourlyTotal
    from dashboard.domains.models import Domain
    from dashboard.incidents.selectors import failure_sparklines

    Domain.objects.filter(name__endswith=".spark.bench.example.com").delete()
    Domain.objects.bulk_create(
        Domain(name=f"d{n:04}.spark.bench.example.com", domain_type="liveVideo")
        for n in range(DOMAINS)
    )
    ids = list(
        Domain.objects.filter(name__endswith=".spark.bench.example.com")
        .order_by("name")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    first = (now - dt.timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        # every domain, every hour: 2,160,000 hourly totals; per day a success and two
        # failure classes: 270,000 daily rollup rows (as the harvester leaves them)
        cursor.execute(
            """INSERT INTO archive_domainhourlytotal (domain_id, hour, deliveries, failed)
            SELECT d, %s + make_interval(hours => h), 40 + (d + h) %% 17, (d * h) %% 3
            FROM unnest(%s::bigint[]) AS d, generate_series(0, %s) AS h""",
            [first, ids, DAYS * 24 - 1],
        )
        cursor.execute(
            """INSERT INTO archive_dailyrollup
            (domain_id, day, notify_result, failure_class, count)
            SELECT d, (%s::date + g), r.result, r.class, r.n
            FROM unnest(%s::bigint[]) AS d, generate_series(0, %s) AS g,
                 (VALUES ('success', '', 1000), ('failed', 'http_5xx', 20),
                         ('failed', 'timeout', 4)) AS r(result, class, n)""",
            [first.date(), ids, DAYS],
        )
        cursor.execute("VACUUM ANALYZE")

    def by_utc_days(domain_ids):
        """The way before: the daily rollups' UTC days."""
        today = now.astimezone(dt.UTC).date()
        start = today - dt.timedelta(days=6)
        rows = (
            DailyRollup.objects.filter(day__gte=start, domain_id__in=domain_ids)
            .values_list("domain_id", "day")
            .annotate(n=Sum("count"), failed=Sum("count", filter=~Q(notify_result="success")))
            .order_by()
        )
        return len(list(rows))

    def by_local_days(domain_ids):
        return len(failure_sparklines(domain_ids=domain_ids, now=now))

    ways = {"UTC days (daily rollups)": by_utc_days, "reader's days (hourly totals)": by_local_days}
    page = ids[400 : 400 + PAGE]
    print(f"-- 7-day sparklines of {PAGE} of {DOMAINS:,} domains, {DAYS} days, {connection.vendor}")
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        samples = {way: [] for way in ways}
        for _ in range(ROUNDS):
            for way, read in ways.items():
                started = time.perf_counter()
                read(page)
                samples[way].append((time.perf_counter() - started) * 1000)
    for way in ways:
        print(f"{way}: {summary(samples[way])}")
    if os.environ.get("BENCH_EXPLAIN"):
        from dashboard.archive.models import DomainHourlyTotal as T
        from dashboard.incidents.selectors import BucketStart, _hour_at_or_after

        zone = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = timezone.localtime(now, zone).date()
        starts = [
            _hour_at_or_after(dt.datetime.combine(today - dt.timedelta(days=n), dt.time(), zone))
            for n in range(6, -1, -1)
        ]
        rows = (
            T.objects.filter(hour__gte=starts[0], hour__lt=now, domain_id__in=page)
            .annotate(slot=BucketStart("hour", starts))
            .values_list("domain_id", "slot")
            .annotate(n=Sum("deliveries"), failed=Sum("failed"))
            .order_by()
        )
        print(rows.explain(analyze=True, buffers=True))
    Domain.objects.filter(pk__in=ids).delete()
    DomainHourlyTotal.objects.filter(domain_id__in=ids).delete()
    DailyRollup.objects.filter(domain_id__in=ids).delete()


if __name__ == "__main__":
    main()
