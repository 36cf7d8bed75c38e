"""People (leads), and the error pages: 403, 404 and 500 in the layout, saying why."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseServerError
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.template import loader
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from dashboard.access import ask_a_lead, grant_refusal, require_perm
from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import last_change_of
from dashboard.forms import held, resent_over
from dashboard.htmx import wants_fragment
from dashboard.posting import post_only

from . import sso
from .forms import GroupMappingForm, NewPersonForm, PersonForm
from .models import GroupMapping, SsoIdentity
from .roles import ROLE_LABELS, role_of
from .security import (
    ThrottledAuthenticationForm,
    attempt_reserve,
    attempts_reset,
    attempts_spent,
    client_ip,
    locked_message,
)
from .selectors import groups_alike, groups_seen, names_alike
from .services import (
    GroupMapped,
    MappingConflict,
    MappingGone,
    MappingLeavesNoLead,
    NameTaken,
    PersonConflict,
    group_mapping_delete,
    group_mapping_save,
    mapping_fingerprint,
    mapping_state,
    password_change,
    person_create,
    person_fingerprint,
    person_state,
    person_update,
    sign_out_everywhere,
    sso_link,
    sso_release,
    sso_sign_in,
)

# --- signing in ----------------------------------------------------------------------------


def _sign_in_context() -> dict:
    return {
        "sso_enabled": sso.enabled(),
        "sso_provider": settings.OIDC_PROVIDER_NAME,
        "local_login": settings.LOCAL_LOGIN,
    }


class SignInView(LoginView):
    """The sign-in page: "Sign in with <company>" when single sign-on is set up, the
    user-name/password form unless LOCAL_LOGIN is off."""

    authentication_form = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_sign_in_context()}


# Failed single sign-on answers are counted per address like password attempts, under a
# name no local account can have (user names have no spaces).
SSO_ATTEMPTS = "single sign-on"
SSO_NEXT = "sso_next"
# the session key of the provider's ID token, kept only when OIDC_END_SESSION signs out there too
SSO_ID_TOKEN = "sso_id_token"  # noqa: S105 (a name, not a secret)
SSO_LINK = "sso_link"  # whose local account the answer links (account_sso_link)


def _sso_refused(request, message: str, status: int = 400):
    context = {"sso_error": message, "next": request.session.get(SSO_NEXT, "")}
    context.update(_sign_in_context())
    if settings.LOCAL_LOGIN:
        context["form"] = ThrottledAuthenticationForm(request)
    return render(request, "registration/login.html", context, status=status)


@login_not_required
@require_GET
def sso_login(request):
    """Off to the identity provider, remembering where to come back to."""
    if not sso.enabled():
        raise PermissionDenied(_("Single sign-on is not set up here."))
    wanted = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    request.session[SSO_NEXT] = wanted if safe else ""
    try:
        return sso.start(request, request.build_absolute_uri(reverse("sso_callback")))
    except sso.SsoRefused as refused:
        return _sso_refused(request, str(refused), status=502)


@login_not_required
@require_GET
def sso_callback(request):
    """The provider's answer: checked, the person found or created with the role and teams
    their groups map to, signed in (a new session, the idle and lifetime rules as any)."""
    if not sso.enabled():
        raise PermissionDenied(_("Single sign-on is not set up here."))
    address = client_ip(request) or ""
    if attempts_spent(username=SSO_ATTEMPTS, address=address):
        return _sso_refused(request, locked_message(), status=429)
    linking = request.session.pop(SSO_LINK, None)
    if linking is not None:
        return _sso_link_finish(request, linking, address)
    try:
        person = sso.finish(request)
        user = sso_sign_in(person, client_ip=address or None)
    except sso.SsoRefused as refused:
        _sso_count(refused, address)
        return _sso_refused(request, str(refused))
    attempts_reset(username=SSO_ATTEMPTS, address=address)
    wanted = request.session.get(SSO_NEXT) or ""
    login(request, user, backend="dashboard.accounts.backends.RoleBackend")
    if settings.OIDC_END_SESSION and person.id_token:
        request.session[SSO_ID_TOKEN] = person.id_token
    return redirect(wanted or resolve_url(settings.LOGIN_REDIRECT_URL))


def _sso_count(refused: sso.SsoRefused, address: str) -> None:
    """A failed proof counts against the address (LOGIN_MAX_FAILURES in LOGIN_COOL_OFF); an
    answer to no sign-in started here does not (see SsoRefused)."""
    if refused.failed_proof:
        attempt_reserve(username=SSO_ATTEMPTS, address=address)


@post_only("account")
def account_sso_link(request):
    """Someone with a local account moves it to their directory login: off to the provider,
    remembering (in this session only) whose account the answer links."""
    if not sso.enabled():
        raise PermissionDenied(_("Single sign-on is not set up here."))
    if SsoIdentity.objects.filter(user=request.user).exists():
        messages.info(request, _("Your account already signs in through the directory."))
        return redirect("account")
    request.session[SSO_LINK] = request.user.pk
    try:
        started = sso.start(request, request.build_absolute_uri(reverse("sso_callback")))
    except sso.SsoRefused as refused:
        request.session.pop(SSO_LINK, None)
        messages.error(request, str(refused))
        return redirect("account")
    provider = settings.OIDC_PROVIDER_NAME
    return _to_provider(
        request,
        started["Location"],
        heading=_("Linking your account"),
        text=_("Now sign in at %(provider)s: the answer links this account.")
        % {"provider": provider},
    )


def _sso_link_finish(request, linking: int, address: str):
    """The provider's answer to a link started on the account page: the account signed in
    here now must be the one that started it (a session that ended, or another person's,
    links nothing)."""
    if not request.user.is_authenticated or request.user.pk != linking:
        return _sso_refused(
            request,
            _("The link was not finished: sign in here again and start it from your account."),
        )
    try:
        person = sso.finish(request)
    except sso.SsoRefused as refused:  # counted as a failed sign-in's answer is
        _sso_count(refused, address)
        messages.error(request, str(refused))
        return redirect("account")
    attempts_reset(username=SSO_ATTEMPTS, address=address)
    try:
        sso_link(request.user, person, client_ip=address or None)
    except sso.SsoRefused as refused:  # a rule, not a failed proof
        messages.error(request, str(refused))
        return redirect("account")
    request.user.refresh_from_db()
    update_session_auth_hash(request, request.user)  # this session stays signed in
    if settings.OIDC_END_SESSION and person.id_token:
        request.session[SSO_ID_TOKEN] = person.id_token
    messages.success(
        request,
        _(
            "Linked: you now sign in with %(provider)s. Your role and teams come from your "
            "directory groups."
        )
        % {"provider": settings.OIDC_PROVIDER_NAME},
    )
    return redirect("account")


def _signed_out(request):
    """End the session here; then, for someone who came through the provider and with
    OIDC_END_SESSION on, at the provider too: the browser goes there and comes back to the
    sign-in page. The session here ends whatever the provider does."""
    id_token = request.session.get(SSO_ID_TOKEN, "")
    logout(request)
    if id_token:
        try:
            there = sso.end_session_url(id_token, request.build_absolute_uri(reverse("login")))
        except sso.SsoRefused:
            messages.warning(
                request,
                _(
                    "You are signed out here, but the identity provider did not answer: you "
                    "may still be signed in there."
                ),
            )
        else:
            if there:
                provider = settings.OIDC_PROVIDER_NAME
                return _to_provider(
                    request,
                    there,
                    heading=_("Signed out"),
                    text=_(
                        "You are signed out of the dashboard. Now signing you out of "
                        "%(provider)s too…"
                    )
                    % {"provider": provider},
                )
    return redirect(settings.LOGOUT_REDIRECT_URL)


def _to_provider(request, there: str, *, heading: str, text: str):
    """A page that goes on to the provider by itself, where a form's POST led: not a redirect,
    which the browser would refuse (the pages' CSP lets forms post to the dashboard only)."""
    context = {
        "there": there,
        "heading": heading,
        "text": text,
        "provider": settings.OIDC_PROVIDER_NAME,
    }
    answer = render(request, "registration/to_provider.html", context)
    patch_cache_control(answer, no_store=True)  # its address carries a token or the state
    return answer


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def sign_out(request):
    """POST signs out. Opening the address (typed, or from the history) asks first: signing
    out on a GET would let any page sign its visitors out."""
    if request.method == "POST":
        return _signed_out(request)
    if not request.user.is_authenticated:
        return redirect("login")
    return render(request, "registration/sign_out.html")


def _require_people_admin(user) -> None:
    require_perm(user, "auth.change_user", _("Only leads can manage people."))


def people_list(request):
    _require_people_admin(request.user)
    people = (
        get_user_model()
        .objects.select_related("sso_identity")
        .prefetch_related("groups", "teams")
        .order_by("-is_active", "username")
    )
    people = list(people)
    alike = names_alike(u.username for u in people)
    rows = [{"user": u, "role": role_of(u), "alike": alike.get(u.username)} for u in people]
    return render(request, "accounts/people.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def person_add(request):
    _require_people_admin(request.user)
    form = NewPersonForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        if refusal := grant_refusal(request.user, None, form.cleaned_data.get("role") or ""):
            form.add_error("role", refusal)
        else:
            try:
                user = person_create(
                    actor=request.user, data=form.cleaned_data, client_ip=client_ip(request)
                )
            except NameTaken as taken:  # added by someone else a moment ago
                form.add_error("username", form.name_taken(taken.args[0]))
            else:
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
        "seen": person_fingerprint(person),
    }
    form = PersonForm(
        request.POST if request.method == "POST" else None, initial=initial, actor=request.user
    )
    shown = None
    status = 400 if request.method == "POST" else 200
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
                    expected=form.cleaned_data["seen"] or None,
                )
            except PermissionDenied as refusal:  # one's own sign-in is never turned off
                form.add_error(None, str(refusal))
            except PersonConflict as stale:
                person, status = stale.user, 409
                shown = _held_since(
                    request,
                    _("This person was changed after this form was opened"),
                    last_change_of(AuditEntry.Kind.PERSON, username=person.get_username()),
                    form.differences(person_state(person)),
                    reverse("person_edit", args=[person.pk]),
                )
                form = resent_over(form, "seen", person_fingerprint(person), actor=request.user)
            else:
                messages.success(request, _("Saved %(name)s.") % {"name": person.username})
                return redirect("people")
    context = {
        "form": form,
        "person": person,
        "sso_managed": SsoIdentity.objects.filter(user=person).exists(),
        "held": shown,
    }
    return render(request, "accounts/person_form.html", context, status=status)


