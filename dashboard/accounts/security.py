"""Sign-in throttling and session idle timeouts."""

from __future__ import annotations

import hashlib
import time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.shortcuts import redirect
from django.utils.translation import gettext as _


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Locks a user name from one address after LOGIN_MAX_FAILURES failures, for a cool-off.

    Counted per (user name, address), so one attacker cannot lock a colleague out from
    elsewhere, and a locked pair is refused even with the right password until the cool-off
    ends.
    """

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        key = _key(username, address)
        failures = cache.get(key, 0)
        if failures >= settings.LOGIN_MAX_FAILURES:
            minutes = max(1, settings.LOGIN_COOL_OFF // 60)
            raise forms.ValidationError(
                _("Too many failed sign-ins. Try again in %(minutes)d minutes.")
                % {"minutes": minutes},
                code="locked",
            )
        try:
            data = super().clean()
        except forms.ValidationError:
            cache.add(key, 0, timeout=settings.LOGIN_COOL_OFF)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_COOL_OFF)
            raise
        cache.delete(key)
        return data


class SessionIdleTimeoutMiddleware:
    """Sign out sessions idle longer than SESSION_IDLE_TIMEOUT, and every session
    SESSION_COOKIE_AGE after sign-in however active (saving the activity stamp would otherwise
    keep extending the cookie)."""

    STAMP = "last_activity"
    STARTED = "signed_in_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(self.STAMP, now)
            started = request.session.setdefault(self.STARTED, now)
            if (
                now - last > settings.SESSION_IDLE_TIMEOUT
                or now - started > settings.SESSION_COOKIE_AGE
            ):
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity."))
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            if now - last >= 60 or self.STAMP not in request.session:
                request.session[self.STAMP] = now  # written at most once a minute
        return self.get_response(request)
