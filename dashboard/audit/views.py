"""/audit/: the audit log (leads), filtered, paged and exported as CSV."""

from __future__ import annotations

import datetime as dt
import json

from django.utils.translation import gettext as _

from dashboard.access import require_perm
from dashboard.csvexport import csv_response
from dashboard.htmx import render_page, vary_on_htmx
from dashboard.paging import pinned_page_of

from .filters import AuditFilter
from .models import AuditEntry
from .selectors import audit_entries, audit_rows

PAGE_SIZE = 50
CSV_HEADER = [
    "time_utc",
    "actor",
    "domain",
    "kind",
    "action",
    "outcome",
    "request_id",
    "error_code",
    "error_message",
    "client_ip",
    "rollback_of",
    "before",
    "after",
]


@vary_on_htmx
def audit_list(request):
    require_perm(request.user, "audit.view_auditentry", _("Only leads can read the audit log."))
    filterset = AuditFilter(request.GET or None, queryset=audit_entries())
    context = {"form": filterset.form, "page": None}
    if filterset.is_bound and not filterset.is_valid():
        return render_page(request, "audit/list.html", "results", context, status=400)
    rows = filterset.qs if filterset.is_bound else audit_entries()
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"audit-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.csv",
            header=CSV_HEADER,
            rows=(_csv_row(e) for e in rows.iterator(chunk_size=500)),
        )
    # a page after the first is read as the log was at the first: entries written since (an
    # edit while a lead pages back through the day) do not push the rows seen onto the next
    read = pinned_page_of(request, rows, PAGE_SIZE, errors_to=filterset.form)
    context.update(page=read.page, as_of=read.as_of, pinned=read.pinned)
    if context["page"] is None:
        return render_page(request, "audit/list.html", "results", context, status=400)
    context["rows"] = audit_rows(context["page"].object_list)
    context["entry_filter"] = (
        filterset.form.cleaned_data.get("entry") if filterset.is_bound else None
    )
    return render_page(request, "audit/list.html", "results", context)


def _csv_row(entry: AuditEntry) -> list:
    def as_json(value) -> str:
        return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)

    return [
        entry.created_at.astimezone(dt.UTC).isoformat(),
        entry.actor_name,
        entry.domain_name,
        entry.kind,
        entry.action,
        entry.outcome,
        entry.request_id,
        entry.error_code,
        entry.message_in("en"),
        entry.client_ip or "",
        entry.rollback_of_id or "",
        as_json(entry.before),
        as_json(entry.after),
    ]
