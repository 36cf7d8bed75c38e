"""Server-side SVG charts: the geometry of bars and markers, computed once here."""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from dashboard.domains.templatetags.dashboard import percent

register = template.Library()

WIDTH, HEIGHT = 1000, 180


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@register.simple_tag
def chart_geometry(chart) -> dict:
    """Bars (delivered below, failed stacked on top) and config-change markers, in a
    1000 × 180 box the page scales to its width."""
    count = max(len(chart.buckets), 1)
    slot = WIDTH / count
    peak = max(chart.peak, 1)
    span = (chart.end - chart.start).total_seconds() or 1
    # a bar's records: never before the archive's horizon (the records page refuses that)
    horizon = (
        chart.end - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS) + dt.timedelta(minutes=1)
    )
    bars = []
    for index, bucket in enumerate(chart.buckets):
        success_h = HEIGHT * bucket.success / peak
        failed_h = HEIGHT * bucket.failed / peak
        bars.append(
            {
                "bucket": bucket,
                "x": round(index * slot + slot * 0.1, 2),
                "width": round(slot * 0.8, 2),
                "success_y": round(HEIGHT - success_h, 2),
                "success_h": round(success_h, 2),
                "failed_y": round(HEIGHT - success_h - failed_h, 2),
                "failed_h": round(failed_h, 2),
                "start_local": _local(max(bucket.start, horizon)),
                "end_local": _local(bucket.end),
                "classes": sorted(bucket.classes.items(), key=lambda item: -item[1]),
            }
        )
    markers = [
        {
            "marker": marker,
            "x": round(WIDTH * (marker.at - chart.start).total_seconds() / span, 2),
        }
        for marker in chart.markers
    ]
    # five times under the axis (HTML, so the text is not stretched with the bars)
    fmt = {"24h": "%H:%M", "7d": "%m-%d %H:%M"}.get(chart.period, "%m-%d")
    ticks = [
        timezone.localtime(chart.start + (chart.end - chart.start) * i / 4).strftime(fmt)
        for i in range(5)
    ]
    return {
        "bars": bars,
        "markers": markers,
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT,
        "peak": peak,
    }


@register.simple_tag
def sparkline(rates: list | None) -> str:
    """A 7-point failure-rate line, 70 × 18, with the numbers as its text alternative.
    Built here rather than by a template: the failure overview draws 200 of them."""
    rates = rates or []
    width, height = 70, 18
    step = width / max(len(rates) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 1 - (height - 2) * min(rate, 1):.1f}"
        for index, rate in enumerate(rates)
        if rate is not None
    )
    if not points:
        return mark_safe('<span class="muted small">—</span>')  # noqa: S308 - a constant
    label = gettext("Failure rate, day by day over the last 7 days:")
    numbers = ", ".join(percent(rate) for rate in rates)
    return format_html(
        '<svg class="spark" width="{}" height="{}" viewBox="0 0 {} {}" role="img">'
        '<title>{} {}</title><polyline points="{}"></polyline></svg>',
        width,
        height,
        width,
        height,
        label,
        numbers,
        points,
    )
