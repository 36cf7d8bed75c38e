"""/records/: the explorer (the archive by default, the Live API on request), a record's own
page, CSV export of exactly what is on screen, and the failure overview."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from functools import cached_property, partial
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import periods
from dashboard.access import can_edit_domain, edit_refusal
from dashboard.archive.filters import KEPT, exactly, quoted
from dashboard.archive.models import failure_name
from dashboard.archive.selectors import (
    COUNT_CAP,
    archive_freshness,
    bounded_search,
    config_at,
    domain_harvested_until,
    missing_callbacks,
    name_seen,
    names_either,
    names_matching,
    param_hits,
    pushes_checked_until,
    record_get,
    record_number_now,
    records_count,
    records_counts,
    records_search,
    records_slice,
    stream_known,
    stream_pushes,
)
from dashboard.contract.api import parse_json_tolerant
from dashboard.csvexport import csv_response
from dashboard.domains.kinds import kind_of_record
from dashboard.domains.models import Domain
from dashboard.domains.selectors import (
    callback_domain_names,
    callback_receiver,
    domain_families,
    domain_get,
    push_history_domains,
)
from dashboard.failures import UpstreamError
from dashboard.forms import half_width
from dashboard.htmx import render_page, vary_on_htmx, wants_fragment
from dashboard.incidents.selectors import (
    PERIODS,
    chart_period,
    domain_chart,
)
from dashboard.invisible import invisible_marked
from dashboard.ops.budget import Busy, TooSlow
from dashboard.paging import page_of, pinned_page_of, requested_page
from dashboard.redelivery.selectors import latest_attempts, record_attempts, redelivered_count

from . import exports
from .forms import LIVE, LIVE_PAGE_MAX, MISSING, PAGE_SIZES, RecordsFilterForm, freeze_filters
from .models import Export
from .overview import NOW_MIN_DELIVERIES, checked_sort, overview_order, overview_rows
from .pasted import (
    STREAM_SCHEMES,
    WEB_SCHEMES,
    Pasted,
    pasted_in_text,
    pasted_path,
    pasted_url,
)
from .selectors import notify_records_iter, notify_records_page
from .timeline import names_problem, page_rows, pushes_compare, stream_timeline


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP matches (a search across every domain for 90 days must not
    count millions of rows to draw a pager), or takes a count already known."""

    def __init__(self, *args, known_count: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_count = known_count

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return min(self.known_count, COUNT_CAP)
        return records_count(self.object_list)[0]

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(records_slice(self.object_list, bottom, top), number, self)


class UpstreamPage:
    """A page of the Live API's records, shaped like Django's Page for the shared pager."""

    def __init__(self, number: int, num_pages: int, count: int):
        self.number = number
        self.paginator = type("P", (), {"num_pages": max(num_pages, 1), "count": count})()

    def has_previous(self) -> bool:
        return self.number > 1

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages

    def previous_page_number(self) -> int:
        return self.number - 1

    def next_page_number(self) -> int:
        return self.number + 1


def _pretty(text: str) -> str:
    parsed = parse_json_tolerant(text)
    return text if parsed is None else json.dumps(parsed, indent=2, ensure_ascii=False)


def _row(record, zone) -> dict:
    """What one results row shows, prepared once (times in the user's zone and in UTC)."""
    when = record.notify_time
    archived = getattr(record, "pk", None) is not None
    return {
        "record": record,
        "content": _pretty(record.notify_content),
        "iso": when.isoformat() if when else "",
        "local": timezone.localtime(when, zone).strftime("%Y-%m-%d %H:%M:%S") if when else "",
        "utc": when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if when else "",
        "delivered": record.notify_result == "success",
        "result_class": "good" if record.notify_result == "success" else "bad",
        "failure": failure_name(record.failure_class, record.http_status) if archived else "",
        "permalink": reverse("record_detail", kwargs={"pk": record.pk}) if archived else "",
        "timeline": _record_timeline_url(record)
        if archived
        else _timeline_url(record.app_name, record.stream_name, record.domain_name),
    }


def _record_timeline_url(record) -> str:
    """The stream's timeline opened at `record`: its session, the record shown and marked."""
    url = _timeline_url(record.app_name, record.stream_name, record.domain_name)
    if not url:
        return ""
    return _timeline_at(url, record.notify_time, record=record.pk) + "#focus-record"


def _timeline_url(app: str, stream: str, domain: str = "") -> str:
    """The stream's timeline (on `domain`'s family of domains, when one is given): its path,
    or for names with a slash (which a path segment cannot carry) the same page addressed by
    query; "" for a record without both names."""
    if not app or not stream:
        return ""
    on = {"domain": domain} if domain else {}
    if "/" in app + stream:
        query = {"app": app, "stream": stream, **on}
        return reverse("stream_timeline_named") + "?" + urlencode(query)
    path = reverse("stream_timeline", kwargs={"app": app, "stream": stream})
    return path + ("?" + urlencode(on) if on else "")


def _timeline_at(url: str, moment: dt.datetime, **focus) -> str:
    """A timeline's `url` over the shortest window that holds `moment`, with `focus` (the
    session or the record to open it at)."""
    age = timezone.now() - moment
    window = next((w for w in _WINDOWS_SHORTEST_FIRST if periods.SPANS[w] > age), "90d")
    joined = "&" if "?" in url else "?"  # a name with a slash: the page by query
    return url + joined + urlencode({"window": window, **focus})


def _base_context(form) -> dict:
    return {"form": form, "domains": callback_domain_names(), "page_sizes": PAGE_SIZES}


AS_OPENED = {"window": "24h"}  # the explorer opened without filters: every domain's last day


@vary_on_htmx
def records_view(request):
    started = time.perf_counter()
    form = RecordsFilterForm(request.GET or None)
    context = _base_context(form)
    context["freshness"] = archive_freshness()
    if form.is_bound and not form.is_valid():
        return render_page(request, "records/list.html", "results", context, status=400)
    if not form.is_bound:
        form = RecordsFilterForm(AS_OPENED)
        form.is_valid()
        context["form_unbound"] = True
    filters = form.cleaned_data
    context["filters"] = filters
    # the fields show what the table covers (defaults filled in, a window's ends to the minute)
    form = context["form"] = form.shown()
    zone = timezone.get_current_timezone()
    upstream_ms = 0.0
    status = 200
    if filters["source"] == LIVE:
        number = requested_page(request, errors_to=form)
        if number is not None and number > LIVE_PAGE_MAX:
            form.add_error(
                None,
                _("Page: the Live API answers pages 1 to %(max)s; nothing was asked.")
                % {"max": f"{LIVE_PAGE_MAX:,}"},
            )
            number = None
        if number is None:
            return render_page(request, "records/list.html", "results", context, status=400)
        t0 = time.perf_counter()
        try:
            page = notify_records_page(
                domain=filters["domain"], filters={**filters, "page": number}
            )
        except UpstreamError as failure:
            context["upstream_error"] = failure
            status = 502
        else:
            context["page"] = UpstreamPage(page.page_number, page.total_page, page.total_num)
            context["rows"] = [_row(r, zone) for r in page.records]
            context["total"] = page.total_num
        upstream_ms = (time.perf_counter() - t0) * 1000
    elif filters.get("status") == MISSING:
        # a domain's pushes: its own (ingest), or its ingest domains' (streaming)
        pushed = push_history_domains(filters["domain"]) if filters["domain"] else None
        rows = missing_callbacks(filters=filters, domains=pushed)
        # a page after the first is read as the list was at the first: pushes found since
        # (on top: the newest first) do not push the rows seen onto the next page
        read = pinned_page_of(request, rows, filters["size"], errors_to=form)
        page = read.page
        if page is None:
            return render_page(request, "records/list.html", "results", context, status=400)
        context.update(page=page, as_of=read.as_of, pinned=read.pinned)
        context["missing_rows"] = [
            (push, _timeline_url(push.app_name, push.stream_name, push.domain.name))
            for push in page.object_list
        ]
        context["total"] = page.paginator.count
        context["pushes_checked_until"] = pushes_checked_until()
        if pushed is not None:
            context["pushed_through"] = pushed
            context["through_others"] = pushed != [filters["domain"]]
    else:
        try:
            with bounded_search(request.user, filters):
                rows = records_search(filters=filters)
                counts = records_counts(rows, filters=filters)
                known = None if counts.capped else counts.total
                paginator = partial(CappedPaginator, known_count=known)
                page = page_of(request, rows, filters["size"], errors_to=form, paginator=paginator)
                if page is not None:
                    page.object_list = list(page.object_list)
                # what the pages after this one are read as of (after this one's rows: each
                # of them is up to it); a page after the first keeps its first's
                pin = filters["archived_upto"]
                context["as_of"] = record_number_now() if pin is None else pin
                context["pinned"] = pin is not None
        except (Busy, TooSlow) as refusal:
            context["refusal"] = _refusal(refusal)
            status = 429 if isinstance(refusal, Busy) else 503
            return render_page(request, "records/list.html", "results", context, status=status)
        if page is None:
            return render_page(request, "records/list.html", "results", context, status=400)
        context["page"] = page
        context["rows"] = [_row(r, zone) for r in page.object_list]
        attempts = latest_attempts(record_ids=[r.pk for r in page.object_list])
        for row in context["rows"]:
            row["redelivery"] = attempts.get(row["record"].pk)
        context["counts"] = counts
        context["total"] = counts.total
        context["also_matched"] = _also_matched(filters)
        if not counts.total:
            context["played_as"] = _played_as_stream(filters)
        if filters.get("domain_id"):
            context["domain_until"] = domain_harvested_until(domain_id=filters["domain_id"])
            domain = Domain.objects.get(pk=filters["domain_id"])
            # "Resend N failed callbacks" for the domain's editors, when the filters say failed
            context["can_redeliver"] = (
                filters.get("status") == "failed"
                and counts.failed
                and can_edit_domain(request.user, domain)
            )
            if context["can_redeliver"]:
                # the button counts what a run would send: not the ones redelivered already
                context["already_redelivered"] = redelivered_count(rows=rows)
                context["to_resend"] = counts.failed - context["already_redelivered"]
    context["export_capped"] = context.get("total", 0) > exports.CAP
    # bigger exports are made in the background: a button that says so, not a download link
    context["export_direct"] = (
        not context.get("counts") or not context["counts"].capped
    ) and context.get("total", 0) <= settings.EXPORT_DIRECT_ROWS
    response = render_page(request, "records/list.html", "results", context, status=status)
    app_ms = (time.perf_counter() - started) * 1000
    response["Server-Timing"] = f"upstream;dur={upstream_ms:.1f}, app;dur={app_ms:.1f}"
    return response


def record_detail(request, pk: int):
    record = record_get(pk=pk)
    if record is None:
        raise Http404(
            _("There is no archived record %(id)s (it may be past the retention).") % {"id": pk}
        )
    state, entry = config_at(record=record)
    refusal = edit_refusal(request.user, record.domain) if record.domain else None
    zone = timezone.get_current_timezone()
    context = {
        "row": _row(record, zone),
        "record": record,
        "header": _pretty(record.notify_header),
        "config_state": state,
        "config_entry": entry,
        "current_config": record.domain.config(kind_of_record(record)) if record.domain else None,
        "attempts": record_attempts(record_id=record.pk),
        "can_resend": bool(record.domain) and refusal is None,
        "resend_refusal": refusal,
    }
    return render(request, "records/detail.html", context)


def _refusal(refusal: Exception) -> str:
    if isinstance(refusal, Busy):
        return _(
            "Too many searches or exports are running right now (yours or other people's): "
            "try again in a few seconds, or narrow the filters."
        )
    return _(
        "This search took too long (over %(seconds)s seconds) and was stopped: choose a "
        "domain, a shorter window, or fewer text filters."
    ) % {"seconds": f"{settings.SEARCH_TIMEOUT:g}"}


def records_export(request):
    """CSV of exactly what the explorer shows. Up to EXPORT_DIRECT_ROWS rows download at
    once; more are made in the background (a file to download, with progress)."""
    form = RecordsFilterForm(request.GET)
    if not form.is_valid():
        context = _base_context(form)
        return render(request, "records/list.html", context, status=400)
    filters = form.cleaned_data
    base = request.build_absolute_uri("/")[:-1]
    if filters.get("status") == MISSING:
        form.add_error("status", _("Callbacks that never came are listed, not exported."))
        return render(request, "records/list.html", _base_context(form), status=400)
    if filters["source"] == LIVE:
        return _live_export(request, form, filters, base)
    try:
        with bounded_search(request.user, filters):
            rows = records_search(filters=filters)
            total = records_count(rows, cap=exports.CAP + 1)[0]
            direct = total <= settings.EXPORT_DIRECT_ROWS
            if direct:
                records = list(rows[: settings.EXPORT_DIRECT_ROWS])
    except (Busy, TooSlow) as refusal:
        context = {**_base_context(form), "refusal": _refusal(refusal)}
        return render(request, "records/list.html", context, status=503)
    if not direct:
        # too big to make while the person waits: the background export's page
        return HttpResponseRedirect(
            reverse("export_new") + "?" + request.GET.urlencode(), status=303
        )
    scope = filters["domain"] or "all-domains"
    return csv_response(
        filename=f"records-{scope}.csv",
        header=exports.HEADER,
        rows=exports.export_rows(records, base=base),
        headers={"X-Export-Rows": str(total), "X-Export-Capped": "False"},
    )


def _live_export(request, form, filters, base):
    """From the Live API, page after page as it is read. If the API fails midway the file
    ends with a row that says so, never silently cut short."""
    try:
        total = notify_records_page(
            domain=filters["domain"], filters={**filters, "page": 1, "size": 1}
        ).total_num
    except UpstreamError as failure:
        context = {**_base_context(form), "upstream_error": failure}
        return render(request, "records/list.html", context, status=502)
    records = notify_records_iter(domain=filters["domain"], filters=filters)

    def rows():
        try:
            yield from exports.export_rows(records, base=base)
        except UpstreamError as failure:
            yield [f"!!! export incomplete: the Live API failed midway: {failure.describe()}"]

    capped = total > exports.CAP
    name = f"records-{filters['domain']}" + (f"-first-{exports.CAP}" if capped else "")
    return csv_response(
        filename=f"{name}.csv",
        header=exports.HEADER,
        rows=rows(),
        headers={"X-Export-Rows": str(min(total, exports.CAP)), "X-Export-Capped": str(capped)},
    )


@require_http_methods(["GET", "POST"])
def export_new(request):
    """Confirm and start a background export of the explorer's current filters (without any:
    what *Records* shows as it opens, every domain's last 24 hours — it was a 400 page)."""
    form = RecordsFilterForm(request.GET or AS_OPENED)
    if not form.is_valid():
        context = _base_context(form)
        return render(request, "records/list.html", context, status=400)
    filters = form.cleaned_data
    try:
        with bounded_search(request.user, filters):
            total, capped = records_count(records_search(filters=filters), cap=exports.CAP)
    except (Busy, TooSlow) as refusal:
        context = {**_base_context(form), "refusal": _refusal(refusal)}
        return render(request, "records/list.html", context, status=503)
    context = {
        "filters": filters,
        "narrowing": form.narrowing(n for n in KEPT if n not in ("domain", "domain_id")),
        "total": total,
        "capped": capped,
        "cap": exports.CAP,
        "query": request.GET.urlencode(),
    }
    if request.method == "POST":
        try:
            export = exports.export_create(
                user=request.user,
                filters=freeze_filters(filters),
                query=request.GET.urlencode(),
                base=request.build_absolute_uri("/")[:-1],
                total=total,
            )
        except exports.TooManyExports:
            context["refusal"] = ngettext(
                "You already have %(n)s export being made: wait for it to finish.",
                "You already have %(n)s exports being made: wait for one to finish.",
                settings.EXPORTS_PER_USER,
            ) % {"n": settings.EXPORTS_PER_USER}
            return render(request, "records/export_new.html", context, status=429)
        return redirect("export_detail", pk=export.pk)
    return render(request, "records/export_new.html", context)


def _own_export(request, pk: int) -> Export:
    exports.exports_settle()  # one whose writer is gone says so, not "being written" for ever
    export = Export.objects.filter(pk=pk, created_by=request.user).first()
    if export is None:
        raise Http404(
            _("There is no export %(id)s of yours (exports are kept a day).") % {"id": pk}
        )
    return export


@vary_on_htmx
def export_detail(request, pk: int):
    export = _own_export(request, pk)
    return render_page(
        request, "records/export.html", "progress", {"export": export, "cap": exports.CAP}
    )


def export_download(request, pk: int):
    export = _own_export(request, pk)
    path = exports.export_path(export) if export.file_name else None
    if export.state != Export.State.DONE or path is None or not path.exists():
        raise Http404(_("This export has no file (yet, or any more)."))
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"records-export-{export.pk}.csv",
        content_type="text/csv; charset=utf-8",
    )


