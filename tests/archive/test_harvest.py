"""The harvester through its real path (the sandbox's Live API, the archive's tables): every
record once, late records, errors mid-run, a vanished domain, window leases, retention,
rollups and incidents that equal a recount however the records arrive, and the repairs."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db.models import Count, F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.archive import selectors
from dashboard.archive.harvest import (
    harvest_pass,
    window_claim,
    window_harvest,
    windows_plan,
)
from dashboard.archive.models import (
    NAME_SLACK,
    ArchivedName,
    ArchivedRecord,
    DailyRollup,
    DomainHourlyTotal,
    HarvestCursor,
    HarvestWindow,
    HourlyRollup,
    NameDailyRollup,
    TotalHourlyRollup,
)
from dashboard.archive.retention import archive_purge
from dashboard.archive.selectors import records_search
from dashboard.archive.store import archive_row, records_insert
from dashboard.domains.models import Domain
from dashboard.incidents.derive import incidents_recount
from dashboard.incidents.models import Incident
from dashboard.live import NotifyRecord
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxDomain, SandboxNotifyRecord
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record, archive, harvest_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

QUIET = "cdn.webinar-hub.com"  # a streaming domain of the demo account with little traffic

# what the archive holds: records, names and every rollup (tests that start from nothing)
ARCHIVE_TABLES = (
    ArchivedRecord,
    HourlyRollup,
    DailyRollup,
    TotalHourlyRollup,
    ArchivedName,
    DomainHourlyTotal,
    NameDailyRollup,
)


def count_archived(domain: str = TEAM_DOMAIN) -> int:
    return ArchivedRecord.objects.filter(domain_name=domain).count()


def rollup_total(domain: str = TEAM_DOMAIN) -> int:
    return HourlyRollup.objects.filter(domain__name=domain).aggregate(n=Sum("count"))["n"] or 0


def only(name: str) -> Domain:
    """Start `name` over from nothing — its records, rollups, incidents, cursor and windows
    gone — with every other domain not due for an hour: the next pass backfills it alone."""
    domain = Domain.objects.get(name=name)
    ArchivedRecord.objects.filter(domain=domain).delete()
    for model in (
        HourlyRollup,
        DailyRollup,
        DomainHourlyTotal,
        NameDailyRollup,
        ArchivedName,
        Incident,
    ):
        model.objects.filter(domain=domain).delete()
    TotalHourlyRollup.objects.all().delete()
    HarvestWindow.objects.all().delete()
    HarvestCursor.objects.filter(domain=domain).delete()
    HarvestCursor.objects.update(next_run_at=timezone.now() + dt.timedelta(hours=1))
    HarvestCursor.objects.create(domain=domain)
    return domain


def upstream(name: str, rows: list[dict]) -> None:
    """The Live API's records of `name` are these ({…} per record), and no others."""
    SandboxNotifyRecord.objects.filter(domain_name=name).delete()
    SandboxDomain.objects.filter(name=name).update(
        records_generated_until=timezone.now() + dt.timedelta(days=3650)
    )
    base = {
        "domain_name": name,
        "app_name": "live",
        "notify_type": "record_started",
        "notify_content": "{}",
    }
    SandboxNotifyRecord.objects.bulk_create([SandboxNotifyRecord(**base, **row) for row in rows])


def states(domain: Domain) -> list[tuple]:
    """What a person sees of a domain's incidents, oldest first."""
    return [
        (i.key, i.first_seen, i.last_seen, i.count, i.state, i.success_streak, i.resolved_at)
        for i in Incident.objects.filter(domain=domain).order_by("first_seen", "key")
    ]


def recounted(domain: Domain) -> list[tuple]:
    return [
        (i.key, i.first_seen, i.last_seen, i.count, i.state, i.success_streak, i.resolved_at)
        for i in incidents_recount(domain)
    ]


