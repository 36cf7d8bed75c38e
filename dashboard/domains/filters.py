"""Filter sets (django-filter) of the domain list and the audit log.

Every query parameter goes through one of them: an invalid value is a 400 with the form's
message, never a 500.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, Domain, Team

# Dates outside these bounds mean nothing here and overflow date arithmetic in some zones.
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)
DATE_VALIDATORS = [
    MinValueValidator(DATE_MIN, message=_("Enter a date from 1970-01-01 to 2999-12-31.")),
    MaxValueValidator(DATE_MAX, message=_("Enter a date from 1970-01-01 to 2999-12-31.")),
]


class DomainFilter(filters.FilterSet):
    SORTS = {
        "name": "name",
        "-name": "-name",
        "status": "status",
        "-status": "-status",
        "synced": "last_synced_at",
        "-synced": "-last_synced_at",
    }
    CONFIGURED = [
        ("record", _("Recording callback set")),
        ("snapshot", _("Snapshot callback set")),
        ("both", _("Both set")),
        ("none", _("No callback")),
    ]

    q = filters.CharFilter(label=_("Search"), method="search", max_length=253)
    type = filters.ChoiceFilter(
        label=_("Type"), field_name="domain_type", choices=Domain.Type.choices, empty_label=_("Any")
    )
    status = filters.ChoiceFilter(
        label=_("Status"), choices=Domain.Status.choices, empty_label=_("Any")
    )
    configured = filters.ChoiceFilter(
        label=_("Callbacks"), choices=CONFIGURED, method="with_callbacks", empty_label=_("Any")
    )
    team = filters.ModelChoiceFilter(
        label=_("Team"), queryset=Team.objects.all(), empty_label=_("Any")
    )
    gone = filters.BooleanFilter(
        label=_("Include gone"), method="include_gone", widget=forms.CheckboxInput
    )
    sort = filters.ChoiceFilter(
        label=_("Sort"), choices=[(k, k) for k in SORTS], method="sorted_by", empty_label=None
    )

    class Meta:
        model = Domain
        fields: list[str] = []

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("gone"):
            queryset = queryset.filter(gone_at__isnull=True)
        return super().filter_queryset(queryset).order_by(*self._order())

    def _order(self) -> list[str]:
        return [self.SORTS.get(self.form.cleaned_data.get("sort") or "name", "name"), "name"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def with_callbacks(self, queryset, name, value):
        return {
            "record": queryset.filter(record_config__isnull=False),
            "snapshot": queryset.filter(snapshot_config__isnull=False),
            "both": queryset.filter(record_config__isnull=False, snapshot_config__isnull=False),
            "none": queryset.filter(record_config__isnull=True, snapshot_config__isnull=True),
        }[value]

    def include_gone(self, queryset, name, value):
        return queryset  # applied in filter_queryset: gone domains are hidden unless asked for

    def sorted_by(self, queryset, name, value):
        return queryset  # applied in filter_queryset, after every filter


class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class AuditFilter(filters.FilterSet):
    # ?entry=N: one entry, as linked from chart markers and incidents
    entry = IdFilter(field_name="pk", min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    domain = filters.CharFilter(
        label=_("Domain"), field_name="domain_name", lookup_expr="icontains", max_length=253
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
        label=_("From"),
        method="on_or_after",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=DATE_VALIDATORS,
    )
    until = filters.DateFilter(
        label=_("To"),
        method="on_or_before",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=DATE_VALIDATORS,
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []

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
