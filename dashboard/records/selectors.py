"""Reading notify records from the Live API (one upstream call per page view)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from dashboard.live import NotifyRecord, NotifyRecordsPage
from dashboard.upstream import get_client, upstream_errors


def _query(filters: dict) -> dict:
    return {
        "start": filters["start"],
        "end": filters["end"],
        "app_name": filters.get("app") or None,
        "stream_name": filters.get("stream") or None,
        "status": filters.get("status") or None,
    }


def notify_records_page(*, domain: str, filters: dict) -> NotifyRecordsPage:
    """One page of records as the Live API answers it. Raises UpstreamError.

    A page number past the end is answered with the last page (the API would answer an empty
    page), so a pasted or edited URL never shows "page 99999 of 12".
    """
    client = get_client()
    with upstream_errors():
        page = client.describe_notify_records(
            domain, page_number=filters["page"], page_size=filters["size"], **_query(filters)
        )
        if not page.records and page.total_page and filters["page"] > page.total_page:
            page = client.describe_notify_records(
                domain, page_number=page.total_page, page_size=filters["size"], **_query(filters)
            )
    return page


def notify_records_iter(*, domain: str, filters: dict) -> Iterator[NotifyRecord]:
    """Every record matching the filters, page after page. Raises UpstreamError."""
    records = get_client().iter_notify_records(
        domain, page_size=500, now=timezone.now(), **_query(filters)
    )
    while True:
        with upstream_errors():
            record = next(records, None)
        if record is None:
            return
        yield record


@dataclass(frozen=True)
class FailureStats:
    total_24h: int
    failed_24h: int
    total_7d: int
    failed_7d: int

    @staticmethod
    def rate(failed: int, total: int) -> float | None:
        return failed / total if total else None

    @property
    def rate_24h(self) -> float | None:
        return self.rate(self.failed_24h, self.total_24h)

    @property
    def rate_7d(self) -> float | None:
        return self.rate(self.failed_7d, self.total_7d)


OVERVIEW_TTL = 60


def failure_stats(*, domain: str, now: dt.datetime) -> FailureStats:
    """Totals from TotalNum with PageSize=1 (no scanning); cached for a minute."""
    key = f"failure-stats:{domain}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    client = get_client()

    def count(delta: dt.timedelta, status: str | None) -> int:
        return client.describe_notify_records(
            domain, start=now - delta, end=now, page_size=1, status=status
        ).total_num

    day, week = dt.timedelta(hours=24), dt.timedelta(days=7)
    with upstream_errors():
        stats = FailureStats(
            total_24h=count(day, None),
            failed_24h=count(day, "failed"),
            total_7d=count(week, None),
            failed_7d=count(week, "failed"),
        )
    cache.set(key, stats, OVERVIEW_TTL)
    return stats