def rollups(domain: Domain) -> tuple:
    hourly = sorted(
        HourlyRollup.objects.filter(domain=domain, count__gt=0).values_list(
            "hour", "notify_type", "notify_result", "failure_class", "count"
        )
    )
    daily = sorted(
        DailyRollup.objects.filter(domain=domain, count__gt=0).values_list(
            "day", "notify_result", "failure_class", "count"
        )
    )
    lean = sorted(
        DomainHourlyTotal.objects.filter(domain=domain, deliveries__gt=0).values_list(
            "hour", "deliveries", "failed"
        )
    )
    names = sorted(
        NameDailyRollup.objects.filter(domain=domain, count__gt=0).values_list(
            "field", "name", "day", "notify_result", "failure_class", "count"
        )
    )
    return hourly, daily, lean, names


def counted_rollups(domain: Domain) -> tuple:
    """The same four, counted from the records themselves."""
    hourly, daily, lean, names = {}, {}, {}, Counter()
    for when, kind, result, failure, app, stream in ArchivedRecord.objects.filter(
        domain=domain
    ).values_list(
        "notify_time", "notify_type", "notify_result", "failure_class", "app_name", "stream_name"
    ):
        hour = when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        hourly[(hour, kind, result, failure)] = hourly.get((hour, kind, result, failure), 0) + 1
        daily[(hour.date(), result, failure)] = daily.get((hour.date(), result, failure), 0) + 1
        deliveries, failed = lean.get(hour, (0, 0))
        lean[hour] = (deliveries + 1, failed + (result != "success"))
        names[("app", app, hour.date(), result, failure)] += 1
        names[("stream", stream, hour.date(), result, failure)] += 1
    return (
        sorted((*k, n) for k, n in hourly.items()),
        sorted((*k, n) for k, n in daily.items()),
        sorted((k, *v) for k, v in lean.items()),
        sorted((*k, n) for k, n in names.items()),
    )


# --- every record once ---------------------------------------------------------------------


def test_a_second_pass_stores_nothing_twice(archived):
    # One record inside the overlap for certain (the seeded traffic is sparse, and whether
    # any of it falls in the last 15 minutes depends on the minute the suite started).
    add_record(stream_name="overlap", notify_time=timezone.now() - dt.timedelta(minutes=5))
    assert harvest_now().inserted == 1
    before = ArchivedRecord.objects.count()
    report = harvest_now()
    assert report.fetched > 0 and report.inserted == 0  # the overlap was read again
    assert ArchivedRecord.objects.count() == before
    assert rollup_total() == count_archived()  # the rollups counted each record once


def test_a_late_record_inside_the_overlap_is_picked_up(archived):
    before = count_archived()
    add_record(stream_name="late", notify_time=timezone.now() - dt.timedelta(minutes=12))
    harvest_now()
    assert count_archived() == before + 1 and rollup_total() == before + 1


def test_the_whole_backfill_is_stored_and_the_cursor_reaches_the_plan(synced):
    domain = only(TEAM_DOMAIN)
    report = harvest_pass()
    served = SandboxNotifyRecord.objects.filter(
        domain_name=TEAM_DOMAIN, notify_time__gte=timezone.now() - dt.timedelta(days=7)
    ).count()
    assert report.domains == [TEAM_DOMAIN] and len(report.windows) >= 7  # 7 days in day slices
    assert served - 2 <= count_archived() <= served  # (the 7-day edge moves while it runs)
    cursor = HarvestCursor.objects.get(domain=domain)
    assert cursor.backfilled and cursor.harvested_until == cursor.planned_until
    assert not HarvestWindow.objects.filter(domain=domain).exists()  # passed windows go
    assert rollups(domain) == counted_rollups(domain)


# --- errors ----------------------------------------------------------------------------------


