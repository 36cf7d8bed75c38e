"""Domain pages: the list, a domain's page, config editing, refresh and "Sync all"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.live import LiveApiError

from . import services
from .forms import (
    DomainFilterForm,
    RecordConfigForm,
    SnapshotConfigForm,
    VersionForm,
    generate_auth_key,
)
from .models import Domain, SyncRun
from .permissions import can_edit_domain, can_sync_all, require_edit
from .selectors import domain_history, domain_list
from .sync import domain_refresh
from .tasks import sync_all_domains

PAGE_SIZE = 25


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _fragment(request, template: str, partial: str) -> str:
    if request.htmx and not request.htmx.boosted:
        return f"{template}#{partial}"
    return template


def home(request):
    return redirect("domain_list")


@vary_on_headers("HX-Request")
def domain_list_view(request):
    form = DomainFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "domains/list.html", {"form": form, "page": None}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    paginator = Paginator(domain_list(filters=filters), PAGE_SIZE)
    page = paginator.get_page(filters.get("page") or 1)
    context = {
        "form": form,
        "page": page,
        "can_sync_all": can_sync_all(request.user),
        "latest_run": SyncRun.objects.first() if can_sync_all(request.user) else None,
    }
    return render(request, _fragment(request, "domains/list.html", "results"), context)


def _domain(name: str) -> Domain:
    return get_object_or_404(Domain.objects.select_related("team"), name=name)


def _detail_context(request, domain: Domain) -> dict:
    return {
        "domain": domain,
        "record": services.cached_config(domain, services.RECORD),
        "snapshot": services.cached_config(domain, services.SNAPSHOT),
        "can_edit": can_edit_domain(request.user, domain),
        "history": domain_history(domain=domain),
    }


def domain_detail(request, name: str):
    domain = _domain(name)
    return render(request, "domains/detail.html", _detail_context(request, domain))


@require_POST
def domain_refresh_view(request, name: str):
    domain = _domain(name)
    try:
        drifted = domain_refresh(domain=domain)
    except LiveApiError as error:
        messages.error(request, _upstream_message(error))
    else:
        if drifted:
            messages.warning(
                request, _("Refreshed: the config had changed outside the dashboard (see history).")
            )
        else:
            messages.success(request, _("Refreshed from the Live API."))
    return redirect("domain_detail", name=domain.name)


def _upstream_message(error: LiveApiError) -> str:
    return _("The Live API said %(code)s: %(message)s (RequestId %(request_id)s)") % {
        "code": error.code or type(error).__name__,
        "message": error.message,
        "request_id": error.request_id or "—",
    }


def _kind(kind: str) -> str:
    if kind not in services.KINDS:
        raise Http404
    return kind


def _form_class(kind: str):
    return RecordConfigForm if kind == services.RECORD else SnapshotConfigForm


def _initial(domain: Domain, kind: str, config) -> dict:
    initial = {"version": getattr(domain, f"{kind}_version")}
    if config is not None:
        initial.update(notify_url=config.notify_url, notify_req_auth=config.notify_req_auth)
        if kind == services.RECORD:
            initial.update(
                on_demand_url=config.on_demand_url, need_status_notify=config.need_status_notify
            )
    return initial


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def config_edit(request, name: str, kind: str):
    kind = _kind(kind)
    domain = _domain(name)
    require_edit(request.user, domain)
    config = services.cached_config(domain, kind)
    has_key = bool(config and config.auth_key_fingerprint)
    form_class = _form_class(kind)
    template = "domains/config_form.html"
    context = {"domain": domain, "kind": kind, "config": config, "has_key": has_key}
    if request.method == "GET":
        initial = _initial(domain, kind, config)
        if request.GET.get("generate") == "1":
            initial["notify_auth_key"] = generate_auth_key()
            initial["notify_req_auth"] = True
        form = form_class(initial=initial, has_key=has_key)
        return render(request, _fragment(request, template, "editor"), {**context, "form": form})

    form = form_class(request.POST, has_key=has_key)
    if not form.is_valid():
        return render(
            request, _fragment(request, template, "editor"), {**context, "form": form}, status=400
        )
    try:
        result = services.config_save(
            domain=domain,
            kind=kind,
            data=form.cleaned_data,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            client_ip=client_ip(request),
        )
    except services.ConflictError as conflict:
        return render(
            request,
            _fragment(request, template, "editor"),
            {
                **context,
                "form": form,
                "conflict": conflict,
                "mine": {
                    k: v
                    for k, v in form.cleaned_data.items()
                    if k not in {"version", "notify_auth_key"}
                },
            },
            status=409,
        )
    except services.UpstreamFailure as failure:
        return render(
            request,
            _fragment(request, template, "editor"),
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
        shown = {"kind": kind, "key": result.new_key}
        if request.htmx:
            response = render(
                request, "domains/_saved_key.html", {"domain": domain, "shown_key": shown}
            )
        else:
            response = render(
                request,
                "domains/detail.html",
                {**_detail_context(request, _domain(name)), "shown_key": shown},
            )
        response["Cache-Control"] = "no-store"
        return response
    url = reverse("domain_detail", kwargs={"name": domain.name})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_http_methods(["GET", "POST"])
def config_delete(request, name: str, kind: str):
    kind = _kind(kind)
    domain = _domain(name)
    require_edit(request.user, domain)
    config = services.cached_config(domain, kind)
    if config is None:
        messages.info(request, _("There is no such callback to delete."))
        return redirect("domain_detail", name=domain.name)
    form = VersionForm(
        request.POST if request.method == "POST" else None,
        initial={"version": getattr(domain, f"{kind}_version")},
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
        return render(
            request, "domains/confirm_delete.html", {**context, "conflict": conflict}, status=409
        )
    except services.UpstreamFailure as failure:
        return render(
            request,
            "domains/confirm_delete.html",
            {**context, "upstream_error": failure},
            status=502,
        )
    messages.success(request, _("Deleted. (RequestId %(rid)s)") % {"rid": request_id})
    return redirect("domain_detail", name=domain.name)


@require_POST
def key_reveal(request, name: str, kind: str):
    kind = _kind(kind)
    domain = _domain(name)
    require_edit(request.user, domain)
    try:
        key = services.auth_key_reveal(
            domain=domain, kind=kind, actor=request.user, client_ip=client_ip(request)
        )
    except services.UpstreamFailure as failure:
        return render(
            request, "domains/_key.html", {"upstream_error": failure, "kind": kind}, status=502
        )
    response = render(request, "domains/_key.html", {"key": key, "kind": kind, "domain": domain})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def sync_all_start(request):
    if not can_sync_all(request.user):
        raise PermissionDenied
    run = SyncRun.objects.create(started_by=request.user)
    sync_all_domains.enqueue(run.pk)
    messages.info(request, _("Sync started in the background."))
    return redirect("sync_run", run_id=run.pk)


def sync_run(request, run_id: int):
    if not can_sync_all(request.user):
        raise PermissionDenied
    run = get_object_or_404(SyncRun, pk=run_id)
    template = "domains/sync_run.html"
    return render(request, _fragment(request, template, "progress"), {"run": run})
