"""Each condition at its threshold edges, silence included, and the firing → reminder →
recovered cycle with an injected clock."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.alerts.models import AlertNotification, AlertRule, DomainMute
from dashboard.alerts.services import alerts_evaluate
from dashboard.archive.models import HarvestCursor
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from tests.alerts.conftest import archive, firing, make_rule, sent_events
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
MIN = dt.timedelta(minutes=1)


def spread(result: str, n: int, end: dt.datetime):
    """n deliveries, 10 s apart, the last at `end`."""
    return [(result, end - dt.timedelta(seconds=10 * i)) for i in range(n)]


# --- failure rate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failed", "succeeded", "fires"),
    [
        (5, 5, False),  # exactly 50%: not above it
        (6, 5, True),  # 54.5%
        (9, 0, False),  # 100%, but only 9 deliveries (at least 10 needed)
        (10, 0, True),  # 100% of exactly 10
        (0, 0, False),  # nothing at all is not a failure rate (that is silence)
    ],
)
def test_failure_rate_at_its_edges(domain, clock, failed, succeeded, fires):
    rule = make_rule(domain)
    archive(domain, *spread("failed", failed, clock - MIN), *spread("success", succeeded, clock))
    alerts_evaluate(now=clock)
    assert bool(firing(rule)) is fires
    assert sent_events(rule) == ([("firing", "email")] if fires else [])


def test_failures_outside_the_window_do_not_count(domain, clock):
    rule = make_rule(domain, window_minutes=15)
    archive(domain, *spread("failed", 20, clock - dt.timedelta(minutes=15, seconds=1)))
    archive(domain, *spread("success", 10, clock))
    alerts_evaluate(now=clock)
    assert firing(rule) == []
    # The same records, seen from a clock where they are inside the window.
    alerts_evaluate(now=clock - dt.timedelta(minutes=5))
    assert firing(rule) == [f"domain:{domain.pk}"]


def test_the_window_counts_whole_hours_from_rollups_and_edges_from_records(domain, clock):
    rule = make_rule(domain, window_minutes=180, threshold_percent=10, min_deliveries=100)
    # 3 hours of traffic: 300 deliveries, 31 failed (10.3%), across hour boundaries.
    events = [
        ("failed" if i % 10 == 0 else "success", clock - i * 36 * dt.timedelta(seconds=1))
        for i in range(300)
    ]
    events.append(("failed", clock - dt.timedelta(seconds=5)))
    archive(domain, *events)
    alerts_evaluate(now=clock)
    state = rule.states.get()
    assert state.firing and state.numbers["total"] == 301 and state.numbers["failed"] == 31


# --- consecutive failures to one host -------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "fires"),
    [
        (["failed", "failed", "failed"], True),
        (["failed", "failed", "success"], False),  # newest first: the third-latest succeeded
        (["failed", "failed"], False),  # only two
        (["success", "failed", "failed", "failed"], False),  # it answered again
    ],
)
def test_consecutive_failures_to_one_host(domain, clock, latest, fires):
    rule = make_rule(domain, condition=AlertRule.Condition.CONSECUTIVE, consecutive=3)
    archive(domain, *[(r, clock - i * MIN) for i, r in enumerate(latest)])
    # Another host failing does not make this one's run longer.
    archive(domain, ("failed", clock - 10 * MIN), url="https://other.example.org/cb")
    alerts_evaluate(now=clock)
    expected = [f"host:{domain.pk}:hooks.alerts-test.example.org"] if fires else []
    assert firing(rule) == expected


def said(rule: AlertRule, event: str) -> str:
    """What the rule's (one) notification of `event` says."""
    return rule.notifications.get(event=event).payload["text"]