def test_an_upstream_error_leaves_the_cursor_before_the_window_and_the_next_pass_completes(
    synced,
):
    domain = only(TEAM_DOMAIN)
    harvest_pass(max_windows=4)  # a backfill interrupted: the first windows are stored
    cursor = HarvestCursor.objects.get(domain=domain)
    partial, until = count_archived(), cursor.harvested_until
    assert partial > 0 and not cursor.backfilled and until is not None
    sandbox_app.faults.configure("DescribeLiveRecordNotifyRecords:unavailable=1")
    report = harvest_pass()
    # the first window to fail stops the pass: the others are not failed one by one
    (failed,) = report.windows
    assert "ServiceUnavailable" in failed.error and failed.unwell
    cursor.refresh_from_db()
    assert cursor.harvested_until == until and count_archived() == partial
    assert "ServiceUnavailable" in cursor.last_error and "RequestId" in cursor.last_error
    retry = HarvestWindow.objects.filter(domain=domain, last_error__contains="ServiceUnavailable")
    assert retry.exists() and all(w.not_before > timezone.now() for w in retry)
    # a failed window is not hammered: the next pass tries another one, once
    (probe,) = harvest_pass().windows
    assert (probe.start, probe.end) != (failed.start, failed.end) and probe.unwell
    sandbox_app.faults.configure("")
    harvest_now()
    served = SandboxNotifyRecord.objects.filter(
        domain_name=TEAM_DOMAIN, notify_time__gte=timezone.now() - dt.timedelta(days=7)
    ).count()
    cursor.refresh_from_db()
    assert served - 2 <= count_archived() <= served and cursor.backfilled
    assert cursor.last_error == "" and rollups(domain) == counted_rollups(domain)


def test_a_domain_that_vanishes_keeps_its_archive_and_the_others_go_on(archived):
    gone = "pull.gamearena.net"
    kept = count_archived(gone)
    assert kept > 0
    SandboxDomain.objects.filter(name=gone).delete()
    add_record(stream_name="still-harvested")
    report = harvest_now()
    failed = {w.domain: w.error for w in report.failed}
    assert "InvalidDomain.NotFound" in failed[gone]
    assert count_archived(gone) == kept  # nothing archived is lost
    assert ArchivedRecord.objects.filter(stream_name="still-harvested").count() == 1
    # Once sync marks it gone, the harvester no longer asks for it.
    from dashboard.domains.sync import domains_sync_all

    domains_sync_all(workers=1)
    assert gone not in harvest_now().domains


def test_a_window_is_leased_once_and_a_dead_harvesters_lease_runs_out(synced):
    only(TEAM_DOMAIN)
    now = timezone.now()
    windows_plan(now=now)
    first = window_claim(owner="one", now=now)
    second = window_claim(owner="two", now=now)
    assert first and second and first.pk != second.pk
    assert first.start < second.start  # the oldest first
    HarvestWindow.objects.exclude(pk=first.pk).update(
        lease_owner="x", lease_until=now + dt.timedelta(minutes=5)
    )
    assert window_claim(owner="three", now=now) is None  # every window is leased
    HarvestWindow.objects.filter(pk=first.pk).update(lease_until=now - dt.timedelta(seconds=1))
    again = window_claim(owner="three", now=now)
    assert again.pk == first.pk and again.lease_owner == "three" and again.attempts == 2
    # the one who lost it finds out at its next page and stores nothing more
    outcome = window_harvest(first, owner="one", now=now)
    assert outcome.error == "lease lost"
    assert HarvestWindow.objects.get(pk=first.pk).state == HarvestWindow.State.PENDING


# --- derived state that cannot drift ----------------------------------------------------------


