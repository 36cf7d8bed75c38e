"""Alert test helpers: records put straight into the archive (the harvester's own insert, so
rollups and incidents follow as they do in production), rules, a fixed clock."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from dashboard.alerts.models import AlertNotification, AlertRule, AlertState
from dashboard.archive.harvest import archive_row, records_insert
from dashboard.archive.models import ArchivedRecord, HarvestCursor, HourlyRollup
from dashboard.archive.signals import records_archived
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from dashboard.live import NotifyRecord
from tests.conftest import TEAM_DOMAIN

HOOK = "https://hooks.alerts-test.example.org/cb"
_serial = itertools.count()


def archive(domain: Domain, *events: tuple[str, dt.datetime], url: str = HOOK, why="HTTP 503"):
    """Archive one record per (result, time): "success" or "failed"."""
    rows = []
    for result, when in events:
        record = NotifyRecord(
            app_name="live",
            domain_name=domain.name,
            stream_name=f"s{next(_serial)}",
            notify_type="file_created",
            notify_url=url,
            notify_content="{}",
            notify_header="",
            notify_response="",
            notify_result=result,
            notify_time=when,
            description="success" if result == "success" else why,
        )
        rows.append(archive_row(domain, record, timezone.now()))
    new = records_insert(rows)
    records_archived.send(sender=ArchivedRecord, domain=domain, records=new)
    return new


@pytest.fixture
def clock():
    """A fixed 'now', on a whole minute in the middle of an hour."""
    return timezone.now().replace(minute=30, second=0, microsecond=0) - dt.timedelta(hours=1)


@pytest.fixture
def domain(archived, clock):
    """TEAM_DOMAIN with an empty archive, complete up to `clock`."""
    found = Domain.objects.get(name=TEAM_DOMAIN)
    ArchivedRecord.objects.filter(domain=found).delete()
    HourlyRollup.objects.filter(domain=found).delete()
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


def sent_kinds(rule: AlertRule) -> list[tuple[str, str]]:
    return list(
        AlertNotification.objects.filter(rule=rule).order_by("pk").values_list("kind", "channel")
    )


def firing(rule: AlertRule) -> list[str]:
    return list(AlertState.objects.filter(rule=rule, firing=True).values_list("subject", flat=True))