def export_list(request):
    exports.exports_settle()
    mine = Export.objects.filter(created_by=request.user)[:50]
    return render(request, "records/exports.html", {"exports": mine})


# --- the header search ----------------------------------------------------------------------


def search(request):
    """The search box in every page's header: a record id opens that record, a domain's name
    its page, "app/stream" that stream's timeline, "key=value" (a push parameter) the records
    of the last 24 hours whose content holds it, anything else the records of the last 24
    hours whose app or stream name holds it; every domain, newest first."""
    q = " ".join((request.GET.get("q") or "").split())
    if not q:
        return redirect("records")
    # "#123", or "＃123" as a Chinese input method types it, or "# 123"
    marked = q[:1] in ("#", "\uff03")
    number = q[1:].strip() if marked else q
    # decimal digits, any script's (what int() reads): "#²" and "①" are digits to isdigit()
    if number.isdecimal() and len(number) < 19 and record_get(pk=int(number)) is not None:
        return redirect("record_detail", pk=int(number))
    if marked and number.isdecimal():  # a record number from a ticket, gone
        messages.info(
            request,
            _(
                "There is no record #%(number)s in the archive: it keeps %(days)d days of "
                "records. Search by its stream or domain instead."
            )
            % {"number": number, "days": settings.ARCHIVE_RETENTION_DAYS},
        )
        return redirect("records")
    domain = domain_get(name=q)
    if domain is not None:
        return redirect("domain_detail", name=domain.name)
    if (pasted := pasted_url(q) or pasted_in_text(q)) and (found := _pasted(pasted)):
        return found
    if (found := _without_scheme(q)) is not None:
        return found
    on = request.GET.get("domain", "")[:253]  # a link that knows the stream's domain (incidents)
    if (found := _path_copied(q, on)) is not None:
        return found
    q = _as_keyed(q, on)
    app, slash, stream = q.partition("/")
    if slash and " " not in q and "/" not in stream and _timeline_url(app, stream, on):
        return _stream_page(app, stream, on)  # "app/stream"
    if "=" in q and " " not in q:
        return _param_search(q)
    return redirect(reverse("records") + "?" + urlencode({"name": q, "window": "24h"}))


