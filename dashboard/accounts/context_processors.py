from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from .roles import ROLE_LABELS, is_lead, role_of


def _zone_label() -> str:
    """ "Asia/Shanghai (UTC+08:00)": the zone times on the page are shown in."""
    now = timezone.localtime()
    offset = now.strftime("%z")
    return f"{timezone.get_current_timezone_name()} (UTC{offset[:3]}:{offset[3:]})"


def role(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # the sign-in page names the demo users, which exist only in the demo (make run)
        return {"demo_sign_in": settings.DEMO_RECEIVER}
    name = role_of(user)
    return {
        "user_role": name,
        "user_role_label": ROLE_LABELS.get(name, ""),
        "user_is_lead": is_lead(user),
        "tz_label": _zone_label(),
    }
