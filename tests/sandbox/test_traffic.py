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


def test_a_push_session_is_told_by_the_ingest_and_the_streaming_domain(seeded):
    """The ingest domain's publish / publish_done and the streaming domain's record_started
    and file callbacks of one push session carry the same app and stream, in order — also
    for the sessions generated later, in the windows each domain is queried in."""
    for domain in SandboxDomain.objects.filter(name__in=[TEAM_DOMAIN, "push.example-shop.com"]):
        SandboxDomain.objects.filter(pk=domain.pk).update(
            records_generated_until=timezone.now() - dt.timedelta(hours=2)
        )
    now = dt.datetime.now(dt.UTC)
    client = sandbox_client()
    client.describe_notify_records(TEAM_DOMAIN, start=now - dt.timedelta(hours=1), end=now)
    client.describe_stream_notify_records(
        "push.example-shop.com", start=now - dt.timedelta(hours=1), end=now
    )
    records = SandboxNotifyRecord.objects.filter(notify_time__lt=timezone.now())
    publishes = records.filter(domain_name="push.example-shop.com", notify_type="publish")
    assert publishes.count() > 100
    both, newest = 0, list(publishes.order_by("-notify_time")[:200])
    for publish in newest:
        same = records.filter(app_name=publish.app_name, stream_name=publish.stream_name)
        started = same.filter(
            domain_name=TEAM_DOMAIN,
            notify_type="record_started",
            notify_time=publish.notify_time + dt.timedelta(seconds=3),
        )
        both += started.exists()
    assert both == len(newest)  # every publish has its record_started 3 s later
    done = (
        publishes.count()
        - records.filter(domain_name="push.example-shop.com", notify_type="publish_done").count()
    )
    assert 0 < done < publishes.count() * 0.15  # some sessions never get a publish_done


@pytest.mark.parametrize("per_hour", [1, 20, 60, 600])
def test_a_stream_is_never_pushed_twice_at_once_nor_named_as_the_background_traffic(per_hour):
    """Live refuses a second push of a stream being pushed, and the background recording
    traffic (APPS' names) is no push: a pushed stream's callbacks are its pushes alone. Only
    an encoder's blip (its first connection replaced within the second) shares a push's
    PublishTime, in the push history."""
    from collections import defaultdict

    from dashboard.sandbox.traffic import APPS, push_sessions

    end = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.UTC)
    plan = push_sessions(TEAM_DOMAIN, per_hour, end - dt.timedelta(days=7), end)
    assert abs(len(plan) / (7 * 24) - per_hour) < max(1, per_hour * 0.1)
    background = {(app, stream) for app, streams in APPS.items() for stream in streams}
    by_stream = defaultdict(list)
    for push in plan:
        assert (push.app, push.stream) not in background
        if push.blip:
            assert any(p.began == push.began and not p.blip for p in plan)
        else:
            by_stream[push.app, push.stream].append(push)
    for pushes in by_stream.values():
        pushes.sort(key=lambda p: p.began)
        for before, after in zip(pushes, pushes[1:], strict=False):
            # the file (up to about three minutes after the end) comes before the next publish
            assert before.ended + dt.timedelta(minutes=4) < after.began


def test_a_failed_dns_lookup_names_the_receivers_own_host(seeded):
    """The demo's DNS failures once all named hooks.example-shop.com, on every team's domain."""
    import random
    from urllib.parse import urlsplit

    from dashboard.sandbox import traffic
    from dashboard.sandbox.models import SandboxRecordConfig, SandboxStreamConfig

    end = timezone.now()
    dns = []
    for domain in SandboxDomain.objects.filter(failure_percent__gt=0):
        record = SandboxRecordConfig.objects.filter(domain=domain).first()
        stream = SandboxStreamConfig.objects.filter(domain=domain).first()
        rows = []
        if record:
            start = end - dt.timedelta(hours=1)
            rows += traffic.generate(domain, record, start, end, rng=random.Random(1), count=2000)
        if stream:
            rows += traffic.generate_streams(domain, stream, end - dt.timedelta(days=7), end)
        dns += [r for r in rows if r.description.startswith("dns resolve failed")]
    assert len({r.domain_name for r in dns}) >= 3
    for row in dns:
        assert row.description.endswith(f"no such host {urlsplit(row.notify_url).hostname}")
