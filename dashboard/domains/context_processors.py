from __future__ import annotations

from django.conf import settings


def upstream(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    from dashboard.live import get_client

    return {
        "upstream_is_sandbox": not settings.LIVE_API_ENDPOINT,
        "upstream_degraded": get_client().breaker.is_open,
    }
