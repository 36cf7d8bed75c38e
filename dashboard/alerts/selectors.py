"""Reading alerts: rules with what they are firing for, a rule's history, active mutes."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import AlertNotification, AlertRule, AlertState, DomainMute


def rules_list() -> QuerySet[AlertRule]:
    return (
        AlertRule.objects.select_related("domain", "team", "created_by")
        .annotate(firing_count=Count("states", filter=Q(states__firing=True)))
        .order_by("-firing_count", "name", "pk")
    )


def rule_firing(*, rule: AlertRule) -> list[AlertState]:
    return list(
        AlertState.objects.filter(rule=rule, firing=True).select_related("domain").order_by("since")
    )


def rule_history(*, rule: AlertRule, limit: int = 100) -> list[AlertNotification]:
    return list(
        AlertNotification.objects.filter(rule=rule)
        .select_related("domain")
        .prefetch_related("tries")[:limit]
    )


def active_domain_mutes() -> list[DomainMute]:
    return list(
        DomainMute.objects.filter(until__gt=timezone.now())
        .select_related("domain", "muted_by")
        .order_by("until")
    )