def test_records_paged_newest_first_in_small_batches_still_resolve_the_incident(synced, settings):
    """600 failures, then 600 deliveries to the same receiver: one incident, resolved. The API
    pages newest first, so the deliveries are stored before the failures they follow; the
    incidents are derived from the database in time order once the window is complete."""
    settings.ARCHIVE_STORE_BATCH = 500
    settings.INCIDENT_RESOLVE_AFTER = 20
    domain = only(QUIET)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    url = "https://hooks.order.example.org/cb"
    upstream(
        QUIET,
        [
            {
                "stream_name": f"s{n % 7}",
                "notify_url": url,
                "notify_time": start + dt.timedelta(seconds=n),
                "notify_result": "failed" if n < 600 else "success",
                "description": "HTTP 503 Service Unavailable" if n < 600 else "success",
            }
            for n in range(1200)
        ],
    )
    harvest_pass()
    (incident,) = Incident.objects.filter(domain=domain)
    assert incident.count == 600 and incident.state == Incident.State.RESOLVED
    assert incident.first_seen == start and incident.last_seen == start + dt.timedelta(seconds=599)
    # resolved when the receiver had recovered: at its 20th delivery after the last failure
    assert incident.resolved_at == start + dt.timedelta(seconds=619)
    assert states(domain) == recounted(domain)


RECORDS = st.lists(
    st.tuples(
        st.integers(min_value=60, max_value=30 * 3600),  # seconds back
        st.sampled_from(["success", "success", "success", "503", "404", "timeout"]),
        st.sampled_from(["a.hooks.example.org", "b.hooks.example.org"]),
    ),
    min_size=1,
    max_size=120,
)


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=RECORDS, batch=st.integers(min_value=1, max_value=40), seed=st.integers(0, 99))
def test_any_split_in_any_order_gives_what_one_batch_in_time_order_gives(
    synced, records, batch, seed
):
    """Windows stored in any order, their records in batches of any size (newest first, as
    the API pages them), and replayed again: rollups equal a direct count, and incidents
    equal the recount of every record from nothing, oldest first, in one go."""
    domain = only(QUIET)
    now = timezone.now().replace(microsecond=0)
    why = {"503": "HTTP 503 Service Unavailable", "404": "HTTP 404 Not Found"}
    why["timeout"] = "connect timed out after 5000 ms"
    upstream(
        QUIET,
        [
            {
                "stream_name": f"s{back % 3}",
                "notify_url": f"https://{host}/cb",
                "notify_time": now - dt.timedelta(seconds=back),
                "notify_result": "success" if outcome == "success" else "failed",
                "description": why.get(outcome, "success"),
            }
            for back, outcome, host in records
        ],
    )
    old_batch, old_after = (
        django_settings.ARCHIVE_STORE_BATCH,
        django_settings.INCIDENT_RESOLVE_AFTER,
    )
    django_settings.ARCHIVE_STORE_BATCH, django_settings.INCIDENT_RESOLVE_AFTER = batch, 4
    try:
        windows_plan(now=now)
        pending = list(HarvestWindow.objects.filter(domain=domain))
        random.Random(seed).shuffle(pending)
        for window in pending:  # every window in a shuffled order, each leased in turn
            HarvestWindow.objects.filter(pk=window.pk).update(
                lease_owner="me", lease_until=now + dt.timedelta(minutes=5)
            )
            window.refresh_from_db()
            assert not window_harvest(window, owner="me", now=now).error
        cursor = HarvestCursor.objects.get(domain=domain)
        assert cursor.harvested_until == cursor.planned_until
        assert count_archived(QUIET) == len({(b, o, h) for b, o, h in records})
        assert rollups(domain) == counted_rollups(domain)
        assert states(domain) == recounted(domain)
    finally:
        django_settings.ARCHIVE_STORE_BATCH, django_settings.INCIDENT_RESOLVE_AFTER = (
            old_batch,
            old_after,
        )


