"""People (leads), and the error pages: 403, 404 and 500 in the layout, saying why."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.access import ask_a_lead, grant_refusal, require_perm
from dashboard.htmx import wants_fragment

from .forms import NewPersonForm, PersonForm
from .roles import ROLE_LABELS, role_of
from .security import client_ip
from .services import password_change, person_create, person_update, sign_out_everywhere


def _require_people_admin(user) -> None:
    require_perm(user, "auth.change_user", _("Only leads can manage people."))


def people_list(request):
    _require_people_admin(request.user)
    people = (
        get_user_model()
        .objects.prefetch_related("groups", "teams")
        .order_by("-is_active", "username")
    )
    rows = [{"user": u, "role": role_of(u)} for u in people]
    return render(request, "accounts/people.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def person_add(request):
    _require_people_admin(request.user)
    form = NewPersonForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        if refusal := grant_refusal(request.user, None, form.cleaned_data.get("role") or ""):
            form.add_error("role", refusal)
        else:
            user = person_create(
                actor=request.user, data=form.cleaned_data, client_ip=client_ip(request)
            )
            messages.success(request, _("%(name)s can now sign in.") % {"name": user.username})
            return redirect("people")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/person_form.html", {"form": form, "new": True}, status=status)


@require_http_methods(["GET", "POST"])
def person_edit(request, user_id: int):
    _require_people_admin(request.user)
    person = get_object_or_404(get_user_model(), pk=user_id)
    initial = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": role_of(person) or "",
        "teams": list(person.teams.all()),
        "is_active": person.is_active,
    }
    form = PersonForm(request.POST or None, initial=initial, actor=request.user)
    if request.method == "POST" and form.is_valid():
        if refusal := grant_refusal(request.user, person, form.cleaned_data.get("role") or ""):
            form.add_error(None, refusal)
        else:
            try:
                person_update(
                    actor=request.user,
                    user=person,
                    data=form.cleaned_data,
                    client_ip=client_ip(request),
                )
            except PermissionDenied as refusal:  # one's own sign-in is never turned off
                form.add_error(None, str(refusal))
            else:
                messages.success(request, _("Saved %(name)s.") % {"name": person.username})
                return redirect("people")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "accounts/person_form.html", {"form": form, "person": person}, status=status
    )


# --- one's own account -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def account(request):
    """Who I am, my role and teams, language and time zone; change my password; sign out
    everywhere."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_change(user=request.user, form=form, client_ip=client_ip(request))
        update_session_auth_hash(request, form.user)  # this session stays signed in
        messages.success(request, _("Your password is changed. Other sessions are signed out."))
        return redirect("account")
    context = {
        "password_form": form,
        "role_label": ROLE_LABELS.get(role_of(request.user), _("No role")),
        "teams": list(request.user.teams.order_by("name")),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/account.html", context, status=status)


@require_POST
def account_sign_out_everywhere(request):
    sign_out_everywhere(user=request.user, client_ip=client_ip(request))
    logout(request)
    messages.info(request, _("You are signed out everywhere, here too."))
    return redirect("login")


# --- error pages ---------------------------------------------------------------------------


def forbidden(request, exception=None):
    """403 in the layout (or an inline message for htmx), saying why and whom to ask."""
    reason = str(exception) if exception and str(exception) else ""
    context = {"reason": reason or _("You may not do this."), "ask": ask_a_lead()}
    if wants_fragment(request):
        return render(request, "_forbidden.html", context, status=403)
    return render(request, "403.html", context, status=403)


def not_found(request, exception=None):
    reason = ""
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        reason = exception.args[0]
    return render(request, "404.html", {"reason": reason}, status=404)


def server_error(request):
    # Rendered without the request's context processors: they (or the database behind them)
    # may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render({}))
