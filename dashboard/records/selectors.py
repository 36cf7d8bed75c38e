"""Reading notify records from the Live API directly (the explorer's "Live API" source:
the newest minutes, or a domain the archive has not harvested yet)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

from django.core.cache import cache
from django.utils import timezone

from dashboard.contract.api import PUBLISH_WINDOW
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.live import NotifyRecord, NotifyRecordsPage, PublishedStream
from dashboard.upstream import get_client, upstream_errors


def _query(filters: dict) -> dict:
    return {
        "start": filters["start"],
        "end": filters["end"],
        "app_name": filters.get("app") or None,
        "stream_name": filters.get("stream") or None,
        "status": filters.get("status") or None,
    }


def _ingest(domain: str) -> bool:
    """Is `domain` an ingest domain (whose records are its stream callbacks)?"""
    return Domain.objects.filter(name__iexact=domain, domain_type=Domain.Type.INGEST).exists()


def notify_records_page(*, domain: str, filters: dict) -> NotifyRecordsPage:
    """One page of records as the Live API answers it. Raises UpstreamError.

    A page number past the end is answered with the last page (the API would answer an empty
    page), so a pasted or edited URL never shows "page 99999 of 12".
    """
    client = get_client()
    describe = (
        client.describe_stream_notify_records if _ingest(domain) else client.describe_notify_records
    )
    with upstream_errors():
        page = describe(
            domain, page_number=filters["page"], page_size=filters["size"], **_query(filters)
        )
        if not page.records and page.total_page and filters["page"] > page.total_page:
            page = describe(
                domain, page_number=page.total_page, page_size=filters["size"], **_query(filters)
            )
    return page


def notify_records_iter(*, domain: str, filters: dict) -> Iterator[NotifyRecord]:
    """Every record matching the filters, page after page. Raises UpstreamError."""
    records = get_client().iter_notify_records(
        domain, page_size=500, stream=_ingest(domain), now=timezone.now(), **_query(filters)
    )
    while True:
        with upstream_errors():
            record = next(records, None)
        if record is None:
            return
        yield record


def pushes_of(*, app: str, stream: str, start, end) -> list[PublishedStream]:
    """The push sessions of `app`/`stream` in [start, end) (the last 30 days at most) that
    Live's push history holds, on every ingest domain still upstream; asked at most once a
    minute for one stream and window (the operation allows 3 calls a second for the whole
    account). Raises UpstreamError."""
    span = int((end - start).total_seconds())
    key = "pushes:" + hashlib.sha256(f"{app}\0{stream}\0{span}".encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _pushes(app, stream, start, end)
        cache.set(key, found, 60)
    return found


def _pushes(app: str, stream: str, start, end) -> list[PublishedStream]:
    end = min(end, timezone.now())
    start = max(start, end - PUBLISH_WINDOW + dt.timedelta(minutes=1))
    client = get_client()
    found: list[PublishedStream] = []
    ingest = Domain.objects.filter(domain_type=Domain.Type.INGEST, gone_at__isnull=True)
    for name in ingest.order_by("name").values_list("name", flat=True):
        try:
            with upstream_errors():
                page = client.describe_streams_publish_list(
                    name, start=start, end=end, app_name=app, stream_name=stream, deadline=3.0
                )
        except UpstreamError as failure:
            if failure.code == "InvalidDomain.NotFound":
                continue  # gone upstream since the last sync: it holds no pushes
            raise
        found += page.streams  # a stream pushes far fewer than a page's 3,000 times a month
    return sorted(found, key=lambda p: p.publish_time or end)
