"""Request-wide rules: the user's time zone, no access without a role, no caching of pages
that belong to a signed-in user, sign-in redirects that work for htmx requests, and no NUL
in an address."""

from __future__ import annotations

import zoneinfo
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from .roles import has_any_role
from .selectors import leads


def zone_from_cookie(value: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone the browser reported (URL-encoded: `Asia%2FShanghai`), or None."""
    name = unquote(value or "").strip()
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


class UserTimezoneMiddleware:
    """Show times in the user's own time zone (the browser reports it in the `tz` cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from_cookie(request.COOKIES.get("tz", ""))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RoleRequiredMiddleware:
    """A signed-in user without a role (Viewer, Editor or Lead) reads nothing: every page says
    they have no access yet and whom to ask. Signing out, the language switch and the admin
    (which has its own rules) stay reachable."""

    OPEN = ("/accounts/", "/account/", "/i18n/", "/admin/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not has_any_role(user)
            and not request.path.startswith(self.OPEN)
        ):
            return render(request, "accounts/no_access.html", {"leads": leads()}, status=403)
        return self.get_response(request)


class NulInAddressMiddleware:
    """An address with U+0000 in its path or its query is a 400 that says so, before any view
    reads it (pages and the API alike): no browser sends one, and PostgreSQL refuses it in a
    query, which made a 500 of every view that filtered on such a value. Signing in comes
    first: this runs after the sign-in and role checks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if "\x00" in request.path_info:
            reason = _(
                "The address contains a NUL character (U+0000) in its path: it cannot be read."
            )
        else:
            name = next(
                (key for key, values in request.GET.lists() if "\x00" in key + "".join(values)),
                None,
            )
            if name is None:
                return None
            reason = _(
                "In the address, “%(name)s” contains a NUL character (U+0000): it cannot be read."
            ) % {"name": name.replace("\x00", "\ufffd")[:40]}
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": reason}, status=400)
        return render(request, "400.html", {"reason": reason}, status=400)


class PrivatePagesMiddleware:
    """Pages for a signed-in user are private and never stored: one may show a freshly
    generated auth key, and a shared cache or the browser's disk must not keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            patch_cache_control(response, private=True, no_store=True)
        return response


class HtmxSignInRedirectMiddleware:
    """A session that expired during an htmx request sends the browser to the sign-in page,
    instead of swapping the sign-in page into a fragment."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if htmx and response.status_code in (301, 302):
            location = response.get("Location", "")
            if location.startswith(resolve_url(settings.LOGIN_URL)):
                # Back to the page the user was on, not to the fragment's URL; a filter of
                # that page (its own path asked again) is the page as just asked for: what was
                # typed in it outlives the sign-in
                current = htmx.current_url_abs_path or "/"
                if request.method == "GET" and urlsplit(current).path == request.path:
                    current = request.get_full_path()
                return HttpResponseClientRedirect(
                    location.split("?")[0] + "?" + _next_query(current)
                )
        return response


def _next_query(path: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": path})
