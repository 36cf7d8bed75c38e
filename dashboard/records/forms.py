"""The records filter form: every query parameter of /records/ goes through it."""

from __future__ import annotations

import datetime as dt
import ipaddress

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.archive.filters import frozen, quoted
from dashboard.archive.models import FailureClass
from dashboard.archive.pushparams import KEY_MAX, VALUE_MAX, parse_param
from dashboard.archive.store import receiver_host
from dashboard.contract.api import (
    NOTIFY_TYPES,
    RECORDS_PAGE_NUMBER_MAX,
    RECORDS_WINDOW,
    STREAM_NOTIFY_TYPES,
)
from dashboard.contract.urlsafety import ascii_host
from dashboard.domains.selectors import domain_get
from dashboard.forms import LocalDateTimeField
from dashboard.paging import pinned_number
from dashboard.periods import LABELS, SPANS

ARCHIVE, LIVE = "archive", "live"
# "Result: never came": the pushes of Live's push history whose expected stream callbacks the
# archive does not hold (archive/pushes.py), instead of callbacks
MISSING = "missing"
WINDOWS = SPANS
WINDOW_CHOICES = [*LABELS.items(), ("custom", _("Custom"))]
PAGE_SIZES = [20, 50, 100, 200, 500]
MINUTE = "%Y-%m-%dT%H:%M"  # what a date-and-time input shows
SECOND = "%Y-%m-%dT%H:%M:%S"  # and with step="1", a link's window to the second
DEFAULT_WINDOW = "24h"
DEFAULT_SIZE = 50
# Free text is read record by record: across every domain it looks at a day at most, in one
# domain at a week (enough for "what did the receiver say about order 1234?").
TEXT_WINDOW_ALL = dt.timedelta(hours=24)
TEXT_WINDOW_DOMAIN = dt.timedelta(days=7)
LIVE_PAGE_MAX = RECORDS_PAGE_NUMBER_MAX


def _not_a_host(host: str) -> bool:
    """Not a name or an address a URL can hold: an IPv6 address (the archive keeps
    `2400:cb00::1` for `https://[2400:cb00::1]/cb`) is the one with a colon."""
    if ":" in host:
        try:
            return ipaddress.ip_address(host).version != 6
        except ValueError:
            return True
    return any(c in host for c in " /?#@\\")


