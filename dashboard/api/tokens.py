"""Making, revoking and checking personal access tokens. The token is shown once; only its
SHA-256 is kept (a 256-bit random secret needs no slow hash). Every token made or revoked is
audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.roles import has_any_role
from dashboard.audit.models import AuditEntry
from dashboard.audit.services import audit_entry_create

from .models import AccessToken

PREFIX = "lcd_"
LIFETIMES = (7, 30, 90, 365)  # days a token may live
USE_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most this often


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _state(token: AccessToken) -> dict:
    return {
        "username": token.user.get_username(),
        "token": f"{token.prefix}… {token.name}",
        "expires": token.expires_at.isoformat(timespec="minutes"),
        "may_change_configs": token.may_change_configs,
    }


def token_create(
    *, user, name: str, days: int, may_change_configs: bool = False, client_ip=None
) -> tuple[AccessToken, str]:
    """A new token for `user`; returns it and its secret (shown once, never again). Read-only
    unless `may_change_configs` (the caller checks that its person edits domains)."""
    if days not in LIFETIMES:
        raise ValueError(f"a token lives {LIFETIMES} days")
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = AccessToken.objects.create(
            user=user,
            name=name.strip()[:100],
            prefix=secret[:12],
            digest=_digest(secret),
            expires_at=timezone.now() + dt.timedelta(days=days),
            may_change_configs=may_change_configs,
        )
        audit_entry_create(
            kind=AuditEntry.Kind.TOKEN,
            action=AuditEntry.Action.ADD,
            actor=user,
            client_ip=client_ip,
            after=_state(token),
        )
    return token, secret


def token_revoke(*, token: AccessToken, actor, client_ip=None) -> bool:
    with transaction.atomic():
        revoked = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_entry_create(
                kind=AuditEntry.Kind.TOKEN,
                action=AuditEntry.Action.DELETE,
                actor=actor,
                client_ip=client_ip,
                before=_state(token),
            )
    return bool(revoked)


def token_check(raw: str) -> AccessToken | None:
    """The presented token, its person with it, or None (unknown, revoked, expired, its person
    turned off or without a role)."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = AccessToken.objects.select_related("user").filter(digest=_digest(raw)).first()
    if token is None or not token.usable:
        return None
    user = token.user
    if not user.is_active or not has_any_role(user):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > USE_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
