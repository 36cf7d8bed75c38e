"""htmx edges, written once: which template answers a request, and what a response varies on.

A page and its `{% partialdef %}` fragment share one URL. An htmx swap gets the fragment;
everything else gets the whole page — a normal load, a boosted navigation, and htmx's
history-restore request after Back or Forward (which replaces the whole body, so a fragment
there would strand the user on a bare table).
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

vary_on_htmx = vary_on_headers("HX-Request", "HX-History-Restore-Request")


def wants_fragment(request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def template_for(request, template: str, partial: str) -> str:
    return f"{template}#{partial}" if wants_fragment(request) else template


def render_page(request, template: str, partial: str, context: dict, *, status: int = 200):
    return render(request, template_for(request, template, partial), context, status=status)
