"""Reading notify records from the Live API (one upstream call per page view)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache

from dashboard.live import NotifyRecordsPage, get_client


def notify_records_page(*, domain: str, filters: dict) -> NotifyRecordsPage:
    return get_client().describe_notify_records(
        domain,
        start=filters["start"],
        end=filters["end"],
        page_number=filters["page"],
        page_size=filters["size"],
        app_name=filters.get("app") or None,
        stream_name=filters.get("stream") or None,
        status=filters.get("status") or None,
    )


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
    stats = FailureStats(
        total_24h=count(day, None),
        failed_24h=count(day, "failed"),
        total_7d=count(week, None),
        failed_7d=count(week, "failed"),
    )
    cache.set(key, stats, OVERVIEW_TTL)
    return stats
