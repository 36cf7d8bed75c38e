"""Redelivery pages: resend one record, confirm and follow a bulk run, pause/resume/cancel."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard.access import edit_refusal, require_edit
from dashboard.accounts.security import client_ip
from dashboard.archive.selectors import record_get
from dashboard.domains.kinds import kind_of_record, kinds_for
from dashboard.domains.models import Domain
from dashboard.failures import UpstreamError
from dashboard.htmx import render_page, vary_on_htmx
from dashboard.posting import post_only
from dashboard.records.forms import LIVE, RecordsFilterForm

from . import services
from .forms import RunActionForm, RunForm
from .models import RedeliveryRun
from .selectors import redelivered_count, run_attempts


@post_only("record_detail", "pk")
def record_resend(request, pk: int):
    record = record_get(pk=pk)
    if record is None or record.domain is None:
        raise Http404(_("There is no archived record %(id)s.") % {"id": pk})
    require_edit(request.user, record.domain)
    back = reverse("record_detail", kwargs={"pk": pk}) + "#redeliveries"
    try:
        attempt = services.resend_one(
            record=record, actor=request.user, client_ip=client_ip(request)
        )
    except services.NoCallback as missing:
        messages.error(request, missing.why.text())
        return redirect(back)
    except services.BeingSent as busy:
        sending = busy.attempt
        messages.info(
            request,
            (
                _("Run #%(run)s is sending this callback right now: not sent twice.")
                if sending.run_id
                else _("%(name)s is resending this callback right now: not sent twice.")
            )
            % {"run": sending.run_id, "name": sending.actor_name},
        )
        return redirect(back)
    except UpstreamError as failure:
        messages.error(
            request,
            _("The current callback could not be fetched: %(why)s") % {"why": failure.describe()},
        )
        return redirect(back)
    if attempt.ok:
        messages.success(
            request,
            _("Redelivered: the receiver answered HTTP %(status)s in %(ms)s ms.")
            % {"status": attempt.status_code, "ms": attempt.elapsed_ms},
        )
    else:
        messages.error(request, _("Not delivered: %(why)s") % {"why": attempt.error_text})
    return redirect(back)


def _run_filters(request):
    """The explorer's filters from the query string, checked; (form, domain, error)."""
    form = RecordsFilterForm(request.GET or None)
    if not form.is_bound or not form.is_valid():
        return form, None, _("The filters are not valid: go back to the records and fix them.")
    data = form.cleaned_data
    if data["source"] == LIVE:
        return form, None, _("Redelivery works on the archive: search the archive first.")
    if not data.get("domain_id"):
        return form, None, _("Choose one domain first: a run resends one domain's callbacks.")
    return form, Domain.objects.get(pk=data["domain_id"]), None


@require_http_methods(["GET", "POST"])
def run_new(request):
    form, domain, problem = _run_filters(request)
    if problem:
        return render(request, "redelivery/new.html", {"problem": problem}, status=400)
    require_edit(request.user, domain)
    filters = services.run_filters(form.cleaned_data)
    preview = RedeliveryRun(domain=domain, filters=filters, max_record_id=2**62)
    count = services.run_records(preview).count()
    already = redelivered_count(rows=services.run_records(preview)) if count else 0
    targets, upstream_error = [], None
    try:
        first = services.run_records(preview).first()
        kind = kind_of_record(first) if first else kinds_for(domain)[0]
        targets.append(services.current_target(domain, kind))
    except services.NoCallback as missing:
        upstream_error = missing.why.text()
    except UpstreamError as failure:
        upstream_error = failure.describe()
    run_form = RunForm(request.POST if request.method == "POST" else None)
    active = services.active_run(domain=domain)
    if request.method == "POST" and not upstream_error and count and run_form.is_valid():
        try:
            run = services.run_create(
                domain=domain,
                filters=filters,
                query=request.GET.urlencode(),
                actor=request.user,
                skip_redelivered=run_form.cleaned_data["skip_redelivered"],
                client_ip=client_ip(request),
            )
        except services.RunActive as refused:
            messages.error(request, str(refused))
            return (
                redirect("redelivery_run", pk=refused.run.pk)
                if refused.run
                else redirect(request.get_full_path())
            )
        return redirect("redelivery_run", pk=run.pk)
    context = {
        "domain": domain,
        "count": count,
        "filters": form.cleaned_data,
        "narrowing": form.narrowing(services.RUN_KEPT),
        "targets": targets,
        "upstream_error": upstream_error,
        "run_form": run_form,
        "query": request.GET.urlencode(),
        "rate": services.settings.REDELIVERY_RATE_PER_SECOND,
        "active": active,
        "already": already,
    }
    return render(request, "redelivery/new.html", context)


def _run(pk: int) -> RedeliveryRun:
    run = RedeliveryRun.objects.select_related("domain").filter(pk=pk).first()
    if run is None:
        raise Http404(_("There is no redelivery run %(id)s.") % {"id": pk})
    return run


@vary_on_htmx
def run_detail(request, pk: int):
    run = _run(pk)
    context = {
        "run": run,
        "attempts": run_attempts(run=run),
        "can_change": edit_refusal(request.user, run.domain) is None,
        "stale": run.state == "running"
        and (
            run.heartbeat_at is None
            or services.timezone.now() - run.heartbeat_at > services.STALE_RUN
        ),
    }
    return render_page(request, "redelivery/run.html", "progress", context)


@post_only("redelivery_run", "pk")
def run_action(request, pk: int):
    run = _run(pk)
    require_edit(request.user, run.domain)
    form = RunActionForm(request.POST)
    if form.is_valid():
        try:
            services.run_change(
                run=run,
                action=form.cleaned_data["action"],
                actor=request.user,
                client_ip=client_ip(request),
            )
        except services.RunStateError as refused:
            messages.error(request, str(refused))
    else:
        messages.error(request, _("Choose pause, resume or cancel."))
    return redirect("redelivery_run", pk=run.pk)


def run_list(request):
    runs = RedeliveryRun.objects.select_related("domain")[:100]
    return render(request, "redelivery/list.html", {"runs": runs})