def _held_since(request, heading: str, change, differences, restart: str) -> dict:
    """A held save's page, its last change read from the audit log."""
    return held(
        request.user,
        heading,
        by=change.actor_name if change else "",
        by_id=change.actor_id if change else None,
        at=change.created_at if change else None,
        differences=differences,
        restart=restart,
    )


@post_only("person_edit", "user_id")
def person_release_sso(request, user_id: int):
    """Free the person's directory login (People › person › Release the directory login), so
    it can be linked to the local account its person had; this account is turned off."""
    _require_people_admin(request.user)
    person = get_object_or_404(get_user_model(), pk=user_id)
    try:
        sso_release(actor=request.user, user=person, client_ip=client_ip(request))
    except (PermissionDenied, sso.SsoRefused) as refused:
        messages.error(request, str(refused))
        return redirect("person_edit", user_id=person.pk)
    messages.success(
        request,
        _(
            "Released. %(name)s is turned off; its person can now link the directory login to "
            "their own account (Your account › Link)."
        )
        % {"name": person.get_username()},
    )
    return redirect("people")


# --- directory groups (single sign-on) -----------------------------------------------------


@require_http_methods(["GET", "POST"])
def group_mappings(request, mapping_id: int | None = None):
    """What each directory group gives here; a form to add one (or, with an id, change it)."""
    _require_people_admin(request.user)
    if mapping_id and request.method == "POST":
        mapping = GroupMapping.objects.filter(pk=mapping_id).first()
        if mapping is None:
            return _mapping_gone(request)
    else:
        mapping = get_object_or_404(GroupMapping, pk=mapping_id) if mapping_id else GroupMapping()
    # "?group=…" fills the new mapping's name (the groups seen at sign-in link to it)
    initial = {} if mapping.pk else {"group": request.GET.get("group", "")[:255]}
    if mapping.pk:
        initial["seen"] = mapping_fingerprint(mapping)
    form = GroupMappingForm(
        request.POST if request.method == "POST" else None, instance=mapping, initial=initial
    )
    shown = None
    if request.method == "POST" and "delete" in request.POST and mapping.pk:
        try:
            group_mapping_delete(
                actor=request.user,
                mapping=mapping,
                client_ip=client_ip(request),
                expected=request.POST.get("seen") or None,
            )
        except MappingGone:
            return _mapping_gone(request)
        except MappingLeavesNoLead as refusal:  # nothing removed: the mapping's page says why
            messages.error(request, str(refusal))
            return redirect("group_mapping", mapping.pk)
        except MappingConflict as stale:
            # nothing removed: the form as the mapping is now; Remove removes that
            current = stale.mapping
            shown = _held_since(
                request,
                _("This mapping was changed after this page was opened"),
                last_change_of(AuditEntry.Kind.SSO, group=mapping_state(current)["group"]),
                [],
                reverse("group_mapping", args=[current.pk]),
            )
            form = GroupMappingForm(
                instance=current, initial={"seen": mapping_fingerprint(current)}
            )
            return _mappings_page(request, form, current, removal_held=shown, status=409)
        messages.success(request, _("Removed the mapping of %(group)s.") % {"group": mapping.group})
        return redirect("group_mappings")
    if request.method == "POST" and form.is_valid():
        try:
            saved = group_mapping_save(
                actor=request.user,
                mapping_id=mapping.pk,
                group=form.cleaned_data["group"],
                role=form.cleaned_data["role"],
                teams=form.cleaned_data["teams"],
                client_ip=client_ip(request),
                expected=(form.cleaned_data["seen"] or None) if mapping.pk else None,
            )
        except MappingGone:
            return _mapping_gone(request)
        except GroupMapped:  # the form's own words for a group mapped already
            form.add_error("group", GroupMapping().unique_error_message(GroupMapping, ["group"]))
        except MappingLeavesNoLead as refusal:
            form.add_error("role" if mapping.pk else None, str(refusal))
        except MappingConflict as stale:
            mapping = stale.mapping
            state = mapping_state(mapping)
            shown = _held_since(
                request,
                _("This mapping was changed after this form was opened"),
                last_change_of(AuditEntry.Kind.SSO, group=state["group"]),
                form.differences(state),
                reverse("group_mapping", args=[mapping.pk]),
            )
            form = resent_over(form, "seen", mapping_fingerprint(mapping), instance=mapping)
        else:
            messages.success(
                request,
                _("Saved. Members of %(group)s get it at their next sign-in.")
                % {"group": saved.group},
            )
            seen = groups_seen()
            if not seen.get(saved.group) and (alike := groups_alike(saved.group, seen)):
                messages.warning(request, _look_alike_warning(saved.group, alike))
            return redirect("group_mappings")
    status = 409 if shown else 400 if request.method == "POST" else 200
    return _mappings_page(request, form, mapping, held=shown, status=status)