def test_rebuild_rollups_recounts_rollups_and_incidents_and_leaves_a_busy_domain_alone(archived):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    before, incidents = rollups(domain), states(domain)
    assert all(before) and incidents
    # damage: counts doubled, cells deleted, an incident's count wrong and one gone (as a
    # restore or a hand edit could leave them)
    HourlyRollup.objects.filter(domain=domain).update(count=F("count") * 2)
    DailyRollup.objects.filter(domain=domain).first().delete()
    DomainHourlyTotal.objects.filter(domain=domain).update(failed=F("failed") + 1)
    DomainHourlyTotal.objects.filter(domain=domain).last().delete()
    NameDailyRollup.objects.filter(domain=domain, field="stream").update(count=F("count") + 1)
    NameDailyRollup.objects.filter(domain=domain, field="app").first().delete()
    Incident.objects.filter(domain=domain).update(count=F("count") + 3)
    Incident.objects.filter(domain=domain).order_by("pk").first().delete()
    since = (timezone.now() - dt.timedelta(days=8)).date().isoformat()
    out = io.StringIO()
    call_command("rebuild_rollups", since=since, domain=[TEAM_DOMAIN], stdout=out)
    assert rollups(domain) == before and states(domain) == incidents
    assert f"{TEAM_DOMAIN}: incidents recounted (1 created" in out.getvalue()
    # the all-domains rollups, damaged too, are the sums of the hourly ones again
    TotalHourlyRollup.objects.update(count=F("count") + 5)
    call_command("rebuild_rollups", since=since, verbosity=0, stdout=io.StringIO())
    total = TotalHourlyRollup.objects.aggregate(n=Sum("count"))["n"]
    assert total == ArchivedRecord.objects.count()

    # a domain with a window leased right now is reported, and not touched
    HarvestWindow.objects.create(
        domain=domain,
        start=timezone.now(),
        end=timezone.now(),
        lease_owner="other-host:1",
        lease_until=timezone.now() + dt.timedelta(minutes=1),
    )
    HourlyRollup.objects.filter(domain=domain).update(count=F("count") * 3)
    err = io.StringIO()
    call_command("rebuild_rollups", since=since, domain=[TEAM_DOMAIN], stderr=err, stdout=out)
    assert TEAM_DOMAIN in err.getvalue()
    assert rollups(domain)[0] != before[0]


PEOPLE_HOOK = "https://people.hooks.example.org/cb"


def test_rebuild_keeps_what_people_did_to_incidents(archived, lead):
    from dashboard.audit.models import AuditEntry
    from dashboard.incidents.services import incident_change, incident_note_add

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    archive(domain, ("failed", now - dt.timedelta(minutes=3)), ("failed", now), url=PEOPLE_HOOK)
    incident = Incident.objects.get(domain=domain, receiver_host="people.hooks.example.org")
    incident_change(incident=incident, actor=lead, action=AuditEntry.Action.ACKNOWLEDGE)
    incident_note_add(incident=incident, actor=lead, text="the receiver's owner knows")
    right = incident.count
    Incident.objects.filter(pk=incident.pk).update(count=right + 99)
    call_command("rebuild_rollups", since="2026-01-01", domain=[TEAM_DOMAIN], stdout=io.StringIO())
    incident.refresh_from_db()
    assert incident.state == Incident.State.ACKNOWLEDGED and incident.acknowledged_by == lead
    assert incident.notes.count() == 1 and incident.count == right


def test_rebuild_rollups_refuses_nonsense():
    from django.core.management import CommandError

    for kwargs in (
        {"since": "yesterday"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"since": "2026-11-01", "domain": ["nope.example.com"]},
    ):
        with pytest.raises(CommandError):
            call_command("rebuild_rollups", **kwargs)


# --- rollups and names -----------------------------------------------------------------------


