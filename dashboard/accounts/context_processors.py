from __future__ import annotations

from .roles import is_lead, role_of


def role(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_role": role_of(user), "user_is_lead": is_lead(user)}