def _look_alike_warning(group: str, alike: list[tuple[str, int]]) -> str:
    names = ", ".join(
        ngettext("%(group)s (%(n)d person)", "%(group)s (%(n)d people)", n) % {"group": g, "n": n}
        for g, n in alike
    )
    return _(
        "No one who signed in is in %(group)s, but %(alike)s, which looks the same, is: a "
        "mapping matches a group only exactly as the identity provider sends it. Is that the "
        "group you meant?"
    ) % {"group": group, "alike": names}


def _mapping_gone(request):
    """A mapping's form sent after someone removed the mapping. Remove: it is gone, said so.
    Save: what was typed is not lost — the form comes back with it, as a new mapping's."""
    if "delete" in request.POST:
        messages.info(request, _("Someone had removed this mapping already: nothing to remove."))
        return redirect("group_mappings")
    form = GroupMappingForm(request.POST, instance=GroupMapping())
    form.is_valid()
    return _mappings_page(request, form, GroupMapping(), gone=True, status=409)


def _mappings_page(request, form, mapping, *, held=None, removal_held=None, gone=False, status=200):
    mappings = GroupMapping.objects.prefetch_related("teams")
    mapped = set(mappings.values_list("group", flat=True))
    seen = groups_seen()
    rows = []
    for m in mappings:
        members = seen.get(m.group, 0)
        rows.append((m, members, [] if members else groups_alike(m.group, seen)))
    context = {
        "form": form,
        "mapping": mapping,
        "rows": rows,
        "unmapped": sorted((g, n) for g, n in seen.items() if g not in mapped),
        "sso_enabled": sso.enabled(),
        "groups_claim": settings.OIDC_GROUPS_CLAIM,
        "held": held,
        "removal_held": removal_held,
        "gone": gone,
    }
    return render(request, "accounts/group_mappings.html", context, status=status)


