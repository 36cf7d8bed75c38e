"""Configs as code in the browser: export, plan a document or a bulk change, watch it apply,
pause, cancel, undo."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dashboard.access import ask_a_lead, can_plan_configs, domains_editable_by
from dashboard.accounts.roles import is_lead
from dashboard.domains.models import Domain, Team
from dashboard.forms import RowsChoiceField
from dashboard.htmx import render_page
from dashboard.logs import enqueue_with_request_id
from dashboard.posting import post_only

from .bulk import bulk_wanted
from .document import MAX_BYTES, DocumentError, Wanted, dump, export_document, read
from .models import ConfigChange, ConfigRun
from .selectors import field_changes, may_apply_run, may_see_run, reason, run_counts
from .services import (
    run_cancel,
    run_create,
    run_pause,
    run_start,
    undo_plan,
    undo_wanted,
)
from .tasks import config_run_apply, config_run_plan


def _require_editor(user) -> None:
    if not can_plan_configs(user):
        raise PermissionDenied(
            _("Only editors and leads plan config changes, for the domains they edit.")
            + " "
            + ask_a_lead()
        )


class DocumentForm(forms.Form):
    document = forms.CharField(
        label=gettext_lazy("Paste a document"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "mono"}),
    )
    upload = forms.FileField(label=gettext_lazy("or upload one (YAML or JSON)"), required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            raw = upload.read(MAX_BYTES + 1)  # enough to tell a document too large
        else:
            raw = (data.get("document") or "").encode("utf-8")
        if not raw.strip():
            raise forms.ValidationError(_("Paste a document or choose a file."))
        try:
            data["wanted"] = read(raw)
        except DocumentError as problem:
            raise forms.ValidationError(problem.in_words()) from None
        return data


def _home(request, form: DocumentForm, *, status: int = 200):
    runs = ConfigRun.objects.all()
    if not is_lead(request.user):
        runs = runs.filter(created_by=request.user)
    context = {
        "form": form,
        "teams": Team.objects.order_by("name"),
        "runs": runs[:20],
        "can_plan": can_plan_configs(request.user),
    }
    return render(request, "configs/home.html", context, status=status)


def configs_home(request):
    return _home(request, DocumentForm())


def configs_export(request, fmt: str):
    team = request.GET.get("team", "")
    text = dump(export_document(teams=[team] if team else ()), fmt)
    response = HttpResponse(
        text, content_type="application/json" if fmt == "json" else "application/yaml"
    )
    response["Content-Disposition"] = f'attachment; filename="live-callback-configs.{fmt}"'
    return response


def _planned(request, wanted: list[Wanted], *, source: str, title: str, undo_of=None):
    """A new run, its planning queued."""
    run = run_create(actor=request.user, wanted=wanted, source=source, title=title, undo_of=undo_of)
    enqueue_with_request_id(config_run_plan, run.pk)
    return run


def _plan(request, wanted: list[Wanted], **fields):
    return redirect("config_run", pk=_planned(request, wanted, **fields).pk)


@post_only("configs")
def configs_plan(request):
    _require_editor(request.user)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _home(request, form, status=400)
    upload = form.cleaned_data.get("upload")
    title = upload.name if upload is not None else _("Pasted document")
    return _plan(
        request, form.cleaned_data["wanted"], source=ConfigRun.Source.DOCUMENT, title=title
    )


# --- bulk changes ---------------------------------------------------------------------------

BULK_ACTIONS = [
    ("record_url", gettext_lazy("Set the recording callback URL to…")),
    ("sign_new_key", gettext_lazy("Turn signing on, with a new key per domain")),
    ("copy_from", gettext_lazy("Copy another domain's callbacks")),
]


class BulkForm(forms.Form):
    domains = RowsChoiceField(
        label=gettext_lazy("Domains"),
        queryset=Domain.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    action = forms.ChoiceField(label=gettext_lazy("Change"), choices=BULK_ACTIONS)
    url = forms.CharField(
        label=gettext_lazy("Recording callback URL"), required=False, max_length=1024
    )
    source = forms.ModelChoiceField(
        label=gettext_lazy("Copy from"), queryset=Domain.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        editable = domains_editable_by(user).select_related("team").order_by("name")
        self.fields["domains"].queryset = editable
        self.fields["domains"].label_from_instance = lambda d: (
            f"{d.name} · {d.team.name}" if d.team_id else d.name
        )
        self.fields["source"].queryset = Domain.objects.filter(gone_at__isnull=True).order_by(
            "name"
        )

    def clean(self):
        data = super().clean()
        if data.get("action") == "record_url" and not (data.get("url") or "").strip():
            self.add_error("url", _("Give the URL."))
        if data.get("action") == "copy_from" and not data.get("source"):
            self.add_error("source", _("Choose the domain to copy from."))
        return data


@require_http_methods(["GET", "POST"])
def configs_bulk(request):
    _require_editor(request.user)
    # ?domain=<name>… preselects domains (names, as links carry them)
    names = request.GET.getlist("domain")[:1000]
    initial = {"domains": list(Domain.objects.filter(name__in=names).values_list("pk", flat=True))}
    form = BulkForm(
        request.POST if request.method == "POST" else None, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wanted = bulk_wanted(
            domains=data["domains"], action=data["action"], url=data["url"], source=data["source"]
        )
        if not wanted:
            form.add_error(
                None, _("None of the chosen domains has a callback this change applies to.")
            )
        else:
            if data["action"] == "record_url":
                title = _("Recording callback URL → %(url)s") % {"url": data["url"].strip()}
            elif data["action"] == "copy_from":
                title = _("Copy of %(domain)s's callbacks") % {"domain": data["source"].name}
            else:
                title = str(dict(BULK_ACTIONS)[data["action"]])
            return _plan(request, wanted, source=ConfigRun.Source.BULK, title=title)
    status = 400 if request.method == "POST" else 200
    return render(request, "configs/bulk.html", {"form": form}, status=status)


# --- a run ------------------------------------------------------------------------------------


def _run(request, pk: int) -> ConfigRun:
    run = ConfigRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404(_("There is no config run %(id)s.") % {"id": pk})
    if not may_see_run(request.user, run):
        raise PermissionDenied(_("This is someone else's config run.") + " " + ask_a_lead())
    return run


def config_run(request, pk: int):
    run = _run(request, pk)
    changes = list(run.changes.select_related("domain"))
    undone_by = [u for u in run.undone_by.order_by("pk") if may_see_run(request.user, u)]
    rows = [
        {
            "change": c,
            "fields": field_changes(c),
            "reason": reason(c),
            # our own messages are translated; the Live API's stay as Alibaba Cloud sent them
            "error": _(c.error_message)
            if c.error_code in ("Conflict", "Forbidden") and c.error_message
            else c.error_message,
        }
        for c in changes
        if c.action != ConfigChange.Action.UNCHANGED
    ]
    context = {
        "run": run,
        "rows": rows,
        "counts": run_counts(run),
        "unchanged": sum(c.action == ConfigChange.Action.UNCHANGED for c in changes),
        "undone_by": undone_by,
        # (an undo under way is linked instead: Undo again would only be taken to it)
        "undoable": run.state in (ConfigRun.State.DONE, ConfigRun.State.CANCELLED)
        and any(c.outcome == ConfigChange.Outcome.APPLIED for c in changes)
        and not any(u.state in ConfigRun.UNFINISHED for u in undone_by),
    }
    return render_page(request, "configs/run.html", "progress", context)


def _undo(request, run: ConfigRun):
    wanted = undo_wanted(run)
    if run.state not in (ConfigRun.State.DONE, ConfigRun.State.CANCELLED) or not wanted:
        messages.error(request, _("Only a finished run that changed something can be undone."))
        return redirect("config_run", pk=run.pk)
    title = _("Undo of run %(id)s") % {"id": run.pk}
    undo, new = undo_plan(
        run,
        create=lambda: _planned(
            request, wanted, source=ConfigRun.Source.UNDO, title=title, undo_of=run
        ),
    )
    if new:
        return redirect("config_run", pk=undo.pk)
    messages.info(
        request,
        _("Run #%(id)s, planned by %(name)s, already undoes this run: apply or cancel it first.")
        % {"id": undo.pk, "name": undo.created_by_name},
    )
    return redirect("config_run", pk=undo.pk if may_see_run(request.user, undo) else run.pk)


@post_only("config_run", "pk")
def config_run_action(request, pk: int):
    run = _run(request, pk)
    _require_editor(request.user)
    action = request.POST.get("action", "")
    if action in ("apply", "resume") and not may_apply_run(request.user, run):
        messages.error(
            request,
            _("Only %(name)s, who planned it, can apply this run.") % {"name": run.created_by_name},
        )
    elif action in ("apply", "resume"):
        if run_start(run):
            enqueue_with_request_id(config_run_apply, run.pk)
            messages.success(request, _("Applying in the background."))
        else:
            messages.error(request, _("This run is not waiting to be applied."))
    elif action == "pause":
        if not run_pause(run):
            messages.error(request, _("Only a run being applied can be paused."))
    elif action == "cancel":
        if run_cancel(run):
            messages.info(request, _("Cancelled: what was not applied yet will not be."))
        else:
            messages.error(request, _("This run has already finished."))
    elif action == "undo":
        return _undo(request, run)
    else:
        messages.error(request, _("Choose apply, pause, resume, cancel or undo."))
    return redirect("config_run", pk=run.pk)
