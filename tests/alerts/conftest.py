"""Alert test helpers: records put straight into the archive (the harvester's own insert, so
rollups and incidents follow as they do in production), rules, a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.alerts.models import AlertNotification, AlertRule, AlertState
from dashboard.archive.models import (
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HourlyRollup,
)
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from tests.conftest import TEAM_DOMAIN, archive  # noqa: F401 (used by the alert tests)


@pytest.fixture
def clock():
    """A fixed 'now', on a whole minute in the middle of an hour."""
    return timezone.now().replace(minute=30, second=0, microsecond=0) - dt.timedelta(hours=1)


@pytest.fixture
def domain(archived, clock):
    """TEAM_DOMAIN with an empty archive, complete up to `clock`."""
    found = Domain.objects.get(name=TEAM_DOMAIN)
    ArchivedRecord.objects.filter(domain=found).delete()
    # the rollups go with the records (the all-domains ones are not read by alerts)
    for rollup in (HourlyRollup, DailyRollup, DomainHourlyTotal):
        rollup.objects.filter(domain=found).delete()
    Incident.objects.filter(domain=found).delete()
    HarvestCursor.objects.update_or_create(
        domain=found, defaults={"harvested_until": clock, "backfilled": True}
    )
    return found


def make_rule(domain: Domain, **fields) -> AlertRule:
    values = {
        "name": "Shop callbacks",
        "scope": AlertRule.Scope.DOMAIN,
        "domain": domain,
        "condition": AlertRule.Condition.FAILURE_RATE,
        "threshold_percent": 50,
        "window_minutes": 15,
        "min_deliveries": 10,
        "consecutive": 3,
        "reminder_minutes": 60,
        "emails": "ops@example.com",
        "created_at": timezone.now() - dt.timedelta(days=30),
    }
    values.update(fields)
    return AlertRule.objects.create(**values)


def sent_events(rule: AlertRule) -> list[tuple[str, str]]:
    return list(
        AlertNotification.objects.filter(rule=rule).order_by("pk").values_list("event", "channel")
    )


def firing(rule: AlertRule) -> list[str]:
    return list(AlertState.objects.filter(rule=rule, firing=True).values_list("subject", flat=True))
