from __future__ import annotations

from django.conf import settings

from .selectors import upstream_health


def upstream(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "upstream_is_sandbox": not settings.LIVE_API_ENDPOINT,
        "upstream_degraded": upstream_health()["degraded"],
    }
