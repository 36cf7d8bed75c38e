"""Deployment checks: what a production setting lacks, said at start-up."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register("ops", deploy=True)
def redis_for_the_api_budget(app_configs, **kwargs):
    if settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: the Live API rate budget is kept per process, so several "
            "web workers and the harvester together can exceed Alibaba Cloud's QPS (calls "
            "are then throttled and retried). The dashboard's own limits (test callbacks, "
            "redelivery rate, concurrent exports) are shared through the database.",
            hint="Set REDIS_URL when you run more than one process.",
            id="ops.W001",
        )
    ]
