"""The records filter form: every query parameter of /records/ goes through it."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.contract.api import RECORDS_WINDOW
from dashboard.domains.selectors import domain_get

WINDOWS = {
    "1h": dt.timedelta(hours=1),
    "6h": dt.timedelta(hours=6),
    "24h": dt.timedelta(hours=24),
    "3d": dt.timedelta(days=3),
    "7d": RECORDS_WINDOW,
}
WINDOW_CHOICES = [
    ("1h", _("Last hour")),
    ("6h", _("Last 6 hours")),
    ("24h", _("Last 24 hours")),
    ("3d", _("Last 3 days")),
    ("7d", _("Last 7 days")),
    ("custom", _("Custom")),
]
PAGE_SIZES = [20, 50, 100, 200, 500]
DEFAULT_WINDOW = "24h"
DEFAULT_SIZE = 50


class RecordsFilterForm(forms.Form):
    domain = forms.CharField(label=_("Domain"), max_length=253, required=False)
    app = forms.CharField(label=_("App"), max_length=128, required=False)
    stream = forms.CharField(label=_("Stream"), max_length=128, required=False)
    status = forms.ChoiceField(
        label=_("Result"),
        required=False,
        choices=[("", _("All")), ("success", _("Success")), ("failed", _("Failed"))],
    )
    window = forms.ChoiceField(
        label=_("Time window"), required=False, choices=WINDOW_CHOICES, initial=DEFAULT_WINDOW
    )
    start = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        label=_("To"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    size = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_SIZE,
        initial=DEFAULT_SIZE,
        choices=[(n, str(n)) for n in PAGE_SIZES],
    )
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=100_000)

    def __init__(self, *args, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def clean_domain(self):
        name = self.cleaned_data["domain"].strip()
        if not name:
            return ""
        domain = domain_get(name=name)  # domain names are case-insensitive
        if domain is None:
            raise forms.ValidationError(
                _("There is no domain called %(name)s."), params={"name": name}
            )
        return domain.name

    def clean(self):
        data = super().clean()
        window = data.get("window") or DEFAULT_WINDOW
        data["window"] = window
        if window == "custom":
            start, end = data.get("start"), data.get("end")
            if not start:
                self.add_error("start", _("Enter the start of the custom window."))
            if not end:
                self.add_error("end", _("Enter the end of the custom window."))
            if start and end:
                if end <= start:
                    self.add_error("end", _("The end must be after the start."))
                elif start < self.now - RECORDS_WINDOW:
                    self.add_error(
                        "start",
                        _(
                            "Alibaba Cloud keeps callback records for 7 days only: "
                            "choose a start within the last 7 days."
                        ),
                    )
                elif start > self.now:
                    self.add_error("start", _("The start is in the future."))
            if start and end and end > self.now:
                data["end"] = self.now
        else:
            data["end"] = self.now
            data["start"] = self.now - WINDOWS[window]
        data["size"] = data.get("size") or DEFAULT_SIZE
        data["page"] = data.get("page") or 1
        return data
