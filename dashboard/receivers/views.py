"""Send a test callback (editors of the domain, leads) and the signature checker (everyone)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.domains.models import AuditEntry, Domain
from dashboard.domains.permissions import require_edit
from dashboard.domains.views import client_ip
from dashboard.live import LiveApiError, get_client

from .forms import SendTestForm, SignatureForm
from .signature import STALE_AFTER, callback_host, verify
from .testsend import SendRefused, send_test_callback


def _upstream_config(domain: Domain, kind: str):
    client = get_client()
    if kind == "record":
        return client.describe_record_notify_config(domain.name)
    return client.describe_snapshot_notify_config(domain.name)


def _over_rate(user) -> bool:
    """At most CALLBACK_TEST_PER_MINUTE test sends per user per minute."""
    key = f"testsend:{user.pk}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=120)
    return cache.incr(key) > settings.CALLBACK_TEST_PER_MINUTE


def _audit_test(request, domain, kind, *, ok: bool, after: dict, code: str, message: str) -> None:
    AuditEntry.objects.create(
        actor=request.user,
        actor_name=request.user.username,
        domain=domain,
        domain_name=domain.name,
        kind=kind,
        action=AuditEntry.Action.TEST,
        outcome=AuditEntry.Outcome.SUCCESS if ok else AuditEntry.Outcome.FAILED,
        after=after,
        error_code=code,
        error_message=message,
        client_ip=client_ip(request),
    )


@require_POST
def test_send(request, name: str, kind: str):
    if kind not in ("record", "snapshot"):
        return render(
            request,
            "receivers/_test_result.html",
            {"error": _("Unknown callback kind.")},
            status=404,
        )
    domain = get_object_or_404(Domain, name=name)
    require_edit(request.user, domain)
    form = SendTestForm(request.POST)
    context = {"domain": domain, "kind": kind}
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return render(
            request, "receivers/_test_result.html", {**context, "error": errors}, status=400
        )
    if _over_rate(request.user):
        return render(
            request,
            "receivers/_test_result.html",
            {**context, "error": _("Too many test callbacks: wait a minute and try again.")},
            status=429,
        )
    data = form.cleaned_data
    url, key = data["notify_url"], data["notify_auth_key"]
    try:
        if not url or (data["notify_req_auth"] and not key):
            current = _upstream_config(domain, kind)
            if current is None and not url:
                return render(
                    request,
                    "receivers/_test_result.html",
                    {**context, "error": _("This callback is not configured yet.")},
                    status=400,
                )
            if not url:
                url = current.notify_url
                key = current.notify_auth_key if current.notify_req_auth else ""
            elif current is not None:
                key = current.notify_auth_key
    except LiveApiError as error:
        return render(
            request, "receivers/_test_result.html", {**context, "upstream_error": error}, status=502
        )
    if data["notify_url"] and not data["notify_req_auth"]:
        key = ""
    try:
        result = send_test_callback(
            url=url,
            kind=kind,
            domain=domain.name,
            event=data.get("event") or "file_created",
            auth_key=key,
        )
    except SendRefused as refused:
        _audit_test(
            request,
            domain,
            kind,
            ok=False,
            after={"notify_url": url},
            code="Refused",
            message=str(refused),
        )
        return render(
            request, "receivers/_test_result.html", {**context, "error": str(refused)}, status=400
        )
    _audit_test(
        request,
        domain,
        kind,
        ok=result.ok,
        after={
            "notify_url": url,
            "status": result.status,
            "elapsed_ms": round(result.elapsed_ms),
            "signed": bool(key),
        },
        code="" if result.ok else (f"HTTP{result.status}" if result.status else "NoResponse"),
        message=result.error,
    )
    return render(request, "receivers/_test_result.html", {**context, "result": result})


@require_http_methods(["GET", "POST"])
def signature_check(request):
    form = SignatureForm(request.POST if request.method == "POST" else None)
    context = {
        "form": form,
        "stale_after": STALE_AFTER,
        "domains": Domain.objects.filter(gone_at__isnull=True, domain_type="liveVideo").values_list(
            "name", flat=True
        ),
    }
    if request.method == "GET":
        return render(request, "receivers/signature.html", context)
    if not form.is_valid():
        return render(request, "receivers/signature.html", context, status=400)
    data = form.cleaned_data
    key = data["key"]
    if data["domain"]:
        domain = Domain.objects.filter(name=data["domain"]).first()
        if domain is None:
            form.add_error(
                "domain", _("There is no domain called %(name)s.") % {"name": data["domain"]}
            )
            return render(request, "receivers/signature.html", context, status=400)
        # The expected signature lets its reader sign callbacks: same rule as editing.
        require_edit(request.user, domain)
        try:
            config = _upstream_config(domain, data["kind"] or "record")
        except LiveApiError as error:
            return render(
                request,
                "receivers/signature.html",
                {**context, "upstream_error": error},
                status=502,
            )
        key = config.notify_auth_key if config else ""
        if not key:
            form.add_error("domain", _("That callback has no auth key set."))
            return render(request, "receivers/signature.html", context, status=400)
    host = callback_host(data["url"])
    verdict = verify(host=host, timestamp=data["timestamp"], signature=data["signature"], key=key)
    response = render(
        request, "receivers/signature.html", {**context, "verdict": verdict, "host": host}
    )
    response["Cache-Control"] = "no-store"
    return response
