"""Reading notify records from the Live API directly (the explorer's "Live API" source:
the newest minutes, or a domain the archive has not harvested yet)."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone

from dashboard.domains.models import Domain
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