def _as_keyed(q: str, on: str) -> str:
    """`q` as keyed with a Chinese input method in its full-width mode (ｌｉｖｅ／ｃａｍ１,
    order_id＝４２), or in Chinese punctuation, where the `/` key types `、`: in ASCII — unless
    the names typed are a stream's as they are (a name may hold any character)."""
    keyed = half_width(q)
    if "/" not in keyed and keyed.count("、") == 1:
        keyed = keyed.replace("、", "/")
    if keyed == q:
        return q
    app, slash, stream = q.partition("/")
    if slash and "/" not in stream and stream_known(app=app, stream=stream):
        return q
    return " ".join(keyed.split())


def _without_scheme(q: str):
    """A domain's URL copied without its scheme (push.example.com/live/cam, the address bar's
    play.example.com/live/cam.m3u8, live.example.com/): as pasted whole. A receiver's host name
    alone (one a domain's callbacks go to): the callbacks sent there."""
    if "://" in q or " " in q:
        return None
    host, slash, _path = q.partition("/")
    if slash and domain_get(name=host.partition(":")[0]) is not None:
        return _pasted(pasted) if (pasted := pasted_url("http://" + q)) else None
    if not slash and "." in q and (receiver := callback_receiver(q)):
        return redirect(
            reverse("records") + "?" + urlencode({"receiver": receiver, "window": "24h"})
        )
    return None


