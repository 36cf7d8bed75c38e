"""The demo account's records stay fresh as time passes, without reseeding."""

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.sandbox.models import SandboxDomain, SandboxNotifyRecord
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record
from tests.sandbox.helpers import sandbox_client

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_new_records_appear_as_time_passes(seeded):
    domain = SandboxDomain.objects.get(name=TEAM_DOMAIN)
    # Pretend the sandbox was last queried three hours ago.
    SandboxDomain.objects.filter(pk=domain.pk).update(
        records_generated_until=timezone.now() - dt.timedelta(hours=3)
    )
    before = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).count()
    now = dt.datetime.now(dt.UTC)
    page = sandbox_client().describe_notify_records(
        TEAM_DOMAIN, start=now - dt.timedelta(hours=3), end=now
    )
    added = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).count() - before
    rate = SandboxDomain.objects.get(pk=domain.pk).records_per_hour
    assert added >= 3 * rate - 3  # about three hours' worth
    assert page.total_num >= added


def test_records_older_than_seven_days_cannot_be_queried(seeded):
    add_record(
        stream_name="ancient",
        notify_type="file_created",
        notify_time=timezone.now() - dt.timedelta(days=7, minutes=5),
    )
    now = dt.datetime.now(dt.UTC)
    page = sandbox_client().describe_notify_records(
        TEAM_DOMAIN, start=now - dt.timedelta(days=7), end=now, stream_name="ancient"
    )
    assert page.total_num == 0