def test_a_failure_rate_that_recovers_for_want_of_deliveries_says_so(domain, clock):
    """Its RECOVERED message said "What: None% of callbacks failed in the last 15 min (0 of
    0; …)" — and was sent when the harvester had merely fallen behind."""
    rule = make_rule(domain, reminder_minutes=0)
    archive(domain, *spread("failed", 10, clock))
    alerts_evaluate(now=clock)
    # the harvester stops (a restart, an outage): the archive holds none of the window, which
    # is no recovery (the demo mailed RECOVERED, then FIRING again once it had caught up)
    alerts_evaluate(now=clock + 20 * MIN)
    assert firing(rule) == [f"domain:{domain.pk}"] and sent_events(rule) == [("firing", "email")]
    # caught up, and nothing came in the window: recovered
    HarvestCursor.objects.filter(domain=domain).update(harvested_until=clock + 20 * MIN)
    alerts_evaluate(now=clock + 20 * MIN)
    recovered = said(rule, "recovered")
    assert (
        "What: no callbacks in the last 15 min (alert above 50% with at least 10 deliveries)"
        in recovered
    )
    assert "None" not in recovered


def test_a_harvester_minutes_behind_is_not_read_as_too_few_deliveries(domain, clock):
    """The window ended at "now": with the archive complete only up to 14 minutes ago, a
    15-minute window held one minute of records — 7 deliveries, fewer than the 10 the rule
    wants — and a firing rule "recovered", to fire again once the harvester caught up."""
    rule = make_rule(domain, reminder_minutes=0)
    archive(domain, *spread("failed", 12, clock))  # the last 110 seconds up to `clock`
    alerts_evaluate(now=clock)
    assert firing(rule) == [f"domain:{domain.pk}"]
    alerts_evaluate(now=clock + 14 * MIN)  # the archive still ends at `clock`
    assert firing(rule) == [f"domain:{domain.pk}"] and sent_events(rule) == [("firing", "email")]
    assert rule.states.get().numbers["total"] == 12


def test_a_run_of_failures_that_ends_says_how_it_ended(domain, clock):
    """A receiver that answered again was told "What: the last 0 callbacks to … failed (alert
    at 3 in a row)" in its RECOVERED message; one that is no longer watched lost its host from
    the title and the sentence ("the last 0 callbacks to  failed")."""
    host = "hooks.alerts-test.example.org"
    rule = make_rule(
        domain, condition=AlertRule.Condition.CONSECUTIVE, consecutive=3, reminder_minutes=0
    )
    archive(domain, *[("failed", clock - i * MIN) for i in range(1, 4)])
    alerts_evaluate(now=clock)
    assert f"the last 3 callbacks to {host} failed (alert at 3 in a row)" in said(rule, "firing")
    archive(domain, ("success", clock + 10 * MIN))
    alerts_evaluate(now=clock + 11 * MIN)
    recovered = said(rule, "recovered")
    assert f"the latest callback to {host} succeeded (alert at 3 failures in a row)" in recovered
    assert "the last 0" not in recovered
    # ... and once more, the success followed by two failures: not yet a run of three
    archive(domain, *[("failed", clock + i * MIN) for i in range(11, 14)])
    alerts_evaluate(now=clock + 14 * MIN)
    rule.notifications.all().delete()
    archive(domain, ("success", clock + 15 * MIN), ("failed", clock + 16 * MIN))
    alerts_evaluate(now=clock + 17 * MIN)
    assert f"{host} answered again, then the latest callback failed" in said(rule, "recovered")
    # a receiver no longer watched (its domain went offline) keeps its name in the recovery
    archive(domain, *[("failed", clock + i * MIN) for i in range(17, 20)])
    alerts_evaluate(now=clock + 20 * MIN)
    rule.notifications.all().delete()
    Domain.objects.filter(pk=domain.pk).update(gone_at=clock)
    alerts_evaluate(now=clock + 21 * MIN)
    recovered = rule.notifications.get(event="recovered").payload
    assert recovered["title"] == f"[RECOVERED] Shop callbacks: {domain.name} → {host}"
    assert f"What: {host} is no longer watched" in recovered["text"]


# --- a new incident -------------------------------------------------------------------------


