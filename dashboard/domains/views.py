"""Domain pages: the list, a domain's page, config editing, refresh, "Sync all", the audit log."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import yesno
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from dashboard import periods
from dashboard.access import (
    can_plan_configs,
    can_sync_all,
    edit_refusal,
    require_edit,
    require_perm,
)
from dashboard.accounts.security import client_ip
from dashboard.archive.selectors import (
    domain_harvested_until,
    failure_totals,
    harvested_until_by_domain,
    missing_counts,
)
from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import audit_rows, domain_history
from dashboard.failures import UpstreamError
from dashboard.forms import VersionForm, differing, held, resent_over
from dashboard.htmx import render_page, vary_on_htmx
from dashboard.incidents.selectors import (
    PERIODS,
    chart_period,
    domain_chart,
    domain_open_incidents,
    failure_sparklines,
    open_incident_counts,
)
from dashboard.logs import enqueue_with_request_id
from dashboard.paging import page_of
from dashboard.posting import post_only

from . import services
from .filters import DomainFilter
from .forms import RollbackForm, generate_auth_key
from .kinds import FIELD_LABELS, URL_FIELDS, kinds_for
from .models import Domain, SyncRun
from .selectors import domain_get, push_history_domains
from .tasks import sync_all_domains

PAGE_SIZE = 25
# An archive complete up to longer ago than this is behind (the harvester keeps it within
# about two minutes): its silence is not said to be the domain's.
ARCHIVE_BEHIND = dt.timedelta(minutes=15)


def home(request):
    return redirect("domain_list")


@vary_on_htmx
def domain_list_view(request):
    filterset = DomainFilter(request.GET or None, queryset=_domains_with_configs())
    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": None,
        "can_sync_all": can_sync_all(request.user),
        "can_plan_configs": can_plan_configs(request.user),
        "latest_run": SyncRun.objects.first() if can_sync_all(request.user) else None,
    }
    if filterset.is_bound and not filterset.is_valid():
        return render_page(request, "domains/list.html", "results", context, status=400)
    rows = filterset.qs if filterset.is_bound else DomainFilter(queryset=_domains_with_configs()).qs
    context["page"] = page_of(request, rows, PAGE_SIZE, errors_to=filterset.form)
    if context["page"] is None:
        return render_page(request, "domains/list.html", "results", context, status=400)
    ids = [d.pk for d in context["page"].object_list]
    now = timezone.now()
    context["totals"] = failure_totals(domain_ids=ids, now=now)
    context["totals_window"] = periods.totals_window("24h", now)  # what the totals counted
    context["sparklines"] = failure_sparklines(domain_ids=ids)
    context["open_incidents"] = open_incident_counts(domain_ids=ids)
    # "no callbacks" is said only of a domain whose archive is complete up to about now: one
    # still being backfilled, or behind, says so instead of a silence that is not there
    until = harvested_until_by_domain(domain_ids=ids)
    context["archive_state"] = {pk: _archive_state(until.get(pk), now) for pk in ids}
    context["archived_until"] = until
    context["sort"] = filterset.form.cleaned_data.get("sort") if filterset.is_bound else ""
    return render_page(request, "domains/list.html", "results", context)


def _domains_with_configs():
    return Domain.objects.select_related(
        "team", "record_config", "snapshot_config", "stream_config"
    )


def _domain(name: str, kind=None):
    """The domain called `name` (and, given a kind, one that carries configs of that kind);
    404 otherwise."""
    domain = domain_get(name=name)
    if domain is None:
        raise Http404(_("There is no domain called %(name)s.") % {"name": name})
    if kind is not None and not kind.applies_to(domain):
        raise Http404(
            _("%(name)s has no %(kind)s: it is not that kind of domain.")
            % {"name": name, "kind": kind.label}
        )
    return domain


def _detail_context(request, domain) -> dict:
    refusal = edit_refusal(request.user, domain)
    return {
        "domain": domain,
        "cards": [
            {
                "kind": kind,
                "config": domain.config(kind),
                "labels": FIELD_LABELS,
                "url_fields": URL_FIELDS,
            }
            for kind in kinds_for(domain)
        ],
        "can_edit": refusal is None,
        "edit_refusal": refusal,
        "history": audit_rows(domain_history(domain=domain)),
        "chart": domain_chart(domain=domain, period=chart_period(request.GET.get("period"))),
        "periods": list(PERIODS),
        "incidents": domain_open_incidents(domain=domain),
        "missing_pushes": _missing_pushes(domain),
        **_archive_lag(domain),
    }


def _archive_lag(domain) -> dict:
    """Whether the domain's numbers and chart stop short of now (its first harvest running,
    or its harvest behind): then the page says so, rather than show a silence."""
    until = domain_harvested_until(domain_id=domain.pk)
    behind = _archive_state(until, timezone.now()) != ""
    return {"archived_until": until, "archive_behind": behind and domain.gone_at is None}


def _archive_state(until, now) -> str:
    """A domain's archive, from how far it is complete (None: its first harvest is still
    running): "new", "behind" (over ARCHIVE_BEHIND), or "" (complete up to about now)."""
    if until is None:
        return "new"
    return "behind" if until < now - ARCHIVE_BEHIND else ""


def _missing_pushes(domain) -> int | None:
    """The domain's pushes of the last 7 days whose callbacks never came: an ingest domain's
    own, a streaming domain's through the ingest domains mapped to it (None: it has none)."""
    names = push_history_domains(domain.name)
    ids = list(Domain.objects.filter(name__in=names).values_list("pk", flat=True))
    if not ids:
        return None
    now = timezone.now()
    counts = missing_counts(domain_ids=ids, start=now - periods.SPANS["7d"], end=now)
    return sum(counts.values())


