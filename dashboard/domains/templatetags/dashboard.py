"""Small template filters for the dashboard's pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


@register.filter
def sort_toggle(current: str | None, field: str) -> str:
    """The sort value a column header links to: ascending first, then descending."""
    return f"-{field}" if (current or "name") == field else field


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def fingerprint(value: str) -> str:
    return value[:8] if value else ""