def _record(
    *,
    stream="s",
    when=None,
    result="success",
    kind="file_created",
    app="live",
    url="https://h.example.com/cb",
    description="success",
):
    return NotifyRecord(
        app_name=app,
        domain_name=TEAM_DOMAIN,
        stream_name=stream,
        notify_type=kind,
        notify_url=url,
        notify_content="{}",
        notify_header="",
        notify_response="",
        notify_result=result,
        notify_time=when or timezone.now(),
        description=description,
        storage_type="oss",
    )


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=72 * 3600),  # seconds back
            st.sampled_from(["file_created", "record_started", "record_error"]),
            st.sampled_from(
                [("success", "success"), ("failed", "HTTP 404 Not Found"), ("failed", "timeout")]
            ),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=60,
    ),
    batch=st.integers(min_value=1, max_value=25),
)
def test_rollups_equal_a_direct_count(synced, records, batch):
    """However records arrive — in batches, again and again — the rollups count each once."""
    domain = Domain.objects.get(name=QUIET)
    for model in ARCHIVE_TABLES:
        model.objects.all().delete()
    now = timezone.now().replace(microsecond=0)
    rows = [
        archive_row(
            domain,
            _record(
                stream=stream,
                when=now - dt.timedelta(seconds=back),
                kind=kind,
                result=result,
                description=description,
            ),
            now,
        )
        for back, kind, (result, description), stream in records
    ]
    for _ in range(2):  # the overlap: every record arrives twice
        for start in range(0, len(rows), batch):
            records_insert(rows[start : start + batch])
    assert rollups(domain) == counted_rollups(domain)
    assert archived_names(domain) == direct_names(domain)
    # ... and the all-domains rollups equal the hourly ones summed
    assert totals() == summed_hourly()


def totals() -> dict:
    return {
        (t.hour, t.notify_result, t.failure_class): t.count
        for t in TotalHourlyRollup.objects.all()
        if t.count
    }


def summed_hourly() -> dict:
    """Every domain's hourly rollups, summed over the domains."""
    return {
        (row["hour"], row["notify_result"], row["failure_class"]): row["n"]
        for row in HourlyRollup.objects.values("hour", "notify_result", "failure_class")
        .annotate(n=Sum("count"))
        .order_by()
        if row["n"]
    }


def direct_names(domain) -> dict:
    """Each app and stream name of the domain's records, with its newest record's time."""
    names: dict = {}
    for record in ArchivedRecord.objects.filter(domain=domain):
        for key in (("app", record.app_name), ("stream", record.stream_name)):
            names[key] = max(names.get(key, record.notify_time), record.notify_time)
    return names


def archived_names(domain) -> dict:
    """ArchivedName's names of the domain, where each last_seen is checked against the newest
    record of the name: never after it, and behind it by at most NAME_SLACK."""
    stored = {(n.field, n.name): n.last_seen for n in ArchivedName.objects.filter(domain=domain)}
    direct = direct_names(domain)
    for key, last_seen in stored.items():
        if key in direct:
            assert direct[key] - NAME_SLACK <= last_seen <= direct[key], key
            stored[key] = direct[key]
    return stored


@pytest.mark.parametrize("listed", [1_000, 1], ids=["names-listed", "names-subquery"])
@pytest.mark.parametrize("text", ["a", "B", "str", "EAM-1", "x", "am-1"])
def test_a_name_search_finds_what_a_substring_match_of_the_records_finds(
    archived, text, listed, monkeypatch
):
    """The explorer finds names in ArchivedName first: the result is the records whose app or
    stream contains the text in any case — nothing more, nothing less; with the names written
    into the query as a list or, when there are more than NAMES_LISTED, as a subquery; names
    last seen before the window (by more than NAME_SLACK) are left out, their records too."""
    monkeypatch.setattr(selectors, "NAMES_LISTED", listed)
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    records_insert(
        [
            archive_row(domain, _record(stream=stream, app=app, when=when), now)
            for stream, app, when in [
                ("Stream-1", "A", now),
                ("stream-10", "live", now),
                ("ab", "xbox", now),
                ("old-stream-1", "bygone", now - dt.timedelta(days=5)),
            ]
        ]
    )
    window = {"start": now - dt.timedelta(days=2), "end": now + dt.timedelta(minutes=1)}
    records = ArchivedRecord.objects.filter(notify_time__gte=window["start"])
    for field in ("stream", "app"):
        for scope in ({}, {"domain_id": domain.pk}):
            found = set(
                records_search(filters={**window, **scope, field: text}).values_list(
                    "pk", flat=True
                )
            )
            direct = records.filter(
                **{f"{field}_name__icontains": text}, **({"domain": domain} if scope else {})
            )
            assert found == set(direct.values_list("pk", flat=True)), (field, scope)


