"""Making, revoking and checking personal access tokens. The token is shown once; only its
SHA-256 is kept (a 256-bit random secret needs no slow hash). Every token made or revoked is
audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
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


class MadeAlready(Exception):
    """A token of the same name was made after the form was opened: the form was sent again
    (a reload of the page that showed the secret, a second tab). `token` is that one."""

    def __init__(self, token: AccessToken):
        super().__init__(token.name)
        self.token = token


def newest_token_id(user) -> int:
    """What a token form remembers of the person's tokens when it is opened."""
    return (
        AccessToken.objects.filter(user=user).order_by("-pk").values_list("pk", flat=True).first()
        or 0
    )


def token_create(
    *,
    user,
    name: str,
    days: int,
    may_change_configs: bool = False,
    client_ip=None,
    after: int | None = None,
) -> tuple[AccessToken, str]:
    """A new token for `user`; returns it and its secret (shown once, never again). Read-only
    unless `may_change_configs` (the caller checks that its person edits domains). With
    `after` (newest_token_id when the form was opened), a token of the same name made since
    raises MadeAlready: a form sent twice makes one token, not a second one whose secret no one
    keeps. The person's row is locked meanwhile, so two at once are one too."""
    if days not in LIFETIMES:
        raise ValueError(f"a token lives {LIFETIMES} days")
    name = name.strip()[:100]
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        if after is not None:
            get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
            made = AccessToken.objects.filter(
                user=user, pk__gt=after, name=name, revoked_at__isnull=True
            )
            made = made.order_by("-pk").first()
            if made is not None:
                raise MadeAlready(made)
        token = AccessToken.objects.create(
            user=user,
            name=name,
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