def domain_detail(request, name: str):
    domain = _domain(name)
    if domain.name != name:
        return redirect("domain_detail", name=domain.name)
    return render(request, "domains/detail.html", _detail_context(request, domain))


@post_only("domain_detail", "name")
def domain_refresh_view(request, name: str):
    domain = _domain(name)
    try:
        result = services.domain_refresh(domain=domain)
    except UpstreamError as failure:
        messages.error(request, _upstream_message(failure))
    else:
        if result.drifted:
            messages.warning(
                request, _("Refreshed: the config had changed outside the dashboard (see history).")
            )
        elif result.skipped:
            messages.info(
                request,
                _(
                    "Refreshed. A save of this domain finished while the Live API was being "
                    "asked; the saved value is kept."
                ),
            )
        else:
            messages.success(request, _("Refreshed from the Live API."))
    return redirect("domain_detail", name=domain.name)


def _upstream_message(failure: UpstreamError) -> str:
    return _("The Live API said %(code)s: %(message)s (RequestId %(request_id)s)") % {
        "code": failure.code,
        "message": failure.message,
        "request_id": failure.request_id or "—",
    }


def _rollback_initial(request, domain, kind) -> tuple[dict, AuditEntry | None]:
    """Initial values restoring the *before* state of an audit entry (?restore=<id>)."""
    form = RollbackForm({"rollback_of": request.GET.get("restore") or None})
    if not form.is_valid() or not form.cleaned_data["rollback_of"]:
        return {}, None
    entry = AuditEntry.objects.filter(
        pk=form.cleaned_data["rollback_of"], domain=domain, kind=str(kind)
    ).first()
    if entry is None or not entry.before:
        return {}, None
    return {f: entry.before.get(f) for f in kind.fields if f in entry.before}, entry