def _path_copied(q: str, on: str):
    """A player's address copied without its host (/live/cam.m3u8?auth_key=…): the stream's
    timeline, when the archive knows the stream (or the one it plays) and not the names as
    typed."""
    app, _slash, stream = q.partition("/")
    if (path := pasted_path(q)) is None or stream_known(app=app, stream=stream):
        return None
    if stream_known(app=path[0], stream=path[1]) or _rendition_of(*path):
        return _stream_page(*path, on)
    return None


def _pasted(pasted: Pasted):
    """A URL pasted whole. A stream's (Live's protocols, or a web URL on one of the domains):
    that stream's timeline, on its domain's family when the host is a domain; a web URL on
    another host, a receiver's: the callbacks sent there; a domain's other URL: its page."""
    known = domain_get(name=pasted.host)
    a_stream = known is not None or pasted.scheme in STREAM_SCHEMES
    if a_stream and pasted.app and not names_problem(pasted.app, pasted.stream):
        return _stream_page(pasted.app, pasted.stream, known.name if known else "")
    if known is not None:
        return redirect("domain_detail", name=known.name)
    if pasted.scheme in WEB_SCHEMES:
        host = f"[{pasted.host}]" if ":" in pasted.host else pasted.host  # an IPv6 address
        return redirect(reverse("records") + "?" + urlencode({"receiver": host, "window": "24h"}))
    return None