def test_a_new_incident_fires_once_and_recovers_when_it_resolves(domain, clock, settings):
    settings.INCIDENT_RESOLVE_AFTER = 2
    rule = make_rule(domain, condition=AlertRule.Condition.INCIDENT, reminder_minutes=0)
    archive(domain, ("failed", clock - 5 * MIN))
    incident = Incident.objects.get(domain=domain)
    alerts_evaluate(now=clock)
    alerts_evaluate(now=clock + MIN)
    assert firing(rule) == [f"incident:{incident.pk}"]
    archive(domain, ("success", clock - 4 * MIN), ("success", clock - 3 * MIN))
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED
    assert "(1 failure)" in said(rule, "firing")
    # meanwhile another receiver of the domain fails: an incident of its own, still open
    archive(domain, ("failed", clock - 2 * MIN), url="https://other.example.org/cb")
    other = Incident.objects.exclude(pk=incident.pk).get(domain=domain)
    alerts_evaluate(now=clock + 2 * MIN)
    assert sent_events(rule) == [("firing", "email")] * 2 + [("recovered", "email")]
    # the recovery links the incident that resolved, not the one still open
    recovered = rule.notifications.get(event="recovered").payload
    assert recovered["links"]["incident"].endswith(f"/incidents/{incident.pk}/")
    assert f"incident:{other.pk}" in firing(rule)


def test_a_muted_incident_brings_no_reminders_until_its_mute_runs_out(domain, clock):
    """Someone mutes an incident until a time ("we know; the receiver is being moved"): its
    rule kept reminding every interval all the same. Now its reminders are recorded, muted,
    until that time; then they are sent again."""
    rule = make_rule(domain, condition=AlertRule.Condition.INCIDENT, reminder_minutes=30)
    archive(domain, ("failed", clock - 5 * MIN))
    incident = Incident.objects.get(domain=domain)
    muted = AlertNotification.Status.MUTED

    def told() -> list[tuple[str, bool]]:
        notes = rule.notifications.order_by("pk")
        return [(n.event, n.status == muted) for n in notes]

    alerts_evaluate(now=clock)
    Incident.objects.filter(pk=incident.pk).update(
        state=Incident.State.MUTED, muted_until=clock + 90 * MIN
    )
    alerts_evaluate(now=clock + 31 * MIN)
    alerts_evaluate(now=clock + 62 * MIN)
    assert told() == [("firing", False), ("reminder", True), ("reminder", True)]
    alerts_evaluate(now=clock + 93 * MIN)
    assert told()[-1] == ("reminder", False)


def test_incidents_opened_before_the_rule_existed_are_not_new(domain, clock):
    archive(domain, ("failed", clock - 5 * MIN))
    rule = make_rule(
        domain, condition=AlertRule.Condition.INCIDENT, created_at=clock + dt.timedelta(days=1)
    )
    alerts_evaluate(now=clock)
    assert firing(rule) == []


# --- silence --------------------------------------------------------------------------------


def test_silence_fires_when_nothing_arrives_within_the_window(domain, clock):
    rule = make_rule(domain, condition=AlertRule.Condition.SILENCE, window_minutes=30)
    archive(domain, ("success", clock - 30 * MIN))  # exactly at the window's start: inside
    alerts_evaluate(now=clock)
    assert firing(rule) == []
    alerts_evaluate(now=clock + 1 * MIN)  # the archive is complete to `clock` only ...
    assert firing(rule) == []  # ... and the window ends there: still inside


def test_silence_fires_after_the_last_callback_leaves_the_window(domain, clock):
    rule = make_rule(domain, condition=AlertRule.Condition.SILENCE, window_minutes=30)
    archive(domain, ("success", clock - 30 * MIN - dt.timedelta(seconds=1)))
    alerts_evaluate(now=clock)
    assert firing(rule) == [f"domain:{domain.pk}"]
    body = rule.notifications.get().payload
    assert "0 callbacks in the last 30 min" in body["text"]


