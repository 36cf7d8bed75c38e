"""Server-side SVG charts: bars, markers, the list of changes and the table alternative.

Drawn here in Python rather than by template loops: a 90-day chart with a hundred config
changes is a few hundred elements, and the template language spent more time on them than
the database spent on the numbers (see benchmarks/archive.py)."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import quote

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from dashboard.domains.templatetags.dashboard import failure_name, percent

register = template.Library()

# The bars and markers are hundreds of elements: escaped by the standard library's escape
# (what Django's escape wraps) rather than format_html's per-argument lazy-string checks.
_e = html.escape

WIDTH, HEIGHT = 1000, 180


def _local(moment: dt.datetime, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt)


def _what(entry) -> tuple[str, str, str, str]:
    """Who, what and how, before and after: the words a marker and its list item share.
    (Labels straight from the choices enums: `get_FOO_display()` hashes every lazy label of
    the field's choices on each call, a few thousand translations for a hundred markers.)"""
    kind = str(entry.Kind(entry.kind).label) if entry.kind in entry.Kind else entry.kind
    action = str(entry.Action(entry.action).label) if entry.action in entry.Action else entry.action
    return (
        entry.actor_name or gettext("sync"),
        f"{kind} · {action}",
        (entry.before or {}).get("notify_url") or "—",
        (entry.after or {}).get("notify_url") or "—",
    )


def _counter():
    """intcomma for whole numbers, its locale's separator looked up once per chart rather
    than once per number (a 90-bar chart and its table show ~500 numbers)."""
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    if not separator or not grouping:
        return str  # e.g. Chinese: no separator
    if grouping == 3:
        return lambda n: f"{n:,}".replace(",", separator)
    return intcomma


def _bars(chart, domain, horizon, count) -> str:
    slots = max(len(chart.buckets), 1)
    slot = WIDTH / slots
    peak = max(chart.peak, 1)
    records = reverse("records")
    scope = f"domain={quote(domain.name, safe='/')}&" if domain is not None else ""
    parts = []
    for index, bucket in enumerate(chart.buckets):
        if not bucket.total:
            continue
        success_h = HEIGHT * bucket.success / peak
        failed_h = HEIGHT * bucket.failed / peak
        x, width = round(index * slot + slot * 0.1, 2), round(slot * 0.8, 2)
        href = (
            f"{records}?{scope}window=custom&start={_local(max(bucket.start, horizon))}"
            f"&end={_local(bucket.end)}{'&status=failed' if bucket.failed else ''}"
        )
        title = (
            f"{_local(bucket.start, '%Y-%m-%d %H:%M')} – {_local(bucket.end, '%H:%M')}: "
            + gettext("%(ok)s delivered, %(bad)s failed")
            % {"ok": count(bucket.success), "bad": count(bucket.failed)}
            + "".join(
                f" · {failure_name(name)} {count(n)}"
                for name, n in sorted(bucket.classes.items(), key=lambda item: -item[1])
            )
        )
        success_y = round(HEIGHT - success_h, 2)
        failed_y = round(HEIGHT - success_h - failed_h, 2)
        parts.append(
            f'<a href="{_e(href)}"><title>{_e(title)}</title>\n'
            f'      <rect class="ok" x="{x}" y="{success_y}" width="{width}" '
            f'height="{round(success_h, 2)}"></rect>\n'
            f'      <rect class="bad" x="{x}" y="{failed_y}" width="{width}" '
            f'height="{round(failed_h, 2)}"></rect></a>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _markers(chart, domain, urls: dict) -> str:
    span = (chart.end - chart.start).total_seconds() or 1
    parts = []
    for marker in chart.markers:
        entry = marker.entry
        x = round(WIDTH * (marker.at - chart.start).total_seconds() / span, 2)
        href = _url(urls, "domain_detail", entry.domain_name)
        where = "" if domain is not None else f"{entry.domain_name} · "
        parts.append(
            f'<a href="{_e(href)}?period={chart.period}#change-{entry.pk}" class="marker" '
            f'data-entry="{entry.pk}"><title>{_local(marker.at, "%Y-%m-%d %H:%M")} {_e(where)}'
            f"{_e('{}: {} — {} → {}'.format(*_what(entry)))}</title>\n"
            f'      <line x1="{x}" x2="{x}" y1="0" y2="{HEIGHT}"></line>'
            f'<line class="flag" x1="{x}" x2="{x}" y1="0" y2="14"></line></a>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _changes(chart, domain, urls: dict, *, can_edit: bool, user_is_lead: bool) -> str:
    audit = reverse("audit")
    audit_words = gettext("audit entry #%(n)s")
    restore_words = _e(gettext("Restore the configuration before this"))
    parts = []
    for marker in chart.markers:
        entry = marker.entry
        who, what, before, after = _what(entry)
        where = ""
        if domain is None:
            page = _url(urls, "domain_detail", entry.domain_name)
            where = (
                f'<a href="{_e(page)}?period={chart.period}#change-{entry.pk}">'
                f"{_e(entry.domain_name)}</a> · "
            )
        links = ""
        if user_is_lead:
            links += (
                f' <a href="{audit}?entry={entry.pk}#audit-{entry.pk}">'
                f"{_e(audit_words % {'n': entry.pk})}</a>"
            )
        if domain is not None and can_edit and entry.restorable:
            form = _url(urls, "config_edit", entry.domain_name, entry.kind)
            links += f' <a class="restore" href="{_e(form)}?restore={entry.pk}">{restore_words}</a>'
        moment = timezone.localtime(entry.created_at)
        parts.append(
            f'<li id="change-{entry.pk}"><time datetime="{moment.isoformat()}">'
            f"{moment:%Y-%m-%d %H:%M}</time> {where}{_e(who)}: {_e(what)} "
            f'<span class="mono break">{_e(before)} → {_e(after)}</span>{links}</li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _url(cache: dict, name: str, *args) -> str:
    """reverse(), once per page for each set of arguments (a hundred markers share a few)."""
    key = (name, *args)
    if key not in cache:
        cache[key] = reverse(name, args=args)
    return cache[key]


def _rows(chart, count) -> str:
    return format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _local(b.start, "%Y-%m-%d %H:%M"),
                count(b.success),
                count(b.failed),
                percent(b.rate),
            )
            for b in chart.buckets
            if b.total
        ),
    )


@register.simple_tag(takes_context=True)
def chart_parts(context, chart) -> dict:
    """Bars (delivered below, failed stacked on top) and config-change markers in a
    1000 × 180 box the page scales to its width; the list of changes under it and the
    numbers as a table. On a domain's page (`domain` in the context) links stay on it."""
    domain = context.get("domain")
    # a bar's records: never before the archive's horizon (the records page refuses that)
    horizon = (
        chart.end - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS) + dt.timedelta(minutes=1)
    )
    # five times under the axis (HTML, so the text is not stretched with the bars)
    fmt = {"24h": "%H:%M", "7d": "%m-%d %H:%M"}.get(chart.period, "%m-%d")
    urls: dict = {}
    count = _counter()
    ticks = [_local(chart.start + (chart.end - chart.start) * i / 4, fmt) for i in range(5)]
    return {
        "bars": _bars(chart, domain, horizon, count),
        "markers": _markers(chart, domain, urls),
        "changes": _changes(
            chart,
            domain,
            urls,
            can_edit=bool(context.get("can_edit")),
            user_is_lead=bool(context.get("user_is_lead")),
        ),
        "rows": _rows(chart, count),
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT,
        "peak": max(chart.peak, 1),
    }


@register.simple_tag
def sparkline(rates: list | None) -> str:
    """A 7-point failure-rate line, 70 × 18, with the numbers as its text alternative.
    Built here rather than by a template: the failure overview draws 200 of them."""
    label = _e(gettext("Failure rate, day by day over the last 7 days:"))
    return mark_safe(_sparkline(rates, label))  # noqa: S308 - numbers, and text through _e


def _sparkline(rates: list | None, label: str) -> str:
    rates = rates or []
    width, height = 70, 18
    step = width / max(len(rates) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 1 - (height - 2) * min(rate, 1):.1f}"
        for index, rate in enumerate(rates)
        if rate is not None
    )
    if not points:
        return '<span class="muted small">—</span>'
    numbers = ", ".join(percent(rate) for rate in rates)
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img"><title>{label} {numbers}</title><polyline points="{points}"></polyline></svg>'
    )