class RecordsFilterForm(forms.Form):
    open_end = True  # a custom window without an end runs until now

    domain = forms.CharField(label=_("Domain"), max_length=253, required=False)
    name = forms.CharField(
        label=_("App or stream"),
        max_length=128,
        required=False,
        help_text=_("Any part of an app or stream name; in quotes, that name only."),
    )
    app = forms.CharField(label=_("App"), max_length=128, required=False)
    stream = forms.CharField(label=_("Stream"), max_length=128, required=False)
    status = forms.ChoiceField(
        label=_("Result"),
        required=False,
        choices=[
            ("", _("All")),
            ("success", _("Success")),
            ("failed", _("Failed")),
            (MISSING, _("Never came (push history)")),
        ],
    )
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("Any")), *((t, t) for t in (*NOTIFY_TYPES, *STREAM_NOTIFY_TYPES))],
    )
    failure = forms.ChoiceField(
        label=_("Failure"), required=False, choices=[("", _("Any")), *FailureClass.choices]
    )
    http = forms.IntegerField(label=_("HTTP status"), required=False, min_value=100, max_value=599)
    q = forms.CharField(
        label=_("Text"),
        max_length=200,
        required=False,
        help_text=_("In the notify URL, the content or the receiver's answer."),
    )
    receiver = forms.CharField(
        label=_("Receiver"),
        max_length=1024,
        required=False,
        help_text=_("The host the callbacks went to, or a URL on it."),
    )
    param = forms.CharField(
        label=_("Push parameter"),
        max_length=KEY_MAX + VALUE_MAX + 1,
        required=False,
        help_text=_(
            "name=value from the push URL, exactly (order_id=42): the callbacks of the streams "
            "pushed with it."
        ),
    )
    window = forms.ChoiceField(
        label=_("Time window"), required=False, choices=WINDOW_CHOICES, initial=DEFAULT_WINDOW
    )
    start = LocalDateTimeField(label=_("From"), required=False)
    end = LocalDateTimeField(label=_("To"), required=False, latest=True)
    size = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_SIZE,
        initial=DEFAULT_SIZE,
        choices=[(n, str(n)) for n in PAGE_SIZES],
    )
    source = forms.ChoiceField(
        required=False,
        choices=[(ARCHIVE, _("Archive")), (LIVE, _("Live API"))],
        widget=forms.HiddenInput,
    )

    ARCHIVE_ONLY = ("type", "failure", "http", "receiver", "q", "param")

    def __init__(self, *args, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        # a page after the first is read as the archive was at the first (dashboard/paging.py):
        # a busy domain's new callbacks, or late ones, do not push the rows seen onto the next
        self.pin = pinned_number(self.data) if self.is_bound else None
        if self.is_bound:
            # A link that leaves out the window or the page size gets the defaults — and the
            # form shows them, so the next change starts from what the table shows.
            data = self.data.copy()
            if not data.get("window"):
                data["window"] = (
                    "custom" if data.get("start") or data.get("end") else DEFAULT_WINDOW
                )
            if not data.get("size"):
                data["size"] = str(DEFAULT_SIZE)
            self.data = data

    def shown(self):
        """After validation: the form again, its fields showing exactly the window the table
        covers (a custom window's ends in the reader's zone, to the minute, as the
        date-and-time inputs show them) and the receiver it filters by."""
        if not self.is_valid():
            return self
        data = self.data.copy()
        seconds = False
        if self.cleaned_data["window"] == "custom":
            ends = [self.cleaned_data["start"]]
            if not self.open_end:
                ends.append(self.cleaned_data["end"])
            seconds = any(moment.second for moment in ends)
            shown_as = SECOND if seconds else MINUTE
            data["start"], *end = [timezone.localtime(m).strftime(shown_as) for m in ends]
            data["end"] = end[0] if end else ""
        else:
            data["start"] = data["end"] = ""
        data["receiver"] = self.cleaned_data.get("receiver", "")  # a pasted URL: its host
        shown = RecordsFilterForm(data, now=self.now)
        if seconds:  # a link's exact window: the inputs take (and show) its seconds
            for name in ("start", "end"):
                shown.fields[name].widget.attrs["step"] = "1"
        shown.is_valid()
        return shown

    def narrowing(self, names) -> list[tuple[str, str]]:
        """After validation: (label, value) of each filter of `names` that is set, as the form
        shows it (a choice by its label): what a confirmation page says a run or an export is
        limited to."""
        shown = []
        for name in names:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            field = self.fields[name]
            choices = dict(getattr(field, "choices", ()))
            shown.append((field.label, str(choices.get(value, value))))
        return shown

    def clean_param(self):
        text = self.cleaned_data["param"].strip()
        if text and parse_param(text) is None:
            raise forms.ValidationError(
                _("A push parameter is a name, an equals sign and a value: order_id=42.")
            )
        return text

    def clean_receiver(self):
        """A host as the archive keeps it (`receiver_host`: lower case, no port), typed or
        read out of a pasted URL."""
        text = self.cleaned_data["receiver"].strip()
        if "://" in text:
            host = receiver_host(text)
        else:  # a name, or an address (an IPv6 one in its URL's brackets too)
            host = text.lower().removeprefix("[").removesuffix("]")
        host = ascii_host(host)  # a name in its own script: as the URLs carry it (xn--…)
        if text and (not host or len(host) > 253 or _not_a_host(host)):
            raise forms.ValidationError(
                _("Enter the receiver's host name (hooks.example.com) or a URL on it.")
            )
        return host

    def clean_domain(self):
        name = self.cleaned_data["domain"].strip()
        if not name:
            return ""
        domain = domain_get(name=name)  # domain names are case-insensitive
        if domain is None:
            raise forms.ValidationError(
                _("There is no domain called %(name)s."), params={"name": name}
            )
        self.domain_object = domain
        return domain.name

    def clean(self):
        data = super().clean()
        source = data.get("source") or ARCHIVE
        data["source"] = source
        if source == LIVE:
            # The Live API answers one domain at a time, by exact names, for 7 days.
            for name in ("app", "stream"):  # "cam1", exact in the archive: as it is
                data[name] = quoted(data.get(name) or "") or data.get(name) or ""
            if not data.get("domain"):
                self.add_error("domain", _("Choose a domain to ask the Live API about."))
            for name in self.ARCHIVE_ONLY:
                if data.get(name):
                    self.add_error(name, _("The Live API cannot filter by this: use the archive."))
            if data.get("status") == MISSING:
                self.add_error(
                    "status", _("Callbacks that never came are found in the archive only.")
                )
        elif data.get("status") == MISSING:
            for name in ("failure", "http", "receiver", "q", "param"):
                if data.get(name):
                    self.add_error(
                        name, _("Callbacks that never came have no result to filter by.")
                    )
        retention = dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS)
        limit = RECORDS_WINDOW if source == LIVE else retention
        window = data.get("window") or DEFAULT_WINDOW
        data["window"] = window
        if window == "custom":
            self._clean_custom(data, limit, source)
        else:
            data["end"] = self.now
            data["start"] = self.now - min(WINDOWS[window], limit)
        data["size"] = data.get("size") or DEFAULT_SIZE
        data["domain_id"] = getattr(self, "domain_object", None) and self.domain_object.pk
        data["archived_upto"] = self.pin if source == ARCHIVE else None
        self._clean_text_window(data, source)
        return data

    def _clean_text_window(self, data: dict, source: str) -> None:
        if source != ARCHIVE or not data.get("q") or not (data.get("start") and data.get("end")):
            return
        limit = TEXT_WINDOW_DOMAIN if data.get("domain") else TEXT_WINDOW_ALL
        if data["end"] - data["start"] > limit + dt.timedelta(minutes=1):
            self.add_error(
                "q",
                _(
                    "Text is searched in at most 24 hours across all domains, or 7 days in "
                    "one domain: choose a domain or a shorter window."
                ),
            )

    def _clean_custom(self, data: dict, limit: dt.timedelta, source: str) -> None:
        """From a start up to an end (not included), each to the second (the pickers type
        minutes; a link from a count gives the seconds of what it counted); no end: now."""
        start, end = data.get("start"), data.get("end")
        if not start:
            if "start" not in self.errors:  # else it says what is wrong with the one given
                self.add_error("start", _("Enter the start of the custom window."))
            return
        start = start.replace(microsecond=0)
        end = end.replace(microsecond=0) if end else self.now
        self.open_end = end >= self.now  # "until now": shown empty, whenever it is read
        data["start"], data["end"] = start, min(end, self.now)
        if end <= start:
            self.add_error("end", _("The end must be after the start."))
        elif start < self.now - limit:
            if source == LIVE:
                message = _(
                    "Alibaba Cloud keeps callback records for 7 days only: choose a start "
                    "within the last 7 days, or search the archive."
                )
            else:
                message = _(
                    "The archive keeps %(days)d days of records: choose a start within them."
                ) % {"days": settings.ARCHIVE_RETENTION_DAYS}
            self.add_error("start", message)
        elif start > self.now:
            self.add_error("start", _("The start is in the future."))


def freeze_filters(cleaned: dict) -> dict:
    """The form's filters as an export keeps them (see `dashboard.archive.filters`)."""
    return {**frozen(cleaned), "source": cleaned.get("source") or ARCHIVE}