def _stream_page(app: str, stream: str, on: str):
    """A stream named in the header search: its timeline (on `on`'s family of domains); no
    stream of these names (another case, a character that draws nothing, a part), the streams
    holding them, where the page says which (an empty timeline was a dead end)."""
    if stream_known(app=app, stream=stream):
        return redirect(_timeline_url(app, stream, on))
    if (source := _rendition_of(app, stream)) and (url := _timeline_url(app, source, on)):
        # the page says so from its URL: after a reload, Back, or in a link sent on too
        return redirect(url + ("&" if "?" in url else "?") + urlencode({PLAYED_AS: stream}))
    query = {"app": app, "stream": stream, "window": "7d"}
    return redirect(reverse("records") + "?" + urlencode(query))


PLAYED_AS = "played_as"  # a timeline reached from a playback name: the name searched


def _played_as(request, stream: str) -> str:
    """What the page says when it was reached from one of the stream's playback names (only
    such a name: the URL cannot make it say anything else), or ""."""
    played = request.GET.get(PLAYED_AS, "")
    if not stream or stream not in _sources_of(played[: 2 * 253]):
        return ""
    return _playback_note(played, stream)


def _playback_note(stream: str, source: str) -> str:
    return _(
        "%(stream)s is a playback name of the stream %(source)s (transcoded or "
        "delayed): Live's callbacks and pushes are %(source)s's."
    ) % {"stream": stream, "source": source}


