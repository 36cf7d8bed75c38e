"""Paging, written once: a page number is validated like any other parameter.

Junk (`page=abc`, `page=0`) is a 400 with a message; a number past the end shows the last
page (a pasted or edited URL never says "page 99999 of 12").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Max
from django.utils import timezone
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


# --- pages read as of the first ---------------------------------------------------------------
# A list whose newest rows come first, numbered as they are written (the archive's records, the
# audit log): paging it while rows are written would push the rows already seen onto the next
# page. The first page writes the newest row's number into the form (`as_of`); the pages after
# it leave out what is numbered above it, so they are read as the list was at the first.


def pinned_number(data) -> int | None:
    """The newest row's number when the first page was read (`as_of`), for a page after the
    first. None for the first page, or for what cannot be a row's number (junk is ignored: the
    page is then read as the list is now)."""
    page, text = str(data.get("page") or ""), str(data.get("as_of") or "")
    numbers = all(t.isascii() and t.isdigit() and 0 < len(t) < 19 for t in (page, text))
    return int(text) if numbers and int(page) > 1 and int(text) > 0 else None


@dataclass
class PinnedPage:
    page: Page | None
    as_of: int  # what the pages after this one are read as of
    pinned: bool  # this page is read as of an earlier first page


def pinned_page_of(request, rows, per_page: int, *, errors_to: forms.Form) -> PinnedPage:
    """The requested page of `rows` (newest first by their numbers), a page after the first
    read as the list was at the first. The number is taken before the rows are read: a row
    written in between is on the next first page, never on no page."""
    pin = pinned_number(request.GET)
    if pin is None:
        as_of = rows.model._default_manager.aggregate(n=Max("pk", default=0))["n"]
    else:
        as_of, rows = pin, rows.filter(pk__lte=pin)
    page = page_of(request, rows, per_page, errors_to=errors_to)
    return PinnedPage(page=page, as_of=as_of, pinned=pin is not None)


# --- pages read as of a moment ----------------------------------------------------------------
# A list ordered by what changes (incidents by their latest failure): paging it while rows
# change moves a row seen on page 1 onto page 2, or one not yet seen onto page 1. The first
# page writes its moment into the form (`as_of`, microseconds since the epoch); the pages
# after it leave out the rows changed since (they are on a first page read now).


@dataclass
class MomentPage:
    page: Page | None
    as_of: int  # the moment the pages after this one are read as of (microseconds)
    changed_since: int  # rows left out of this page's list: changed since the first page


def pinned_moment(data) -> dt.datetime | None:
    """The moment the first page was read, for a page after the first; None for the first
    page or for what is no moment (junk is ignored; a moment ahead of now is now)."""
    micros = pinned_number(data)
    if micros is None:
        return None
    now = timezone.now()
    if micros >= int(now.timestamp() * 1_000_000):
        return now
    return dt.datetime.fromtimestamp(micros / 1_000_000, tz=dt.UTC)


def moment_page_of(
    request, rows_at, per_page: int, *, errors_to: forms.Form, changed: str = "updated_at"
) -> MomentPage:
    """The requested page of `rows_at(moment)` (the list as ordered at that moment), a page
    after the first read as the list was at the first: without the rows whose `changed` field
    is later."""
    moment = pinned_moment(request.GET)
    pinned = moment is not None
    moment = moment or timezone.now()
    rows = rows_at(moment)
    changed_since = 0
    if pinned:
        changed_since = rows.filter(**{f"{changed}__gt": moment}).count()
        rows = rows.filter(**{f"{changed}__lte": moment})
    page = page_of(request, rows, per_page, errors_to=errors_to)
    as_of = int(moment.timestamp() * 1_000_000)
    return MomentPage(page=page, as_of=as_of, changed_since=changed_since)
