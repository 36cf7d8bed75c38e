"""Filter sets (django-filter) of the domain list.

Every query parameter goes through it: an invalid value is a 400 with the form's
message, never a 500.
"""

from __future__ import annotations

import datetime as dt

import django_filters as filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .models import Domain, Team
from .selectors import name_holds

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
        # never synced is the oldest sync, on either database (NULL sorts as the largest on
        # PostgreSQL and the smallest on SQLite)
        "synced": F("last_synced_at").asc(nulls_first=True),
        "-synced": F("last_synced_at").desc(nulls_last=True),
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
        return queryset.filter(name_holds("name", value) | Q(description__icontains=value))

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