def _rendition_of(app: str, stream: str) -> str:
    """The pushed stream a playback name stands for, when it is known and `stream` is not: a
    transcoded stream is played as `<stream>_<template id>` (cam_lhd), a delayed one as
    `<stream>-alidelay`; "" otherwise."""
    for source in _sources_of(stream):
        if stream_known(app=app, stream=source):
            return source
    return ""


def _sources_of(stream: str) -> list[str]:
    """The pushed streams' names a playback name may stand for (cam_lhd, cam-alidelay: cam; a
    template id after the `_`, not `cam_` alone)."""
    transcoded, _sep, template = stream.rpartition("_")
    found = (stream.removesuffix("-alidelay"), transcoded if template else "")
    return [source for source in dict.fromkeys(found) if source and source != stream]


def _played_as_stream(filters: dict) -> dict | None:
    """A stream filter (or a name, the header search's) that found nothing, typed as a player
    names it (`cam_lhd`, whose callbacks Live sends as cam's): the pushed stream, offered — it
    was "0 callbacks"."""
    field = "stream" if filters.get("stream") else "name"
    typed = filters.get(field) or ""
    stream = quoted(typed) or typed
    if not stream or "/" in stream:
        return None
    for source in _sources_of(stream):
        if name_seen("stream", source, filters):
            only = {"name": None, "stream": exactly(source)}
            return {"note": _playback_note(stream, source), "source": source, "only": only}
    return None


def _param_search(q: str):
    """A push parameter ("order_id=42"): seen on one stream, that stream's timeline over the
    shortest window holding it; on several, the callbacks of those streams (90 days, through
    the parameters' index); never indexed, the callbacks whose content holds the text (the
    last 24 hours)."""
    hits = param_hits(q)
    streams = {(hit.app_name, hit.stream_name) for hit in hits}
    domains = {hit.domain.name for hit in hits}
    # the one stream on one family of domains: its timeline there
    on = min(domains) if len(domain_families(domains)) == 1 else ""
    if len(streams) == 1 and (url := _timeline_url(*streams.pop(), on)):
        first = min(hit.first_seen for hit in hits)
        at = first.astimezone(dt.UTC).isoformat()
        return redirect(_timeline_at(url, first, at=at) + "#focus")
    if hits:
        return redirect(reverse("records") + "?" + urlencode({"param": q, "window": "90d"}))
    return redirect(reverse("records") + "?" + urlencode({"q": q, "window": "24h"}))


# --- the failure overview -----------------------------------------------------------------------


OVERVIEW_PAGE_SIZE = 50


@vary_on_htmx
def overview(request):
    """Every domain's failures, failing now first, OVERVIEW_PAGE_SIZE domains a page."""
    sort = checked_sort(request.GET.get("sort"))
    errors = forms.Form({})  # no fields: only a junk page number is said on it
    errors.full_clean()
    now = timezone.now()
    order = overview_order(sort=sort, now=now)
    page = page_of(request, order, OVERVIEW_PAGE_SIZE, errors_to=errors)
    rows = overview_rows(page.object_list, now=now) if page else []
    context = {
        "errors": errors,
        "page": page,
        "rows": rows,
        "sort": sort,
        # the legend of a last hour too quiet to rank by, when the page shows one
        "few_note": NOW_MIN_DELIVERIES if any(r.now.title for r in rows) else 0,
    }
    if not wants_fragment(request):  # the whole page: its chart too
        context.update(
            freshness=archive_freshness(),
            chart=domain_chart(domain=None, period=chart_period(request.GET.get("period"))),
            periods=list(PERIODS),
        )
    status = 400 if page is None else 200
    return render_page(request, "records/overview.html", "results", context, status=status)