def test_silence_is_not_judged_while_the_archive_is_behind(domain, clock):
    rule = make_rule(domain, condition=AlertRule.Condition.SILENCE, window_minutes=30)
    # complete only up to 31 minutes before now: a harvester that is behind, not silence
    alerts_evaluate(now=clock + 31 * MIN)
    assert firing(rule) == []
    # ... and a firing silence does not "recover" because the archive fell behind
    alerts_evaluate(now=clock)
    assert firing(rule) == [f"domain:{domain.pk}"]
    alerts_evaluate(now=clock + 31 * MIN)
    assert firing(rule) == [f"domain:{domain.pk}"] and len(sent_events(rule)) == 1


def test_silence_ignores_offline_domains_and_domains_without_a_recording_callback(domain, clock):
    rule = make_rule(domain, condition=AlertRule.Condition.SILENCE, window_minutes=30)
    Domain.objects.filter(pk=domain.pk).update(status=Domain.Status.OFFLINE)
    alerts_evaluate(now=clock)
    assert firing(rule) == []
    Domain.objects.filter(pk=domain.pk).update(status=Domain.Status.ONLINE)
    domain.record_config.delete()
    alerts_evaluate(now=clock)
    assert firing(rule) == []


# --- reminders, recovery, muting ------------------------------------------------------------


def test_firing_then_a_reminder_at_the_interval_then_one_recovery(domain, clock):
    rule = make_rule(
        domain, window_minutes=60, reminder_minutes=30, webhook_url="https://hooks.example.com/a"
    )
    start = clock - 45 * MIN
    archive(domain, *spread("failed", 10, start - MIN))
    alerts_evaluate(now=start)
    both = [("firing", "email"), ("firing", "webhook")]
    assert sent_events(rule) == both
    for minutes in (1, 2, 29):  # every minute: nothing new until the interval has passed
        alerts_evaluate(now=start + minutes * MIN)
    assert sent_events(rule) == both
    alerts_evaluate(now=start + 30 * MIN)
    alerts_evaluate(now=start + 31 * MIN)
    reminders = [("reminder", "email"), ("reminder", "webhook")]
    assert sent_events(rule) == both + reminders
    # The receiver answers again: 10 of 20 failed is 50%, not above it. Recovered, once.
    archive(domain, *spread("success", 10, start + 40 * MIN))
    alerts_evaluate(now=start + 40 * MIN)
    alerts_evaluate(now=start + 41 * MIN)
    recovered = [("recovered", "email"), ("recovered", "webhook")]
    assert sent_events(rule) == both + reminders + recovered
    text = rule.notifications.filter(event="recovered").first().payload["text"]
    assert start.strftime("Since: %Y-%m-%d %H:%M UTC") in text and "(recovered " in text
    # Failing again later is a new episode: a new firing notice.
    archive(domain, *spread("failed", 12, start + 44 * MIN))
    alerts_evaluate(now=start + 44 * MIN)
    assert sent_events(rule)[-2:] == both


def test_a_muted_rule_records_but_does_not_send(domain, clock):
    rule = make_rule(domain, muted_until=clock + 10 * MIN)
    archive(domain, *spread("failed", 10, clock))
    alerts_evaluate(now=clock)
    (note,) = rule.notifications.all()
    assert note.event == "firing" and note.status == AlertNotification.Status.MUTED


def test_a_muted_domain_records_but_does_not_send(domain, clock):
    DomainMute.objects.create(domain=domain, until=clock + 10 * MIN)
    rule = make_rule(domain)
    archive(domain, *spread("failed", 10, clock))
    alerts_evaluate(now=clock)
    assert rule.notifications.get().status == AlertNotification.Status.MUTED


