"""Reading people and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from .roles import LEAD
from .security import sign_in_identity


def leads() -> list:
    """The people who can grant roles: leads and superusers, active ones only."""
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=LEAD) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "username")
    )


def username_owner(username: str) -> str | None:
    """The user name someone has that is `username` or signs in as it (`Lead` or `ｌｅａｄ` for
    `lead`, `STRASSE` for `straße`), or None: two such accounts would share one sign-in throttle
    and be told apart by no one. People are few; every name is compared."""
    identity = sign_in_identity(username)
    names = get_user_model().objects.values_list("username", flat=True)
    return next((name for name in names.iterator() if sign_in_identity(name) == identity), None)
