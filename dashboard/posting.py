"""Addresses that take a form's submission, written once: what opening one in the browser does.

A form posted to such an address and refused (or shown without JavaScript) leaves that address
in the address bar. Pressing Enter there, opening it from the history or a bookmark is a GET:
Django's `require_POST` answers it with an empty 405, which Chromium shows as "This page isn't
working". Here a GET or HEAD goes to the page the form lives on instead, and any other method
gets a 405 that says what the address is for.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.translation import gettext as _


def post_only(page: str, *keep: str):
    """POST runs the view; GET and HEAD redirect to the named `page`, given the view's URL
    arguments named in `keep` (e.g. `post_only("incident_detail", "pk")`)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                return redirect(page, **{name: kwargs[name] for name in keep})
            refused = HttpResponseNotAllowed(
                ["GET", "HEAD", "POST"],
                content=_("This address takes a form's submission (POST)."),
                content_type="text/plain; charset=utf-8",
            )
            return refused

        return wrapper

    return decorator