@vary_on_htmx
@require_http_methods(["GET", "POST"])
def config_edit(request, name: str, kind):
    domain = _domain(name, kind)
    require_edit(request.user, domain)
    config = domain.config(kind)
    has_key = bool(config and config.auth_key_fingerprint)
    context = {"domain": domain, "kind": kind, "config": config, "has_key": has_key}
    if request.method == "GET":
        initial = kind.initial(domain, config)
        restore, entry = _rollback_initial(request, domain, kind)
        initial.update(restore)
        if entry is not None:
            initial["rollback_of"] = entry.pk
            context["rollback_of"] = entry
        if request.GET.get("generate") == "1":  # without JavaScript: the whole form again
            initial["notify_auth_key"] = generate_auth_key()
            initial["notify_req_auth"] = True
        form = kind.form_class(initial=initial, has_key=has_key)
        return render_page(request, "domains/config_form.html", "editor", {**context, "form": form})

    form = kind.form_class(request.POST, has_key=has_key)
    rollback = RollbackForm(request.POST)
    rollback_of = None
    if rollback.is_valid() and rollback.cleaned_data["rollback_of"]:
        rollback_of = AuditEntry.objects.filter(
            pk=rollback.cleaned_data["rollback_of"], domain=domain
        ).first()
        context["rollback_of"] = rollback_of
    if not form.is_valid():
        return render_page(
            request, "domains/config_form.html", "editor", {**context, "form": form}, status=400
        )
    try:
        result = services.config_save(
            domain=domain,
            kind=kind,
            data=form.cleaned_data,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            client_ip=client_ip(request),
            rollback_of=rollback_of,
        )
    except services.ConflictError as conflict:
        # Held, as every stale form is (templates/_held.html): what was typed stays in the form,
        # now over the config's version as it is, so Save sends it again knowingly.
        changed = conflict.changed
        if changed is not None and changed.action == AuditEntry.Action.DRIFT:
            changed = None  # the drift was recorded just now, by this save: the heading says it
        shown = held(
            request.user,
            _(conflict.reason),
            by=changed.actor_name if changed else "",
            by_id=changed.actor_id if changed else None,
            at=changed.created_at if changed else None,
            differences=_differences(kind, form, conflict.current),
            restart=reverse("config_edit", kwargs={"name": domain.name, "kind": kind}),
        )
        domain = _domain(name, kind)
        config = domain.config(kind)
        has_key = bool(config and config.auth_key_fingerprint)
        form = resent_over(form, "version", conflict.version, has_key=has_key)
        context = {**context, "config": config, "has_key": has_key}
        return render_page(
            request,
            "domains/config_form.html",
            "editor",
            {**context, "domain": domain, "form": form, "held": shown},
            status=409,
        )
    except UpstreamError as failure:
        return render_page(
            request,
            "domains/config_form.html",
            "editor",
            {**context, "form": form, "upstream_error": failure},
            status=502,
        )
    messages.success(
        request,
        _(
            "Saved. Alibaba Cloud applies callback changes within about 5 minutes. "
            "(RequestId %(rid)s)"
        )
        % {"rid": result.request_id},
    )
    if result.new_key:
        # The new key is shown once, in this response only; it is never stored in plain text.
        # The whole domain page comes with it (its cards, chart and history now hold the
        # change), in place of the page the form was on.
        context = {**_detail_context(request, _domain(name)), "shown_key": shown_key(kind, result)}
        if request.htmx:
            response = render(request, "domains/detail.html#page", context)
            response["HX-Retarget"] = "#main"
            response["HX-Reswap"] = "innerHTML show:top"
            response["HX-Push-Url"] = reverse("domain_detail", kwargs={"name": domain.name})
            return response
        return render(request, "domains/detail.html", context)
    url = reverse("domain_detail", kwargs={"name": domain.name})
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def shown_key(kind, result) -> dict:
    return {"kind": kind, "key": result.new_key}


