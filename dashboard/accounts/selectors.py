"""Reading people and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from .roles import LEAD


def leads() -> list:
    """The people who can grant roles: leads and superusers, active ones only."""
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=LEAD) | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "username")
    )
