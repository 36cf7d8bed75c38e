"""The incident list's filters."""

from __future__ import annotations

import django_filters as filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.domains.models import Team
from dashboard.domains.selectors import name_holds

from .models import Incident
from .selectors import in_state


class IncidentFilter(filters.FilterSet):
    team = filters.ModelChoiceFilter(
        label=_("Team"),
        field_name="domain__team",
        queryset=Team.objects.all(),
        empty_label=_("Any"),
    )
    domain = filters.CharFilter(
        label=_("Domain"), field_name="domain__name", method="filter_domain", max_length=253
    )
    state = filters.ChoiceFilter(
        label=_("State"),
        choices=Incident.State.choices,
        empty_label=_("Any"),
        method="filter_state",
    )

    def filter_state(self, queryset, name, value):
        return queryset.filter(in_state(value, timezone.now()))

    def filter_domain(self, queryset, name, value):
        return queryset.filter(name_holds(name, value))

    class Meta:
        model = Incident
        fields: list[str] = []
