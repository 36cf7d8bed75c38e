"""Paging, written once: a page number is validated like any other parameter.

Junk (`page=abc`, `page=0`) is a 400 with a message; a number past the end shows the last
page (a pasted or edited URL never says "page 99999 of 12").
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Page, Paginator
from django.utils.translation import gettext_lazy as _

PAGE_MAX = 1_000_000


class PageForm(forms.Form):
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=PAGE_MAX)


def requested_page(request, *, errors_to: forms.Form) -> int | None:
    """The page number asked for (1 when none), or None with the error added to `errors_to`."""
    form = PageForm(request.GET)
    if not form.is_valid():
        for message in form.errors.get("page", []):
            errors_to.add_error(None, _("Page: %(message)s") % {"message": message})
        return None
    return form.cleaned_data["page"] or 1


def page_of(
    request, rows, per_page: int, *, errors_to: forms.Form, paginator=Paginator
) -> Page | None:
    """The requested page of `rows`, or None with the error added to `errors_to`."""
    number = requested_page(request, errors_to=errors_to)
    if number is None:
        return None
    pages = paginator(rows, per_page)
    return pages.page(min(number, pages.num_pages))