def test_every_page_of_a_search_is_the_slice_of_all_its_matches(archived):
    """A page is looked for in the newest day, then week, first: each page of a window with
    matches in the last hours, days and weeks — same second ties too — is exactly that slice of
    all matches in order, whatever the page size."""
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now().replace(microsecond=0)
    ages = [dt.timedelta(hours=h) for h in (0, 0, 1, 5, 23, 30, 70, 24 * 6, 24 * 8, 24 * 40)]
    records_insert(
        [
            archive_row(domain, _record(stream=f"paged-{n}", when=now - age), now)
            for n, age in enumerate(ages)
        ]
    )
    window = {"start": now - dt.timedelta(days=90), "end": now + dt.timedelta(minutes=1)}
    rows = records_search(filters={**window, "stream": "paged"})
    expected = list(rows.values_list("pk", flat=True))
    assert len(expected) == len(ages)
    for size in (1, 2, 3, 4, 7, 20):
        for first in range(0, len(ages) + 1, size):
            page = selectors.records_slice(rows, first, first + size)
            assert [r.pk for r in page] == expected[first : first + size], (size, first)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"status": "failed"},
        {"type": "file_created"},
        {"failure": "timeout"},
        {"domain": True},
        {"domain": True, "status": "failed", "failure": "http_5xx"},
    ],
)
@pytest.mark.parametrize(
    "span",
    [
        dt.timedelta(minutes=40),
        dt.timedelta(hours=5, minutes=17),
        dt.timedelta(days=3),  # whole days: from the daily rollups
        dt.timedelta(days=6, hours=11),
    ],
)
def test_counts_from_the_rollups_equal_counting_the_records(archived, extra, span):
    """The counts above the table come from the daily and hourly rollups plus the two partial
    edge hours, and equal counting the records."""
    end = timezone.now() - dt.timedelta(minutes=7, seconds=13)
    fast = counted_both_ways({"start": end - span, "end": end, **extra})
    assert fast.total > 0 or extra or span < dt.timedelta(hours=1)  # not vacuous


def counted_both_ways(filters: dict):
    """The counts above the table as the page makes them (from the rollups where they can),
    asserted equal to counting the records; `domain: True` is the team's domain."""
    from dashboard.archive.selectors import records_counts

    if filters.pop("domain", None):
        filters["domain_id"] = Domain.objects.get(name=TEAM_DOMAIN).pk
    rows = records_search(filters=filters)
    fast, slow = records_counts(rows, filters=filters), records_counts(rows)
    assert (fast.total, fast.success, fast.failed, fast.classes) == (
        slow.total,
        slow.success,
        slow.failed,
        slow.classes,
    )
    return fast


