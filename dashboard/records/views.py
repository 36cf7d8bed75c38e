"""/records/: the explorer, the failure overview and CSV export."""

from __future__ import annotations

import csv
import json
import time

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.vary import vary_on_headers

from dashboard.domains.models import Domain
from dashboard.live import LiveApiError, get_client

from .forms import PAGE_SIZES, RecordsFilterForm
from .selectors import failure_stats, notify_records_page

EXPORT_CAP = 100_000


def _template(request, name: str, partial: str) -> str:
    return f"{name}#{partial}" if request.htmx and not request.htmx.boosted else name


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


@vary_on_headers("HX-Request")
def records_view(request):
    started = time.perf_counter()
    form = RecordsFilterForm(request.GET or None)
    domains = Domain.objects.filter(
        gone_at__isnull=True, domain_type=Domain.Type.STREAMING
    ).values_list("name", flat=True)
    context = {"form": form, "domains": list(domains), "page_sizes": PAGE_SIZES}
    template = _template(request, "records/list.html", "results")
    if form.is_bound and not form.is_valid():
        return render(request, template, context, status=400)
    filters = form.cleaned_data if form.is_bound else None
    upstream_ms = 0.0
    status = 200
    zone = timezone.get_current_timezone()
    if filters and filters.get("domain"):
        t0 = time.perf_counter()
        try:
            page = notify_records_page(domain=filters["domain"], filters=filters)
        except LiveApiError as error:
            context["upstream_error"] = error
            status = 502
        else:
            context["result"] = page
            context["rows"] = [_row(r, zone) for r in page.records]
            context["last_page"] = max(page.total_page, 1)
        upstream_ms = (time.perf_counter() - t0) * 1000
    context["filters"] = filters
    response = render(request, template, context, status=status)
    app_ms = (time.perf_counter() - started) * 1000
    response["Server-Timing"] = f"upstream;dur={upstream_ms:.1f}, app;dur={app_ms:.1f}"
    return response


class _Echo:
    def write(self, value):
        return value


def records_export(request):
    form = RecordsFilterForm(request.GET)
    if form.is_valid() and not form.cleaned_data.get("domain"):
        form.add_error("domain", _("Choose a domain to export."))
    if not form.is_valid():
        return render(
            request, "records/list.html", {"form": form, "page_sizes": PAGE_SIZES}, status=400
        )
    filters = form.cleaned_data
    client = get_client()
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(
            [
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
        )
        written = 0
        try:
            for record in client.iter_notify_records(
                filters["domain"],
                start=filters["start"],
                end=filters["end"],
                page_size=500,
                app_name=filters.get("app") or None,
                stream_name=filters.get("stream") or None,
                status=filters.get("status") or None,
                now=timezone.now(),
            ):
                if written >= EXPORT_CAP:
                    yield writer.writerow(
                        [f"# capped at {EXPORT_CAP} rows: narrow the filters to export the rest"]
                    )
                    return
                yield writer.writerow(
                    [
                        record.notify_time.isoformat() if record.notify_time else "",
                        record.domain_name,
                        record.app_name,
                        record.stream_name,
                        record.notify_type,
                        record.notify_result,
                        _cell(record.notify_url),
                        _cell(record.description),
                        _cell(record.notify_response),
                        _cell(record.notify_content),
                        _cell(record.notify_header),
                    ]
                )
                written += 1
        except LiveApiError as error:
            yield writer.writerow(
                [f"# export stopped: {error.code} {error.message} RequestId {error.request_id}"]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="records-{filters["domain"]}.csv"'
    return response


def _cell(text: str) -> str:
    # Spreadsheets run cells starting with = + - @ as formulas.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def overview(request):
    domains = Domain.objects.filter(
        gone_at__isnull=True, domain_type=Domain.Type.STREAMING
    ).select_related("record_config")
    return render(request, "records/overview.html", {"domains": domains})


def _stats_fragment(request, name: str, template: str):
    domain = get_object_or_404(Domain, name=name)
    try:
        stats = failure_stats(domain=domain.name, now=timezone.now().replace(microsecond=0))
    except LiveApiError as error:
        return render(request, template, {"domain": domain, "error": error})
    return render(request, template, {"domain": domain, "stats": stats})


def overview_row(request, name: str):
    """One row of the failure overview, filled in as the page loads."""
    return _stats_fragment(request, name, "records/_overview_row.html")


def failure_rate_badge(request, name: str):
    """The 24-hour failure rate of one domain, for the domain list (loaded as rows appear)."""
    return _stats_fragment(request, name, "records/_rate.html")
