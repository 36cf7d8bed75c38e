"""Send a test callback (editors of the domain, leads) and the signature checker (everyone)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard.access import edit_refusal, editable_domain_names, require_edit
from dashboard.accounts.security import client_ip
from dashboard.domains.kinds import kind_named
from dashboard.domains.selectors import domain_get, upstream_config
from dashboard.failures import UpstreamError
from dashboard.posting import post_only

from .forms import SendTestForm, SignatureForm
from .sender import SendRefused
from .services import NotConfigured, RateLimited, test_callback_send
from .signature import STALE_AFTER, callback_host, verify

RESULT = "receivers/_test_result.html"


@post_only("domain_detail", "name")
def test_send(request, name: str, kind):
    domain = domain_get(name=name)
    context = {"domain": domain, "kind": kind}
    if domain is None:
        return render(request, RESULT, {**context, "error": _("There is no such domain.")}, 404)
    require_edit(request.user, domain)
    if not kind.applies_to(domain):
        error = _("%(domain)s has no %(kind)s.") % {"domain": domain.name, "kind": kind.label}
        return render(request, RESULT, {**context, "error": error}, status=404)
    form = SendTestForm(request.POST, kind=kind)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return render(request, RESULT, {**context, "error": errors}, status=400)
    data = form.cleaned_data
    try:
        delivery = test_callback_send(
            domain=domain,
            kind=kind,
            actor=request.user,
            client_ip=client_ip(request),
            url=data["notify_url"],
            req_auth=data["notify_req_auth"],
            key=data["notify_auth_key"],
            event=data.get("event") or "file_created",
        )
    except NotConfigured:
        error = _("This callback is not configured yet.")
        return render(request, RESULT, {**context, "error": error}, status=400)
    except SendRefused as refused:
        return render(request, RESULT, {**context, "error": refused.text()}, status=400)
    except RateLimited:
        error = _("Too many test callbacks: wait a minute and try again.")
        return render(request, RESULT, {**context, "error": error}, status=429)
    except UpstreamError as failure:
        return render(request, RESULT, {**context, "upstream_error": failure}, status=502)
    return render(request, RESULT, {**context, "result": delivery})


@require_http_methods(["GET", "POST"])
def signature_check(request):
    form = SignatureForm(request.POST if request.method == "POST" else None)
    context = {
        "form": form,
        "stale_after": STALE_AFTER,
        # Only the domains whose key this person may use (the same rule as editing).
        "domains": editable_domain_names(request.user),
    }
    if request.method == "GET":
        return render(request, "receivers/signature.html", context)
    if not form.is_valid():
        return render(request, "receivers/signature.html", context, status=400)
    data = form.cleaned_data
    key = data["key"]
    if data["domain"]:
        domain = domain_get(name=data["domain"])
        if domain is None:
            form.add_error(
                "domain", _("There is no domain called %(name)s.") % {"name": data["domain"]}
            )
            return render(request, "receivers/signature.html", context, status=400)
        # The expected signature lets its reader sign callbacks: same rule as editing.
        refusal = edit_refusal(request.user, domain)
        if refusal is not None:
            form.add_error(
                "domain",
                _("You may not use this domain's key: %(why)s Paste the key instead.")
                % {"why": refusal},
            )
            return render(request, "receivers/signature.html", context, status=403)
        try:
            config = upstream_config(
                domain_name=domain.name, kind=kind_named(data["kind"] or "record")
            )
        except UpstreamError as failure:
            return render(
                request,
                "receivers/signature.html",
                {**context, "upstream_error": failure},
                status=502,
            )
        key = config.notify_auth_key if config else ""
        if not key:
            form.add_error("domain", _("That callback has no auth key set."))
            return render(request, "receivers/signature.html", context, status=400)
    host = callback_host(data["url"])
    verdict = verify(host=host, timestamp=data["timestamp"], signature=data["signature"], key=key)
    return render(
        request, "receivers/signature.html", {**context, "verdict": verdict, "host": host}
    )