@pytest.mark.parametrize(
    "extra",
    [
        {"stream": "o"},
        {"stream": "O", "status": "failed"},
        {"app": "LIVE"},
        {"stream": "o", "domain": True, "failure": "timeout"},
        {"stream": "o", "type": "file_created"},  # no type in the names' counts: records
        {"stream": "o", "app": "l"},  # two names: records
    ],
)
@pytest.mark.parametrize(
    "span",
    [
        dt.timedelta(hours=5, minutes=17),  # no whole day: the records
        dt.timedelta(days=3, hours=2),
        dt.timedelta(days=6, hours=11),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_counts_of_a_name_search_equal_counting_the_records(archived, extra, span, zone):
    """A search by part of one app or stream name counts its whole UTC days from the names'
    daily counts and the two partial days at the edges from the records — equal to counting
    the records, whatever zone the window was given in."""
    from zoneinfo import ZoneInfo

    from dashboard.archive.selectors import _name_rollup_groups

    end = timezone.now().astimezone(ZoneInfo(zone)) - dt.timedelta(minutes=7, seconds=13)
    filters = {"start": end - span, "end": end, **extra}
    fast = counted_both_ways(filters)
    assert fast.total > 0 or {"status", "failure"} & set(extra)  # not vacuous
    one_name = ("app" in extra) != ("stream" in extra)
    can = span > dt.timedelta(days=1) and one_name and "type" not in extra
    assert (_name_rollup_groups(filters) is not None) == can


# --- retention -------------------------------------------------------------------------------


def test_retention_removes_expired_days_with_what_hangs_off_them(archived, settings, lead):
    """Records older than the retention go (whole days on PostgreSQL: a dropped partition),
    with their redelivery attempts, rollups and names; everything younger stays."""
    from dashboard.redelivery.models import RedeliveryAttempt

    settings.ARCHIVE_RETENTION_DAYS = 30
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    old = (now - dt.timedelta(days=40)).replace(hour=3)
    rows = [
        archive_row(domain, _record(stream=f"old-{i}", when=old + dt.timedelta(minutes=i)), old)
        for i in range(7)
    ]
    expired = records_insert(rows).new
    young = ArchivedRecord.objects.filter(domain=domain).order_by("-notify_time").first()
    for record_id in (expired[0].id, young.pk):
        RedeliveryAttempt.objects.create(record_id=record_id, actor=lead, actor_name="lead")
    before = ArchivedRecord.objects.count()
    assert archive_purge(now=now, force=True) == 7
    assert ArchivedRecord.objects.count() == before - 7
    assert list(RedeliveryAttempt.objects.values_list("record_id", flat=True)) == [young.pk]
    assert not HourlyRollup.objects.filter(hour__lt=now - dt.timedelta(days=30)).exists()
    assert not DailyRollup.objects.filter(day__lt=(now - dt.timedelta(days=30)).date()).exists()
    assert NameDailyRollup.objects.filter(name="old-3").exists() is False
    assert not NameDailyRollup.objects.filter(day__lt=(now - dt.timedelta(days=30)).date()).exists()
    assert not TotalHourlyRollup.objects.filter(hour__lt=now - dt.timedelta(days=30)).exists()
    # the names of purged records went with them; the others stay
    assert not ArchivedName.objects.filter(name__startswith="old-").exists()
    assert archived_names(domain) == direct_names(domain)
    assert archive_purge(now=now, force=True) == 0  # nothing more to remove


def test_a_domain_with_archived_records_cannot_be_deleted(archived):
    """The records' foreign key has no constraint in the database (its per-record check cost
    7% of the insert rate): the ORM's PROTECT is what keeps a record's domain."""
    from django.db.models import ProtectedError

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    assert ArchivedRecord.objects.filter(domain=domain).exists()
    with pytest.raises(ProtectedError):
        domain.delete()
    assert Domain.objects.filter(pk=domain.pk).exists()
    assert (
        ArchivedRecord.objects.values("fingerprint", "notify_time")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
        == 0
    )


def test_deleting_a_domain_takes_its_names_rollups_and_push_parameters_with_it(synced):
    """Those tables keep no foreign-key check in the database (the harvest writes them by the
    thousand): a domain deleted through the ORM — once its records are gone — leaves none of
    their rows behind."""
    from dataclasses import replace

    from dashboard.archive.models import ArchivedPushParam

    domain = Domain.objects.create(name="leaving.example.com", domain_type="liveVideo")
    now = timezone.now().replace(microsecond=0)
    content = '{"push_args": {"order_id": "42"}}'
    records_insert(
        [
            archive_row(
                domain,
                replace(
                    _record(stream=f"s{i}", when=now - dt.timedelta(hours=i)),
                    notify_content=content,
                ),
                now,
            )
            for i in range(3)
        ]
    )
    per_domain = (HourlyRollup, DailyRollup, DomainHourlyTotal, NameDailyRollup, ArchivedName)
    for model in (*per_domain, ArchivedPushParam):
        assert model.objects.filter(domain=domain).exists(), model.__name__
    ArchivedRecord.objects.filter(domain=domain).delete()  # as the retention leaves it
    pk = domain.pk
    domain.delete()
    for model in (*per_domain, ArchivedPushParam):
        assert not model.objects.filter(domain_id=pk).exists(), model.__name__
