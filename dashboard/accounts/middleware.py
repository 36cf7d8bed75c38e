"""Show times in the user's own time zone (the browser reports it in the `tz` cookie)."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone


class UserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("tz", "")
        try:
            zone = zoneinfo.ZoneInfo(name) if name and len(name) < 64 else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
