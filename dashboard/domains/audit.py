"""The audit log (/audit/), for leads: filters, htmx paging and CSV export."""

from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.vary import vary_on_headers

from .models import AuditEntry
from .permissions import can_read_audit


class AuditFilterForm(forms.Form):
    domain = forms.CharField(label=_("Domain"), required=False, max_length=253)
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any")), *AuditEntry.Action.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any")), *AuditEntry.Outcome.choices]
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("The end date must not be before the start date."))
        return data


def audit_entries(filters: dict):
    rows = AuditEntry.objects.select_related("actor")
    if filters.get("domain"):
        rows = rows.filter(domain_name__icontains=filters["domain"])
    if filters.get("actor"):
        rows = rows.filter(actor_name__icontains=filters["actor"])
    if filters.get("action"):
        rows = rows.filter(action=filters["action"])
    if filters.get("outcome"):
        rows = rows.filter(outcome=filters["outcome"])
    tz = timezone.get_current_timezone()
    if filters.get("since"):
        rows = rows.filter(created_at__gte=dt.datetime.combine(filters["since"], dt.time.min, tz))
    if filters.get("until"):
        rows = rows.filter(
            created_at__lt=dt.datetime.combine(
                filters["until"] + dt.timedelta(days=1), dt.time.min, tz
            )
        )
    return rows


class _Echo:
    def write(self, value):
        return value


@vary_on_headers("HX-Request")
def audit_list(request):
    if not can_read_audit(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "domains/audit.html", {"form": form, "page": None}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    rows = audit_entries(filters)
    if request.GET.get("format") == "csv":
        writer = csv.writer(_Echo())
        header = [
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
            "before",
            "after",
        ]

        def lines():
            yield writer.writerow(header)
            for e in rows.iterator(chunk_size=500):
                yield writer.writerow(
                    [
                        e.created_at.astimezone(dt.UTC).isoformat(),
                        e.actor_name,
                        e.domain_name,
                        e.kind,
                        e.action,
                        e.outcome,
                        e.request_id,
                        e.error_code,
                        e.error_message,
                        e.client_ip or "",
                        _csv_safe(e.before),
                        _csv_safe(e.after),
                    ]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response
    page = Paginator(rows, 50).get_page(filters.get("page") or 1)
    template = "domains/audit.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"form": form, "page": page})


def _csv_safe(value) -> str:
    import json

    text = "" if value is None else json.dumps(value, sort_keys=True)
    # Spreadsheets run cells that start with = + - @ as formulas.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text
