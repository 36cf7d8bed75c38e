"""The audit log's filters: every query parameter goes through them (bad input: a 400 with the
form's message, never a 500)."""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.domains.selectors import name_holds
from dashboard.forms import DATE_VALIDATORS, DateInput

from .models import AuditEntry


class AuditFilter(filters.FilterSet):
    # ?entry=N: one entry, as linked from chart markers and incidents; shown like any other
    # filter, so it can be seen and cleared
    entry = filters.NumberFilter(
        label=_("Entry #"),
        field_name="pk",
        min_value=1,
        max_value=2**63 - 1,
        widget=forms.NumberInput(attrs={"min": 1, "class": "narrow"}),
    )
    domain = filters.CharFilter(
        label=_("Domain"), field_name="domain_name", method="filter_domain", max_length=253
    )
    actor = filters.CharFilter(
        label=_("Actor"), field_name="actor_name", lookup_expr="icontains", max_length=150
    )
    action = filters.ChoiceFilter(
        label=_("Action"), choices=AuditEntry.Action.choices, empty_label=_("Any")
    )
    outcome = filters.ChoiceFilter(
        label=_("Outcome"), choices=AuditEntry.Outcome.choices, empty_label=_("Any")
    )
    since = filters.DateFilter(
        label=_("From"), method="on_or_after", widget=DateInput(), validators=DATE_VALIDATORS
    )
    until = filters.DateFilter(
        label=_("To"), method="on_or_before", widget=DateInput(), validators=DATE_VALIDATORS
    )

    def filter_domain(self, queryset, name, value):
        return queryset.filter(name_holds(name, value))

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a whole number: "3.0" or "3e2" is a mistake, not entry 3
        self.form.fields["entry"] = forms.IntegerField(
            label=_("Entry #"),
            required=False,
            min_value=1,
            max_value=2**63 - 1,
            widget=forms.NumberInput(attrs={"min": 1, "class": "narrow"}),
        )

    def is_valid(self) -> bool:
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.form.add_error("until", _("The end date must not be before the start date."))
            return False
        return valid

    @staticmethod
    def _midnight(day: dt.date) -> dt.datetime:
        """Midnight of `day` in the user's own time zone."""
        return dt.datetime.combine(day, dt.time.min, timezone.get_current_timezone())

    def on_or_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=self._midnight(value))

    def on_or_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=self._midnight(value + dt.timedelta(days=1)))
