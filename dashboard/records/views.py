"""/records/: the explorer, the failure overview and CSV export."""

from __future__ import annotations

import json
import time

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard.csvexport import csv_response
from dashboard.domains.selectors import domain_get, streaming_domain_names
from dashboard.failures import UpstreamError
from dashboard.htmx import render_page, vary_on_htmx

from .forms import PAGE_SIZES, RecordsFilterForm
from .selectors import failure_stats, notify_records_iter, notify_records_page

EXPORT_CAP = 100_000
EXPORT_HEADER = [
    "notify_time_utc",
    "domain",
    "app",
    "stream",
    "type",
    "result",
    "notify_url",
    "description",
    "response",
    "content",
    "header",
]


class UpstreamPage:
    """An upstream page of records, shaped like Django's Page for the shared pager."""

    def __init__(self, number: int, num_pages: int, count: int):
        self.number = number
        self.paginator = type("P", (), {"num_pages": max(num_pages, 1), "count": count})()

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def _row(record, zone) -> dict:
    """What one results row shows, prepared once (times in the user's zone and in UTC)."""
    when = record.notify_time
    return {
        "record": record,
        "content": _pretty(record.notify_content, record.content_json),
        "iso": when.isoformat() if when else "",
        "local": when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if when else "",
        "utc": when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
        "result_class": "good" if record.succeeded else "bad",
    }


def _pretty(text: str, parsed) -> str:
    if parsed is None:
        return text
    return json.dumps(parsed, indent=2, ensure_ascii=False)


@vary_on_htmx
def records_view(request):
    started = time.perf_counter()
    form = RecordsFilterForm(request.GET or None)
    context = {"form": form, "domains": streaming_domain_names(), "page_sizes": PAGE_SIZES}
    if form.is_bound and not form.is_valid():
        return render_page(request, "records/list.html", "results", context, status=400)
    filters = form.cleaned_data if form.is_bound else None
    upstream_ms = 0.0
    status = 200
    zone = timezone.get_current_timezone()
    if filters and filters.get("domain"):
        t0 = time.perf_counter()
        try:
            page = notify_records_page(domain=filters["domain"], filters=filters)
        except UpstreamError as failure:
            context["upstream_error"] = failure
            status = 502
        else:
            context["result"] = page
            context["rows"] = [_row(r, zone) for r in page.records]
            context["page"] = UpstreamPage(page.page_number, page.total_page, page.total_num)
            context["export_capped"] = page.total_num > EXPORT_CAP
        upstream_ms = (time.perf_counter() - t0) * 1000
    context["filters"] = filters
    response = render_page(request, "records/list.html", "results", context, status=status)
    app_ms = (time.perf_counter() - started) * 1000
    response["Server-Timing"] = f"upstream;dur={upstream_ms:.1f}, app;dur={app_ms:.1f}"
    return response


def records_export(request):
    form = RecordsFilterForm(request.GET)
    if form.is_valid() and not form.cleaned_data.get("domain"):
        form.add_error("domain", _("Choose a domain to export."))
    if not form.is_valid():
        context = {"form": form, "page_sizes": PAGE_SIZES, "domains": streaming_domain_names()}
        return render(request, "records/list.html", context, status=400)
    filters = form.cleaned_data
    try:
        total = notify_records_page(
            domain=filters["domain"], filters={**filters, "page": 1, "size": 1}
        ).total_num
    except UpstreamError as failure:
        context = {"form": form, "page_sizes": PAGE_SIZES, "upstream_error": failure}
        return render(request, "records/list.html", context, status=502)

    def rows():
        for written, record in enumerate(
            notify_records_iter(domain=filters["domain"], filters=filters)
        ):
            if written >= EXPORT_CAP:
                return
            yield [
                record.notify_time.isoformat() if record.notify_time else "",
                record.domain_name,
                record.app_name,
                record.stream_name,
                record.notify_type,
                record.notify_result,
                record.notify_url,
                record.description,
                record.notify_response,
                record.notify_content,
                record.notify_header,
            ]

    capped = total > EXPORT_CAP
    name = f"records-{filters['domain']}" + (f"-first-{EXPORT_CAP}-of-{total}" if capped else "")
    return csv_response(
        filename=f"{name}.csv",
        header=EXPORT_HEADER,
        rows=rows(),
        headers={"X-Export-Rows": str(min(total, EXPORT_CAP)), "X-Export-Total": str(total)},
    )


def overview(request):
    from dashboard.domains.models import Domain

    domains = Domain.objects.filter(
        gone_at__isnull=True, domain_type=Domain.Type.STREAMING
    ).select_related("record_config")
    return render(request, "records/overview.html", {"domains": domains})


def _stats_fragment(request, name: str, template: str):
    domain = domain_get(name=name)
    if domain is None:
        return render(request, template, {"error_text": _("There is no such domain.")}, status=404)
    try:
        stats = failure_stats(domain=domain.name, now=timezone.now().replace(microsecond=0))
    except UpstreamError as failure:
        return render(request, template, {"domain": domain, "error": failure})
    return render(request, template, {"domain": domain, "stats": stats})


def overview_row(request, name: str):
    """One row of the failure overview, filled in as the page loads."""
    return _stats_fragment(request, name, "records/_overview_row.html")


def failure_rate_badge(request, name: str):
    """The 24-hour failure rate of one domain, for the domain list (loaded as rows appear)."""
    return _stats_fragment(request, name, "records/_rate.html")