# The timeline's windows, in the periods' one vocabulary; the first is the default.
TIMELINE_WINDOWS = ("7d", "24h", "30d", "90d")
_WINDOWS_SHORTEST_FIRST = sorted(TIMELINE_WINDOWS, key=periods.SPANS.get)
SESSIONS_PER_PAGE = 20
SESSION_ENDS = 10
AROUND = 5


def _record_param(request) -> int | None:
    """?record=: the id of the record a timeline is opened at (None: none, or no id)."""
    try:
        pk = int(request.GET.get("record") or "")
    except ValueError:
        return None
    return pk if 0 < pk < 2**63 else None


def _session_of(sessions, pk: int | None):
    """(the session holding the record of id `pk`, its index there), or (None, None)."""
    for session in sessions:
        for index, event in enumerate(session.events):
            if event.pk == pk:
                return session, index
    return None, None


def _session_at(sessions, at: str | None):
    """The session that was going on at `at` (an ISO time), or the one starting nearest it."""
    try:
        moment = dt.datetime.fromisoformat(at or "")
    except ValueError:
        return None
    if moment.tzinfo is None or not sessions:
        return None
    return min(
        sessions,
        key=lambda s: dt.timedelta(0) if s.start <= moment <= s.end else abs(s.start - moment),
    )


