"""/incidents/: failures grouped by cause; each incident's page, its samples and notes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dashboard.access import edit_refusal, require_edit
from dashboard.accounts.security import client_ip
from dashboard.htmx import render_page, vary_on_htmx
from dashboard.paging import moment_page_of
from dashboard.periods import local_iso
from dashboard.posting import post_only

from .filters import IncidentFilter
from .forms import IncidentActionForm, NoteForm
from .models import Incident
from .selectors import incident_samples, incidents_list
from .services import IncidentConflict, incident_change, incident_note_add

PAGE_SIZE = 50


@vary_on_htmx
def incident_list(request):
    filterset = IncidentFilter(request.GET or None, queryset=incidents_list())
    context = {"form": filterset.form, "page": None}
    if filterset.is_bound and not filterset.is_valid():
        return render_page(request, "incidents/list.html", "results", context, status=400)

    def rows_at(moment):
        """The list as ordered at `moment`: the filters over it."""
        if not filterset.is_bound:
            return incidents_list(moment)
        return IncidentFilter(request.GET, queryset=incidents_list(moment)).qs

    # a page after the first is read as the list was at the first: an incident that failed
    # again since (moved to the top) or came since is not shown twice, or skipped
    read = moment_page_of(request, rows_at, PAGE_SIZE, errors_to=filterset.form)
    context.update(page=read.page, as_of=read.as_of, changed_since=read.changed_since)
    if context["page"] is None:
        return render_page(request, "incidents/list.html", "results", context, status=400)
    return render_page(request, "incidents/list.html", "results", context)


def _incident(pk: int) -> Incident:
    incident = Incident.objects.select_related("domain", "domain__team").filter(pk=pk).first()
    if incident is None:
        raise Http404(_("There is no incident %(id)s.") % {"id": pk})
    return incident


def _records_href(incident: Incident) -> str:
    """Its failed callbacks: the domain's failures of its cause to its receiver, from its first
    failure — to its last, once resolved (the link ran until now, and a resolved incident's 5
    failures opened 8: the cause's later incident's with them; and it took the failures to
    every receiver of the domain)."""
    query = {
        "domain": incident.domain.name,
        "status": "failed",
        "failure": incident.failure_class,
        "http": incident.http_status or "",
        "receiver": incident.receiver_host,
        "window": "custom",
        "start": local_iso(incident.first_seen, "seconds"),
    }
    if incident.state == Incident.State.RESOLVED:  # to the second: the cause's next incident
        # may begin in the same minute (the end is excluded)
        query["end"] = local_iso(incident.last_seen + dt.timedelta(seconds=1), "seconds")
    return reverse("records") + "?" + urlencode({k: v for k, v in query.items() if v != ""})


def _detail(request, incident: Incident, **extra) -> dict:
    refusal = edit_refusal(request.user, incident.domain)
    return {
        "incident": incident,
        "records_href": _records_href(incident),
        "samples": incident_samples(incident=incident),
        "notes": incident.notes.all(),
        "can_change": refusal is None,
        "refusal": refusal,
        "action_form": IncidentActionForm(),
        "note_form": NoteForm(),
        **extra,
    }


def incident_detail(request, pk: int):
    incident = _incident(pk)
    return render(request, "incidents/detail.html", _detail(request, incident))


@post_only("incident_detail", "pk")
def incident_action(request, pk: int):
    incident = _incident(pk)
    require_edit(request.user, incident.domain)  # before anything is read from the form
    form = IncidentActionForm(request.POST)
    if not form.is_valid():
        context = _detail(request, incident, action_form=form)
        return render(request, "incidents/detail.html", context, status=400)
    try:
        incident_change(
            incident=incident,
            actor=request.user,
            action=form.cleaned_data["action"],
            muted_until=form.cleaned_data.get("muted_until"),
            client_ip=client_ip(request),
        )
    except IncidentConflict as conflict:
        form.add_error(None, str(conflict))
        context = _detail(request, _incident(pk), action_form=form, other=conflict.other)
        return render(request, "incidents/detail.html", context, status=409)
    messages.success(request, _("Incident updated."))
    return redirect("incident_detail", pk=incident.pk)


@post_only("incident_detail", "pk")
def incident_note(request, pk: int):
    incident = _incident(pk)
    require_edit(request.user, incident.domain)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render(
            request, "incidents/detail.html", _detail(request, incident, note_form=form), status=400
        )
    incident_note_add(
        incident=incident,
        actor=request.user,
        text=form.cleaned_data["text"],
        client_ip=client_ip(request),
    )
    return redirect("incident_detail", pk=incident.pk)
