"""How fast the sandbox answers DescribeLiveRecordNotifyRecords on its 200,000-record domain.

Signed requests straight to the sandbox's WSGI app (no socket), first page and deep pages with
PageSize 500, with and without filters. The seed (once, about a minute) is kept in var/bench/.
"""

from __future__ import annotations

import datetime as dt
import time

from _bootstrap import setup, summary

REPEAT = 15


def main() -> None:
    setup("deep", sandbox_db="deep-sandbox.sqlite3")
    from django.core.management import call_command

    call_command("sandbox_seed", big_domain_records=200_000, verbosity=1)
    import httpx

    from dashboard.live import LiveClient
    from dashboard.sandbox.app import application
    from dashboard.upstream import EMBEDDED_ENDPOINT, EmbeddedTransport

    client = LiveClient(
        endpoint=EMBEDDED_ENDPOINT,
        access_key_id="sandbox",
        access_key_secret="sandbox-secret",
        http=httpx.Client(transport=EmbeddedTransport(application)),
    )
    domain = "live.example-shop.com"
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=7) + dt.timedelta(minutes=1)
    total = client.describe_notify_records(domain, start=start, end=now, page_size=1).total_num
    print(f"{domain}: {total:,} records in the 7-day window")
    last = -(-total // 500)
    sample = client.describe_notify_records(domain, start=start, end=now, page_size=1).records[0]
    failed = client.describe_notify_records(
        domain, start=start, end=now, page_size=1, status="failed"
    )
    last_failed = -(-failed.total_num // 500)
    cases = [
        ("page 1, PageSize 500", {"page_number": 1}),
        (f"page {last // 2}, PageSize 500", {"page_number": last // 2}),
        (f"page {last} (last), PageSize 500", {"page_number": last}),
        (
            f"page {last_failed} (last), PageSize 500, Status=failed",
            {"page_number": last_failed, "status": "failed"},
        ),
        (
            "page 2, PageSize 500, AppName+StreamName",
            {"page_number": 2, "app_name": sample.app_name, "stream_name": sample.stream_name},
        ),
    ]
    for label, kwargs in cases:
        samples = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            page = client.describe_notify_records(
                domain, start=start, end=now, page_size=500, **kwargs
            )
            samples.append((time.perf_counter() - t0) * 1000)
        print(f"  {label:<45} {len(page.records):>3} rows  {summary(samples)}")


if __name__ == "__main__":
    main()