def test_what_a_notification_says(domain, clock):
    rule = make_rule(domain)
    archive(domain, *spread("failed", 8, clock), *spread("success", 4, clock - MIN))
    alerts_evaluate(now=clock)
    payload = rule.notifications.get().payload
    assert payload["title"] == f"[FIRING] Shop callbacks: {domain.name}"
    assert "66.7% of callbacks failed in the last 15 min (8 of 12" in payload["text"]
    assert f"Where: {domain.name}" in payload["text"]
    assert clock.strftime("Since: %Y-%m-%d %H:%M UTC") in payload["text"]
    records = payload["links"]["records"]
    assert records.startswith("http://") and f"domain={domain.name}" in records
    assert "status=failed" in records and "incident" in payload["links"]
    assert payload["numbers"] == {
        "failed": 8,
        "total": 12,
        "rate": 66.7,
        "window_minutes": 15,
        "threshold_percent": 50,
        "min_deliveries": 10,
    }


# --- expected stream callbacks that never came ----------------------------------------------


def _ingest_checked_until(clock):
    from dashboard.archive.models import HarvestCursor, PushedSession

    ingest = Domain.objects.get(name="push.example-shop.com")
    PushedSession.objects.filter(domain=ingest).delete()
    HarvestCursor.objects.update_or_create(
        domain=ingest,
        defaults={"harvested_until": clock, "backfilled": True, "pushes_checked_until": clock},
    )
    return ingest, PushedSession


def test_missing_fires_for_a_push_whose_publish_done_never_came_and_recovers(archived, clock):
    ingest, pushes = _ingest_checked_until(clock)
    rule = make_rule(ingest, condition=AlertRule.Condition.MISSING, window_minutes=30)
    push = pushes.objects.create(
        domain=ingest,
        app_name="live",
        stream_name="lost-\u202eenod",  # a pusher's right-to-left override: "lost-done"
        publish_time=clock - 90 * MIN,  # began long before the window, ended inside it
        stop_time=clock - 20 * MIN,
        missing="",
        checked_at=clock,
    )
    alerts_evaluate(now=clock)
    assert firing(rule) == []
    pushes.objects.filter(pk=push.pk).update(missing="publish_done")
    alerts_evaluate(now=clock + MIN)
    assert firing(rule) == [f"domain:{ingest.pk}"]
    body = rule.notifications.get().payload
    assert (
        "1 push in the last 30 min is missing 1 stream callback that Live's push history says "
        "was due"
    ) in body["text"]
    # the message names the stream as it is, written out where an email cannot show it
    assert "(live/lost-[U+202E]enod)" in body["text"] and "\u202e" not in body["text"]
    assert "status=missing" in body["links"]["records"]
    # once the push has left the window (the check moved on), the rule recovers
    from dashboard.archive.models import HarvestCursor

    HarvestCursor.objects.filter(domain=ingest).update(pushes_checked_until=clock + 40 * MIN)
    alerts_evaluate(now=clock + 41 * MIN)
    assert firing(rule) == [] and [e for e, _ in sent_events(rule)] == ["firing", "recovered"]
    assert "no push in the last 30 min is missing its stream callbacks" in said(rule, "recovered")


def test_missing_is_not_judged_while_the_push_check_is_behind(archived, clock):
    ingest, pushes = _ingest_checked_until(clock - 31 * MIN)
    rule = make_rule(ingest, condition=AlertRule.Condition.MISSING, window_minutes=30)
    pushes.objects.create(
        domain=ingest,
        app_name="live",
        stream_name="late-check",
        publish_time=clock - 50 * MIN,  # inside the 30 minutes the check has reached
        stop_time=clock - 45 * MIN,
        missing="publish publish_done",
        checked_at=clock,
    )
    alerts_evaluate(now=clock)
    assert firing(rule) == [] and sent_events(rule) == []
    # the same data, once the check has caught up
    from dashboard.archive.models import HarvestCursor

    HarvestCursor.objects.filter(domain=ingest).update(pushes_checked_until=clock - 29 * MIN)
    alerts_evaluate(now=clock)
    assert firing(rule) == [f"domain:{ingest.pk}"]