def _record_not_shown(pk: int | None, timeline, app: str, stream: str, kept) -> dict | None:
    """The record the page was opened at (?record=), when it is of this stream but older than
    the newest LIMIT callbacks the timeline holds: its number, and its hour in the records
    list."""
    if pk is None or kept is not None or not timeline.capped:
        return None
    record = record_get(pk=pk)
    if record is None or (record.app_name, record.stream_name) != (app, stream):
        return None
    start = (record.notify_time - dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
    end = start + dt.timedelta(minutes=61)  # whole minutes: the link shows no seconds
    return {
        "pk": record.pk,
        "url": _stream_records_url(record.domain_name, app, stream, start, end),
    }


def _session_pieces(events: list, keep: int | None = None) -> list[tuple[list, list]]:
    """A session's callbacks as its card shows them: runs of (shown, left out after them). A
    stream pushed for days (a 24/7 channel) has thousands of files and snapshots in one
    session: the card shows its first and last SESSION_ENDS, and the AROUND callbacks either
    side of the one at index `keep` (the record the page was opened from), and links the
    rest."""
    count = len(events)
    if count <= 2 * SESSION_ENDS:
        return [(events, [])]
    shown = set(range(SESSION_ENDS)) | set(range(count - SESSION_ENDS, count))
    if keep is not None:
        shown |= set(range(max(0, keep - AROUND), min(count, keep + AROUND + 1)))
    pieces, start = [], 0
    while start < count:
        gap = start
        while gap < count and gap in shown:
            gap += 1
        end = gap
        while end < count and end not in shown:
            end += 1
        pieces.append((events[start:gap], events[gap:end]))
        start = end
    return pieces


def _also_matched(filters: dict) -> list[dict]:
    """A stream or app typed whole (`cam1`) that is part of other names too (cam10, cam11):
    the filter finds them all — their callbacks in the counts, in an export, in "Resend N
    failed callbacks" — so the page names them and offers the one name alone (in quotes)."""
    found = []
    for field in ("name", "stream", "app"):  # name: the header search's "App or stream"
        part = filters.get(field) or ""
        if not part or quoted(part) is not None:
            continue
        if field == "name":
            names = list(names_either(part, filters))
        else:
            names = [names_matching(field, part, filters)]
        if not all(isinstance(held, list) for held in names):
            continue  # a fragment held by a thousand names: not a name typed whole
        names = sorted(set().union(*names))
        if names and not any(part.casefold() in n.casefold() for n in names):
            # none holds it as typed: they read as it (names_reading_as)
            found.append(_names_noted(field, part, names, reads_as=True))
            continue
        typed = [n for n in names if n.casefold() == part.casefold()]
        others = sorted(n for n in names if n not in typed)
        if typed and others:
            found.append(_names_noted(field, typed[0], others))
    return found


def _names_noted(field: str, name: str, others: list[str], *, reads_as: bool = False) -> dict:
    return {
        "field": field,
        "name": name,
        "reads_as": reads_as,
        # a character that draws nothing in one of them shows (it is why they are here)
        "others": format_html_join(", ", "{}", ((invisible_marked(n),) for n in others[:5])),
        "more": len(others) - 5,
        "only": {field: exactly(name)},
    }


def _between_link(app: str, stream: str, between: list) -> dict | None:
    """The records list of a session's callbacks its card leaves out: on the domain most of
    them came from, from the first to the last (to the second: over the minutes they span, it
    took the shown callbacks of those minutes too)."""
    if not between:
        return None
    domain = Counter(e.domain_name for e in between).most_common(1)[0][0]
    start = between[0].notify_time.replace(microsecond=0)
    end = between[-1].notify_time.replace(microsecond=0) + dt.timedelta(seconds=1)
    return {"domain": domain, "url": _stream_records_url(domain, app, stream, start, end)}


def _stream_records_url(domain: str, app: str, stream: str, start, end) -> str:
    """The records list of one stream on one domain over [start, end) (given with their
    offset: the records page shows them in the reader's own zone); the names in quotes, each
    that name exactly (`cam1` matched cam10's callbacks too)."""
    query = {
        "domain": domain,
        "app": exactly(app),
        "stream": exactly(stream),
        "window": "custom",
        "start": start.astimezone(dt.UTC).isoformat(),
        "end": end.astimezone(dt.UTC).isoformat(),
    }
    return reverse("records") + "?" + urlencode(query)


@require_GET
def stream_timeline_view(request, app: str, stream: str):
    """Everything that happened to one stream: its push sessions, newest first."""
    return _timeline_page(request, app, stream)


@require_GET
def stream_timeline_named(request):
    """The same page for any names, given as `?app=&stream=` (a name with a slash)."""
    app, stream = request.GET.get("app", ""), request.GET.get("stream", "")
    if problem := names_problem(app, stream):
        return render(request, "400.html", {"reason": problem}, status=400)
    return _timeline_page(request, app, stream, by_query=True)


def _timeline_page(request, app: str, stream: str, *, by_query: bool = False):
    window = request.GET.get("window")
    if window not in TIMELINE_WINDOWS:
        window = TIMELINE_WINDOWS[0]
    now = timezone.now()
    start = now - periods.SPANS[window]
    # ?domain=: the family of domains to show (a record's link names its own)
    named = request.GET.get("domain", "").strip()
    known = domain_get(name=named) if named else None
    if named and known is None:
        reason = _("No domain is named “%(name)s”.") % {"name": named[:253].replace("\x00", "")}
        return render(request, "400.html", {"reason": reason}, status=404)
    timeline = stream_timeline(
        app=app, stream=stream, start=start, end=now, now=now, domain=known.name if known else ""
    )
    if not timeline.choose:
        # the callbacks that never came: Live's push history (as checked) against the archive
        pushes = stream_pushes(
            app=app, stream=stream, start=start, end=now, domains=timeline.family
        )
        pushes_compare(timeline, pushes)
    zone = timezone.get_current_timezone()
    # ?record=<id> (a record's page): its session, marked, with the record shown and marked;
    # ?at=<time> (a push parameter's search): the page of the session around that time, marked
    opened_at = _record_param(request)
    focus, kept = _session_of(timeline.sessions, opened_at)
    if focus is None:
        focus = _session_at(timeline.sessions, request.GET.get("at"))
    number = request.GET.get("page")
    if focus is not None and not number:
        number = timeline.sessions.index(focus) // SESSIONS_PER_PAGE + 1
    page = Paginator(timeline.sessions, SESSIONS_PER_PAGE).get_page(number)
    pieces = {
        id(s): _session_pieces(s.events, kept if s is focus else None) for s in page.object_list
    }
    whole = page_rows([e for runs in pieces.values() for shown, _ in runs for e in shown])
    sessions = [
        {
            "session": s,
            "pieces": [
                {
                    "rows": [_row(whole[e.pk], zone) for e in shown if e.pk in whole],
                    "between": len(between),
                    "between_link": _between_link(app, stream, between),
                }
                for shown, between in pieces[id(s)]
            ],
            "focus": s is focus,
        }
        for s in page.object_list  # each session's rows in time order
    ]
    played_as_note = _played_as(request, stream)
    context = {
        "timeline": timeline,
        "focus_record": focus.events[kept].pk if kept is not None else None,
        "record_not_shown": _record_not_shown(opened_at, timeline, app, stream, kept),
        "pushes_checked_until": pushes_checked_until(),
        "page": page,
        "sessions": sessions,
        "window": window,
        "windows": [(name, periods.LABELS[name]) for name in TIMELINE_WINDOWS],
        "by_query": by_query,  # the window form carries the names along
        "played_as": request.GET.get(PLAYED_AS, "") if played_as_note else "",
        "played_as_note": played_as_note,
    }
    return render(request, "records/timeline.html", context)
