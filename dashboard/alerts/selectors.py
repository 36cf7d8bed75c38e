"""Reading alerts: rules with what they are firing for, a rule's history, active mutes."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from .models import AlertNotification, AlertRule, AlertState, DomainMute


def rules_list() -> QuerySet[AlertRule]:
    """Every rule, firing first; each with `undelivered`: what its latest message on a channel
    that did not get through said (an email server, a webhook, a DingTalk robot refusing it),
    or "" — a rule whose messages nobody gets must not look quiet on the list."""
    latest = {  # the rule's: two queries out (this one is inside the failing one's)
        channel: AlertNotification.objects.filter(rule=OuterRef(OuterRef("pk")), channel=channel)
        .exclude(status=AlertNotification.Status.MUTED)
        .order_by("-created_at", "-pk")
        for channel in AlertNotification.Channel.values
    }
    failing = Q(status=AlertNotification.Status.FAILED) | Q(
        status=AlertNotification.Status.PENDING, attempts__gt=0
    )
    return (
        AlertRule.objects.select_related("domain", "team", "created_by")
        .annotate(
            firing_count=Count("states", filter=Q(states__firing=True)),
            **{
                f"undelivered_{channel}{column[len('last_error') :]}": Subquery(
                    AlertNotification.objects.filter(
                        failing, pk=Subquery(query.values("pk")[:1])
                    ).values(column)[:1]
                )
                for channel, query in latest.items()
                for column in ("last_error", "last_error_said")
            },
        )
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