# --- one's own account -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def account(request):
    """Who I am, my role and teams, language and time zone; change my password; sign out
    everywhere."""
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    # People who sign in through the directory have no password here to change.
    if request.method == "POST" and request.user.has_usable_password() and form.is_valid():
        password_change(user=request.user, form=form, client_ip=client_ip(request))
        update_session_auth_hash(request, form.user)  # this session stays signed in
        messages.success(request, _("Your password is changed. Other sessions are signed out."))
        return redirect("account")
    context = {
        "password_form": form if request.user.has_usable_password() else None,
        "sso_provider": settings.OIDC_PROVIDER_NAME,
        "sso_linkable": sso.enabled()
        and not SsoIdentity.objects.filter(user=request.user).exists(),
        "role_label": ROLE_LABELS.get(role_of(request.user), _("No role")),
        "teams": list(request.user.teams.order_by("name")),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/account.html", context, status=status)


@post_only("account")
def account_sign_out_everywhere(request):
    sign_out_everywhere(user=request.user, client_ip=client_ip(request))
    messages.info(request, _("You are signed out everywhere, here too."))
    return _signed_out(request)


# --- error pages ---------------------------------------------------------------------------


def forbidden(request, exception=None):
    """403 in the layout (or an inline message for htmx), saying why and whom to ask."""
    reason = str(exception) if exception and str(exception) else ""
    context = {"reason": reason or _("You may not do this."), "ask": ask_a_lead()}
    if wants_fragment(request):
        return render(request, "_forbidden.html", context, status=403)
    return render(request, "403.html", context, status=403)


def csrf_failure(request, reason=""):
    """A form the CSRF check refused: its token out of date (its person signed in again,
    perhaps in another tab) or its cookie gone. Nothing was done, and nothing typed is lost:
    an htmx form stays as it is with a message above it; a page's form is kept in the tab and
    put back when its page is opened again. The answer sets a new token for the next try."""
    get_token(request)  # a cookie again, when there was none
    message = _(
        "Nothing was saved: this page's security token was out of date or missing (signed in "
        "again, perhaps in another tab, or cookies cleared). It is renewed now: send it again."
    )
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=403)
        response["HX-Reswap"] = "none"  # the form keeps what was typed in it
        response["HX-Trigger"] = json.dumps({"form-refused": message})
        return response
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    return render(request, "403_csrf.html", {"message": message, "back": back}, status=403)


def not_found(request, exception=None):
    reason = ""
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        reason = exception.args[0]
    return render(request, "404.html", {"reason": reason}, status=404)


def server_error(request):
    # Rendered without the request's context processors: they (or the database behind them)
    # may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render({}))
