"""Sign-in throttling, the client's address, and session idle timeouts."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
import time
import unicodedata

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import SignInThrottle


def client_ip(request) -> str | None:
    """The address of the person making the request.

    Behind a load balancer REMOTE_ADDR is the balancer's own address; with
    TRUSTED_PROXY_HEADER set (e.g. X-Forwarded-For) the client is the entry that the
    TRUSTED_PROXY_COUNT-th proxy from the right appended. Entries further left were written by
    the client and are not trusted.
    """
    header = settings.TRUSTED_PROXY_HEADER
    if header:
        raw = request.headers.get(header, "")
        hops = [hop.strip() for hop in raw.split(",") if hop.strip()]
        if hops:
            candidate = hops[-min(settings.TRUSTED_PROXY_COUNT, len(hops))]
            try:
                return str(ipaddress.ip_address(candidate.strip("[]")))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def sign_in_identity(username: str) -> str:
    """The identity a typed user name signs in as, for counting attempts: exactly what
    authentication looks up (stripped, NFKC-normalised, as Django's UsernameField does), then
    case-folded. Look-alikes — full-width `ｖｉｃtim`, mathematical `𝐯𝐢𝐜𝐭𝐢𝐦`, circled
    `ⓥⓘⓒⓣⓘⓜ`, `VICTIM` — share one count with `victim`, so none of them gets past its lock."""
    name = unicodedata.normalize("NFKC", username.strip())
    return unicodedata.normalize("NFKC", name.casefold())


def _throttle_key(username: str, address: str) -> str:
    return hashlib.sha256(f"{sign_in_identity(username)}|{address}".encode()).hexdigest()


def attempt_reserve(*, username: str, address: str) -> int:
    """Count one sign-in attempt for (user name, address); returns its number in the window.

    One short transaction with the row locked (SQLite: an IMMEDIATE transaction), so two
    concurrent attempts never read the same count.
    """
    now = timezone.now()
    window = dt.timedelta(seconds=settings.LOGIN_COOL_OFF)
    key = _throttle_key(username, address)
    with transaction.atomic():
        row, _ = SignInThrottle.objects.select_for_update().get_or_create(
            key=key, defaults={"attempts": 0, "window_ends": now + window}
        )
        if row.window_ends <= now:
            row.attempts, row.window_ends = 0, now + window
        row.attempts += 1
        row.save(update_fields=["attempts", "window_ends"])
    if random.random() < 0.01:  # keep the table small: forget long-finished windows
        SignInThrottle.objects.filter(window_ends__lt=now - dt.timedelta(days=1)).delete()
    return row.attempts


def attempts_spent(*, username: str, address: str) -> bool:
    """Whether (user name, address) has had LOGIN_MAX_FAILURES counted in its window (read
    only: for answers counted after they fail, as single sign-on's)."""
    return SignInThrottle.objects.filter(
        key=_throttle_key(username, address),
        window_ends__gt=timezone.now(),
        attempts__gte=settings.LOGIN_MAX_FAILURES,
    ).exists()


def locked_message() -> str:
    minutes = max(1, round(settings.LOGIN_COOL_OFF / 60))
    return ngettext(
        "Too many failed sign-ins. Try again in %(minutes)d minute.",
        "Too many failed sign-ins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def attempts_reset(*, username: str, address: str) -> None:
    SignInThrottle.objects.filter(key=_throttle_key(username, address)).delete()


class ThrottleMixin:
    """Locks a user name from one address after LOGIN_MAX_FAILURES attempts, for a cool-off.

    The attempt is counted before the password is checked; a successful sign-in clears the
    count. Counted per (user name, address), so an attacker cannot lock a colleague out from
    elsewhere, and a locked pair is refused even with the right password until the window
    ends. Used by the dashboard's sign-in form and the admin's alike.
    """

    def clean(self):
        if not settings.LOCAL_LOGIN:
            raise forms.ValidationError(
                _("Signing in with a password is turned off here: use %(provider)s.")
                % {"provider": settings.OIDC_PROVIDER_NAME},
                code="local_off",
            )
        username = str(self.data.get("username") or "")
        address = (client_ip(self.request) if self.request else None) or ""
        if attempt_reserve(username=username, address=address) > settings.LOGIN_MAX_FAILURES:
            raise forms.ValidationError(locked_message(), code="locked")
        data = super().clean()
        attempts_reset(username=username, address=address)
        return data


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_superuser:
            raise forms.ValidationError(
                _("The admin is for administrators only. Leads manage people on the People page."),
                code="not_superuser",
            )


class SessionIdleTimeoutMiddleware:
    """Sign out sessions idle longer than SESSION_IDLE_TIMEOUT, and every session
    SESSION_COOKIE_AGE after sign-in however active (saving the activity stamp would otherwise
    keep extending the cookie)."""

    STAMP = "last_activity"
    STARTED = "signed_in_at"
    # The stamp is written at most this often (each write is a session save); idleness is
    # measured from the last request, to within this many seconds.
    RESOLUTION = 30

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
                return redirect_to_login(request.get_full_path())
            if now - last >= self.RESOLUTION or self.STAMP not in request.session:
                request.session[self.STAMP] = now
        return self.get_response(request)
