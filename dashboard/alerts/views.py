"""/alerts/: rules (everyone with a role reads them; leads and the domains' editors change
them), each rule's page with what it fires for and its notification history, mutes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard.access import can_create_rules, can_edit_rule
from dashboard.accounts.security import client_ip
from dashboard.domains.selectors import callback_domain_names
from dashboard.forms import VersionForm, held, resent_over
from dashboard.posting import post_only

from . import services
from .forms import AlertRuleForm, DomainMuteForm, MuteForm, time_zone_names
from .models import AlertNotification, AlertRule
from .selectors import active_domain_mutes, rule_firing, rule_history, rules_list


def _rule(pk: int) -> AlertRule:
    rule = AlertRule.objects.select_related("domain", "team").filter(pk=pk).first()
    if rule is None:
        raise Http404(_("There is no alert rule %(id)s.") % {"id": pk})
    return rule


def _posted_rule(request, pk: int) -> AlertRule | None:
    """The rule a form is sent about, read once; None when it is gone (deleted after the page
    was drawn: the page says so, to someone who may set up rules)."""
    rule = AlertRule.objects.select_related("domain", "team").filter(pk=pk).first()
    if rule is None and not can_create_rules(request.user):
        raise PermissionDenied(_("Only leads and editors can set up alerts."))
    return rule


def _require_edit(user, rule: AlertRule) -> None:
    if not can_edit_rule(user, rule):
        raise PermissionDenied(
            _("Only leads, and editors of the domains it watches, can change this rule.")
        )


def alert_list(request, mute_form=None, status=200):
    rules = rules_list()
    for rule in rules:
        rule.editable = can_edit_rule(request.user, rule)
    context = {
        "rules": rules,
        "can_create": can_create_rules(request.user),
        "mutes": active_domain_mutes(),
        "mute_form": mute_form or DomainMuteForm(user=request.user),
    }
    return render(request, "alerts/list.html", context, status=status)


@require_http_methods(["GET", "POST"])
def alert_edit(request, pk: int | None = None):
    if pk and request.method == "POST":
        rule = _posted_rule(request, pk)
        if rule is None:
            return _rule_gone(request)
    else:
        rule = _rule(pk) if pk else AlertRule()
    if pk:
        _require_edit(request.user, rule)
    elif not can_create_rules(request.user):
        raise PermissionDenied(_("Only leads and editors can set up alerts."))
    shown = None
    if request.method == "POST":
        form = AlertRuleForm(request.POST, instance=rule, user=request.user)
        status = 400
        if form.is_valid():
            try:
                saved = services.rule_save(
                    rule=form.save(commit=False),
                    actor=request.user,
                    client_ip=client_ip(request),
                    link_base=request.build_absolute_uri("/"),
                    expected_version=form.cleaned_data["version"] if pk else None,
                )
            except AlertRule.DoesNotExist:
                return _rule_gone(request)
            except services.RuleConflict as stale:
                # Their save stays; the form keeps these values, now over their version, so
                # Save sends them again knowingly.
                current = stale.current
                shown = _saved_since(
                    request,
                    _("This rule was saved after this form was opened"),
                    current,
                    differences=form.differences(current),
                    restart=reverse("alert_edit", args=[pk]),
                )
                form = resent_over(
                    form, "version", current.version, instance=_rule(pk), user=request.user
                )
                status = 409
            else:
                messages.success(request, _("Alert rule saved."))
                return redirect("alert_detail", pk=saved.pk)
    else:
        initial = {}
        if not pk and request.GET.get("domain"):
            initial = {"domain_name": request.GET["domain"][:253]}
        form = AlertRuleForm(instance=rule, user=request.user, initial=initial)
        status = 200
    context = {
        "form": form,
        "rule": rule if pk else None,
        "domain_names": callback_domain_names(),
        "time_zones": time_zone_names(),
        "held": shown,
    }
    return render(request, "alerts/form.html", context, status=status)


def _rule_gone(request):
    """A rule's form sent after someone deleted the rule: what was typed is not lost — the form
    comes back with it, as a new rule's, to be saved as one (or left)."""
    if not can_create_rules(request.user):
        raise PermissionDenied(_("Only leads and editors can set up alerts."))
    form = AlertRuleForm(request.POST, instance=AlertRule(), user=request.user)
    form.is_valid()
    context = {
        "form": form,
        "rule": None,
        "domain_names": callback_domain_names(),
        "time_zones": time_zone_names(),
        "gone": True,
    }
    return render(request, "alerts/form.html", context, status=409)