def _differences(kind, form, current: dict | None) -> list[tuple[str, str, str]]:
    """Where the held form and the config as it is now differ (label, yours, now), in the
    kind's field order; a key typed in the form is "a new key" beside whether one is set."""
    current = current or {}
    pairs = [
        (FIELD_LABELS[f], _word(form.cleaned_data.get(f)), _word(current.get(f)))
        for f in kind.fields
    ]
    if form.cleaned_data.get("notify_auth_key"):
        now = yesno(bool(current.get("auth_key")), _("set,none"))
        pairs.append((FIELD_LABELS["auth_key"], _("new key"), now))
    return differing(pairs)


def _word(value):
    """A switch as people read it (on, off); any other value as it is."""
    return yesno(value, _("on,off")) if isinstance(value, bool) else value


@require_GET
def key_generate(request, name: str, kind):
    """A new random key in the key field only: everything else typed in the form stays."""
    domain = _domain(name, kind)
    require_edit(request.user, domain)
    form = kind.form_class(initial={"notify_auth_key": generate_auth_key()})
    return render(request, "domains/_key_field.html", {"field": form["notify_auth_key"]})


@require_http_methods(["GET", "POST"])
def config_delete(request, name: str, kind):
    domain = _domain(name, kind)
    require_edit(request.user, domain)
    config = domain.config(kind)
    if config is None:
        messages.info(request, _("There is no such callback to delete."))
        return redirect("domain_detail", name=domain.name)
    form = VersionForm(
        request.POST if request.method == "POST" else None,
        initial={"version": domain.version(kind)},
    )
    context = {"domain": domain, "kind": kind, "config": config, "form": form}
    if request.method == "GET":
        return render(request, "domains/confirm_delete.html", context)
    if not form.is_valid():
        return render(request, "domains/confirm_delete.html", context, status=400)
    try:
        request_id = services.config_delete(
            domain=domain,
            kind=kind,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            client_ip=client_ip(request),
        )
    except services.ConflictError as conflict:
        # The page again as the config is now (its address, its version): Delete deletes that.
        domain = _domain(name, kind)
        config = domain.config(kind)
        if config is None:
            messages.info(request, _("There is no such callback to delete."))
            return redirect("domain_detail", name=domain.name)
        form = VersionForm(initial={"version": conflict.version})
        context = {**context, "domain": domain, "config": config, "form": form}
        return render(
            request, "domains/confirm_delete.html", {**context, "conflict": conflict}, status=409
        )
    except UpstreamError as failure:
        return render(
            request,
            "domains/confirm_delete.html",
            {**context, "upstream_error": failure},
            status=502,
        )
    messages.success(request, _("Deleted. (RequestId %(rid)s)") % {"rid": request_id})
    return redirect("domain_detail", name=domain.name)


@post_only("domain_detail", "name")
def key_reveal(request, name: str, kind):
    domain = _domain(name, kind)
    require_edit(request.user, domain)
    try:
        key = services.auth_key_reveal(
            domain=domain, kind=kind, actor=request.user, client_ip=client_ip(request)
        )
    except UpstreamError as failure:
        return render(
            request, "domains/_key.html", {"upstream_error": failure, "kind": kind}, status=502
        )
    return render(request, "domains/_key.html", {"key": key, "kind": kind, "domain": domain})


@post_only("domain_list")
def sync_all_start(request):
    require_perm(request.user, "domains.sync_all_domains", _("Only leads can sync every domain."))
    run, new = services.sync_run_start(
        request.user, queue=lambda run: enqueue_with_request_id(sync_all_domains, run.pk)
    )
    if not new:
        messages.info(
            request,
            _("A sync of every domain, started by %(name)s at %(time)s, is under way: here it is.")
            % {
                "name": run.started_by.get_username() if run.started_by else _("someone"),
                "time": date_format(timezone.localtime(run.created_at), "H:i:s"),
            },
        )
    return redirect("sync_run", run_id=run.pk)


@vary_on_htmx
def sync_run(request, run_id: int):
    require_perm(request.user, "domains.sync_all_domains", _("Only leads can sync every domain."))
    run = get_object_or_404(SyncRun, pk=run_id)
    return render_page(request, "domains/sync_run.html", "progress", {"run": run})
