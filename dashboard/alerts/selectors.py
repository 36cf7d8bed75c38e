"""Reading alerts: rules with what they are firing for, a rule's history, active mutes."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from .models import AlertNotification, AlertRule, AlertState, DomainMute


def rules_list() -> list[AlertRule]:
    """Every rule, firing first; each with `undelivered_email` and `undelivered_webhook`: what
    its latest message on that channel that did not get through was told (an email server, a
    webhook, a DingTalk robot refusing it), in the reader's language, or None — a rule whose
    messages nobody gets must not look quiet on the list."""
    latest = {  # the rule's: two queries out (this one is inside the failing one's)
        channel: AlertNotification.objects.filter(rule=OuterRef(OuterRef("pk")), channel=channel)
        .exclude(status=AlertNotification.Status.MUTED)
        .order_by("-created_at", "-pk")
        for channel in AlertNotification.Channel.values
    }
    failing = Q(status=AlertNotification.Status.FAILED) | Q(
        status=AlertNotification.Status.PENDING, attempts__gt=0
    )
    rules = list(
        AlertRule.objects.select_related("domain", "team", "created_by")
        .annotate(
            firing_count=Count("states", filter=Q(states__firing=True)),
            **{
                f"undelivered_{channel}_id": Subquery(
                    AlertNotification.objects.filter(
                        failing, pk=Subquery(query.values("pk")[:1])
                    ).values("pk")[:1]
                )
                for channel, query in latest.items()
            },
        )
        .order_by("-firing_count", "name", "pk")
    )
    columns = [f"undelivered_{channel}" for channel in latest]
    undelivered = AlertNotification.objects.only("last_error", "last_error_said").in_bulk(
        {getattr(rule, f"{c}_id") for rule in rules for c in columns} - {None}
    )
    for rule in rules:
        for column in columns:
            told = undelivered.get(getattr(rule, f"{column}_id"))
            setattr(rule, column, told.last_error_text if told else None)
    return rules


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