def alert_detail(request, pk: int, mute_form=None, status=200):
    rule = _rule(pk)
    editable = can_edit_rule(request.user, rule)
    context = {
        "rule": rule,
        "editable": editable,
        "firing": rule_firing(rule=rule),
        "history": rule_history(rule=rule),
        "mute_form": mute_form or MuteForm(initial={"until": rule.muted_until}),
    }
    return render(request, "alerts/detail.html", context, status=status)


@post_only("alert_detail", "pk")
def alert_mute(request, pk: int):
    rule = _posted_rule(request, pk)
    if rule is None:
        return _deleted_meanwhile(request)
    _require_edit(request.user, rule)
    form = MuteForm(request.POST)
    if not form.is_valid():
        return alert_detail(request, pk, mute_form=form, status=400)
    until = form.cleaned_data["until"]
    if not services.rule_mute(
        rule=rule, until=until, actor=request.user, client_ip=client_ip(request)
    ):
        return _deleted_meanwhile(request)
    messages.success(request, _("Muted.") if until else _("Unmuted."))
    return redirect("alert_detail", pk=rule.pk)


@post_only("alert_detail", "pk")
def alert_test(request, pk: int):
    rule = _rule(pk)
    _require_edit(request.user, rule)
    tried = services.test_alert_send(
        rule=rule, actor=request.user, link_base=request.build_absolute_uri("/")
    )
    for sent in tried:
        channel = sent.get_channel_display()
        if sent.status == AlertNotification.Status.SENT:
            messages.success(request, _("Test sent by %(channel)s.") % {"channel": channel})
        else:
            messages.error(
                request,
                _("The test by %(channel)s failed: %(error)s")
                % {"channel": channel, "error": sent.last_error_text},
            )
    return redirect("alert_detail", pk=rule.pk)


@require_http_methods(["GET", "POST"])
def alert_delete(request, pk: int):
    rule = _posted_rule(request, pk) if request.method == "POST" else _rule(pk)
    if rule is None:
        return _deleted_meanwhile(request)
    _require_edit(request.user, rule)
    form = VersionForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return _confirm_delete(request, rule)
    if not form.is_valid():
        return _confirm_delete(request, rule, incomplete=True, status=400)
    try:
        deleted = services.rule_delete(
            rule=rule,
            actor=request.user,
            client_ip=client_ip(request),
            expected_version=form.cleaned_data["version"],
        )
    except services.RuleConflict as stale:
        # the page again as the rule is now: Delete deletes that
        current = stale.current
        shown = _saved_since(
            request,
            _("This rule was saved after this page was opened"),
            current,
            differences=[],
            restart=reverse("alert_detail", args=[pk]),
        )
        return _confirm_delete(request, current, held=shown, status=409)
    if not deleted:
        return _deleted_meanwhile(request)
    messages.success(request, _("Alert rule deleted."))
    return redirect("alerts")


def _saved_since(request, heading: str, rule: AlertRule, *, differences, restart: str) -> dict:
    """What a page says of a rule saved after it was opened (by whom, when)."""
    return held(
        request.user,
        heading,
        by=rule.changed_by.get_username() if rule.changed_by else "",
        by_id=rule.changed_by_id,
        at=rule.changed_at,
        differences=differences,
        restart=restart,
    )


def _confirm_delete(request, rule, *, held=None, incomplete=False, status=200):
    context = {"rule": rule, "version": rule.version, "held": held, "incomplete": incomplete}
    return render(request, "alerts/confirm_delete.html", context, status=status)


def _deleted_meanwhile(request):
    """A delete or a mute of a rule someone deleted first: said, on the list of rules."""
    messages.info(request, _("Someone had deleted this alert rule already: nothing changed."))
    return redirect("alerts")


@post_only("alerts")
def domain_mute(request):
    form = DomainMuteForm(request.POST, user=request.user)
    if not form.is_valid():
        return alert_list(request, mute_form=form, status=400)
    until = form.cleaned_data["until"]
    services.domain_mute(
        domain=form.domain_object,
        until=until,
        reason=form.cleaned_data["reason"],
        actor=request.user,
        client_ip=client_ip(request),
    )
    if until:
        messages.success(
            request, _("Alerts about %(name)s are muted.") % {"name": form.domain_object.name}
        )
    else:
        messages.success(
            request, _("Alerts about %(name)s are on again.") % {"name": form.domain_object.name}
        )
    return redirect("alerts")
