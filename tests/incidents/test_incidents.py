"""Incidents through the real path: records in the sandbox, harvested into the archive, grouped
by domain + receiver host + cause; auto-resolve; who may change them; every change audited."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record, harvest_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

HOOK = "https://hooks.incident-test.example.org/live/cb"
HOST = "hooks.incident-test.example.org"
OTHER_HOOK = "https://other.incident-test.example.org/cb"


@pytest.fixture
def quiet(archived, settings):
    """The archive as harvested, without the demo traffic's incidents."""
    settings.INCIDENT_RESOLVE_AFTER = 3
    Incident.objects.all().delete()
    return archived


def deliver(
    n: int = 1,
    *,
    failed: bool,
    minutes_ago: float,
    url: str = HOOK,
    why: str = "",
    stream: str = "s",
    kind: str = "record_started",
):
    """n records of TEAM_DOMAIN to `url`, spaced a second apart, ending `minutes_ago`."""
    end = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=minutes_ago)
    for i in range(n):
        add_record(
            notify_url=url,
            notify_type=kind,
            stream_name=stream,
            notify_result="failed" if failed else "success",
            description=why or ("failed" if failed else "success"),
            notify_time=end - dt.timedelta(seconds=n - 1 - i),
        )


def mine() -> list[Incident]:
    return list(Incident.objects.filter(domain__name=TEAM_DOMAIN).order_by("pk"))


def test_failures_are_grouped_by_host_and_cause(quiet):
    deliver(3, failed=True, minutes_ago=9, why="connect timed out after 5000 ms", stream="a")
    deliver(2, failed=True, minutes_ago=8, why="HTTP 404 Not Found", stream="b")
    deliver(1, failed=True, minutes_ago=8, why="HTTP 500 Internal Server Error")
    deliver(1, failed=True, minutes_ago=7, url=OTHER_HOOK, why="HTTP 404 Not Found")
    harvest_now()

    by_cause = {(i.receiver_host, i.cause): i for i in mine()}
    assert set(by_cause) == {
        (HOST, "Timeout"),
        (HOST, "HTTP 404"),
        (HOST, "HTTP 500"),
        ("other.incident-test.example.org", "HTTP 404"),
    }
    timeouts = by_cause[(HOST, "Timeout")]
    assert timeouts.count == 3 and timeouts.streams == ["live/a"]
    assert timeouts.state == Incident.State.OPEN
    assert timeouts.last_seen - timeouts.first_seen == dt.timedelta(seconds=2)
    samples = ArchivedRecord.objects.filter(pk__in=timeouts.sample_ids)
    assert samples.count() == 3 and {r.failure_class for r in samples} == {"timeout"}

    # A later harvest adds to the open incident; it does not open another.
    deliver(2, failed=True, minutes_ago=6, why="read timeout", stream="c")
    harvest_now()
    timeouts.refresh_from_db()
    assert timeouts.count == 5 and timeouts.streams[:2] == ["live/c", "live/a"]
    assert len(mine()) == 4


def test_a_run_of_deliveries_to_the_host_resolves_it_on_its_own(quiet):
    deliver(2, failed=True, minutes_ago=10, why="HTTP 502 Bad Gateway")
    deliver(2, failed=False, minutes_ago=9)
    # Deliveries to another host say nothing about this one.
    deliver(5, failed=False, minutes_ago=9, url=OTHER_HOOK)
    harvest_now()
    (incident,) = mine()
    assert incident.state == Incident.State.OPEN and incident.success_streak == 2

    deliver(1, failed=False, minutes_ago=8)  # the third in a row (INCIDENT_RESOLVE_AFTER=3)
    harvest_now()
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED and incident.resolved_by is None
    assert incident.resolved_at is not None
    # Automatic resolutions stay on the incident; the audit log is what people did.
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).exists()

    # The same cause again is a new incident; the resolved one keeps its history.
    deliver(1, failed=True, minutes_ago=7, why="HTTP 502 Bad Gateway")
    harvest_now()
    resolved, new = mine()
    assert resolved.pk == incident.pk and resolved.state == Incident.State.RESOLVED
    assert new.state == Incident.State.OPEN and new.count == 1 and new.key == resolved.key


def test_only_deliveries_of_the_kind_that_failed_resolve_it(quiet, client, viewer):
    """A receiver's recording path answers 404 while its snapshot path works: the snapshots,
    delivered to the same host every few seconds, resolved the 404s at once; the next one
    opened the cause again as a new incident (unacknowledged, unmuted: alerting again)."""
    deliver(2, failed=True, minutes_ago=10, why="HTTP 404 Not Found")
    harvest_now()
    (incident,) = mine()
    incident.state, incident.muted_until = Incident.State.MUTED, None  # muted till resolved
    incident.save()
    snapshots = HOOK.replace("/live/cb", "/live/snapshot")
    deliver(5, failed=False, minutes_ago=9, url=snapshots, kind="snapshot")
    deliver(1, failed=True, minutes_ago=8, why="HTTP 404 Not Found")
    deliver(5, failed=False, minutes_ago=7, url=snapshots, kind="snapshot")
    harvest_now()
    (incident,) = mine()
    assert incident.state == Incident.State.MUTED and incident.count == 3
    assert incident.success_streak == 0 and incident.kinds == ["record"]

    client.force_login(viewer)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert re.search(r"<dt>Callbacks</dt><dd>Recording callback</dd>", page)

    # the recording callbacks arrive again (a fixed path, on the same host): resolved
    deliver(3, failed=False, minutes_ago=6, url=HOOK.replace("/cb", "/v2/cb"))
    harvest_now()
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED


def test_a_host_down_for_every_kind_is_back_with_any_kinds_deliveries(quiet):
    deliver(2, failed=True, minutes_ago=10, why="connect timed out after 5000 ms")
    deliver(1, failed=True, minutes_ago=10, why="read timeout", kind="snapshot")
    deliver(3, failed=False, minutes_ago=9, kind="snapshot")
    harvest_now()
    (incident,) = mine()
    assert incident.kinds == ["record", "snapshot"]
    assert incident.state == Incident.State.RESOLVED


def test_a_failure_between_deliveries_starts_the_run_again(quiet):
    deliver(1, failed=True, minutes_ago=10, why="HTTP 503")
    deliver(2, failed=False, minutes_ago=9)
    deliver(1, failed=True, minutes_ago=8, why="HTTP 503")
    deliver(2, failed=False, minutes_ago=7)
    harvest_now()
    (incident,) = mine()
    assert incident.count == 2 and incident.success_streak == 2
    assert incident.state == Incident.State.OPEN


def test_a_late_failure_older_than_the_run_does_not_start_it_again(quiet):
    deliver(1, failed=True, minutes_ago=10, why="HTTP 503")
    deliver(2, failed=False, minutes_ago=8)
    harvest_now()
    (incident,) = mine()
    assert incident.success_streak == 2
    # A record that shows up a harvest late (inside the overlap), older than the last failure
    # the incident knows: the two deliveries after that failure still count.
    deliver(1, failed=True, minutes_ago=11, why="HTTP 503")
    harvest_now()
    incident.refresh_from_db()
    assert incident.count == 2 and incident.success_streak == 2
    deliver(1, failed=False, minutes_ago=7)  # the third in a row
    harvest_now()
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED


def test_a_mute_that_ran_out_opens_again_with_the_next_failure(quiet):
    deliver(1, failed=True, minutes_ago=10, why="connection refused")
    harvest_now()
    (incident,) = mine()
    Incident.objects.filter(pk=incident.pk).update(
        state=Incident.State.MUTED, muted_until=timezone.now() - dt.timedelta(minutes=1)
    )
    incident.refresh_from_db()
    assert incident.effective_state == Incident.State.OPEN  # shown open already
    deliver(1, failed=True, minutes_ago=9, why="connection refused")
    harvest_now()
    incident.refresh_from_db()
    assert incident.state == Incident.State.OPEN and incident.count == 2


# --- what people may do ---------------------------------------------------------------------


@pytest.fixture
def incident(quiet):
    deliver(4, failed=True, minutes_ago=10, why="HTTP 404 Not Found", stream="cam1")
    harvest_now()
    (found,) = mine()
    return found


def act(client, incident, action, **extra):
    return client.post(f"/incidents/{incident.pk}/action/", {"action": action, **extra})


def test_viewers_see_incidents_but_cannot_change_them(client, viewer, incident):
    client.force_login(viewer)
    listing = client.get("/incidents/").content.decode()
    assert TEAM_DOMAIN in listing and "HTTP 404" in listing
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "live/cam1" in page and "Acknowledge" not in page
    assert act(client, incident, "acknowledge").status_code == 403
    assert client.post(f"/incidents/{incident.pk}/note/", {"text": "hi"}).status_code == 403
    incident.refresh_from_db()
    assert incident.state == Incident.State.OPEN and not incident.notes.exists()
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).exists()


def test_a_stream_of_an_incident_opens_its_timeline(client, viewer, incident):
    """Streams affected were plain text: one click now opens everything that happened to the
    stream (the header search's "app/stream") on the incident's domain's family of domains."""
    import html
    import re

    client.force_login(viewer)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    link = re.search(r'<a href="(/search/\?q=live/cam1&amp;domain=[^"]+)"[^>]*>live/cam1</a>', page)
    assert link, page
    timeline = client.get(html.unescape(link.group(1)), follow=True)
    domain = incident.domain.name
    assert timeline.redirect_chain[-1][0] == f"/records/streams/live/cam1/?domain={domain}"
    assert timeline.status_code == 200 and "cam1" in timeline.content.decode()
    assert domain in timeline.context["timeline"].family


def test_an_editor_of_another_team_cannot_change_them(client, other_editor, incident):
    client.force_login(other_editor)
    assert act(client, incident, "resolve").status_code == 403
    incident.refresh_from_db()
    assert incident.state == Incident.State.OPEN


def test_the_domains_editor_acknowledges_and_notes_and_both_are_audited(client, editor, incident):
    client.force_login(editor)
    response = act(client, incident, "acknowledge")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == Incident.State.ACKNOWLEDGED and incident.acknowledged_by == editor
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "by editor at" in page

    client.post(f"/incidents/{incident.pk}/note/", {"text": "Receiver redeployed <b>now</b>"})
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Receiver redeployed &lt;b&gt;now&lt;/b&gt;" in page

    entries = AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).order_by("pk")
    assert [(e.action, e.actor_name, e.domain_name) for e in entries] == [
        ("acknowledge", "editor", TEAM_DOMAIN),
        ("note", "editor", TEAM_DOMAIN),
    ]
    assert entries[0].before["state"] == "open" and entries[0].after["state"] == "acknowledged"


def test_a_lead_mutes_until_a_time_and_bad_times_change_nothing(client, lead, incident):
    client.force_login(lead)
    for value, message in [
        ("", "Say until when"),
        ("2001-01-01T00:00", "in the future"),
        ("2999-01-01T00:00", "at most 90 days"),
        ("not a time", "Enter a valid date/time"),
    ]:
        response = act(client, incident, "mute", muted_until=value)
        assert response.status_code == 400 and message in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == Incident.State.OPEN
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).exists()

    until = timezone.localtime() + dt.timedelta(hours=2)
    response = act(client, incident, "mute", muted_until=until.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == Incident.State.MUTED
    assert abs(incident.muted_until - until) < dt.timedelta(minutes=1)
    # Still failing while muted: still counted, still muted.
    deliver(1, failed=True, minutes_ago=5, why="HTTP 404 Not Found")
    harvest_now()
    incident.refresh_from_db()
    assert incident.state == Incident.State.MUTED and incident.count == 5


def test_reopening_when_a_newer_incident_has_the_cause_is_refused(client, lead, incident):
    client.force_login(lead)
    act(client, incident, "resolve")
    deliver(1, failed=True, minutes_ago=5, why="HTTP 404 Not Found")
    harvest_now()
    assert len(mine()) == 2
    response = act(client, incident, "reopen")
    assert response.status_code == 409
    page = response.content.decode()
    assert "Another incident with the same cause is open" in page
    newer = mine()[1]
    assert f'href="/incidents/{newer.pk}/" id="other-incident">The open one, since' in page
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED
    assert list(
        AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).values_list("action", flat=True)
    ) == ["resolve"]


@pytest.mark.parametrize("action", ["acknowledge", "mute", "resolve"])
def test_a_button_from_before_the_incident_resolved_changes_nothing(client, lead, incident, action):
    """The page was loaded while the incident was open; it resolved on its own, and the cause's
    next incident opened. Acknowledge or Mute from that page brought the resolved one back
    beside the new one (a 500: one active incident per cause); Resolve wrote the person over
    "on its own". Now: refused, said, and the page shows the incident as it is."""
    client.force_login(lead)
    deliver(3, failed=False, minutes_ago=8)
    deliver(1, failed=True, minutes_ago=5, why="HTTP 404 Not Found")
    harvest_now()
    old, new = mine()
    assert old.pk == incident.pk and old.state == Incident.State.RESOLVED and not old.resolved_by
    assert new.state == Incident.State.OPEN

    until = (timezone.localtime() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = act(client, incident, action, muted_until=until)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This incident is resolved" in page and "nothing changed" in page
    assert "on its own at" in page and "Reopen</button>" in page
    assert [(i.pk, i.state, i.resolved_by, i.muted_until) for i in mine()] == [
        (old.pk, Incident.State.RESOLVED, None, None),
        (new.pk, Incident.State.OPEN, None, None),
    ]
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).exists()


def test_a_second_acknowledgement_or_reopening_is_told_not_done(client, lead, editor, incident):
    client.force_login(editor)
    assert act(client, incident, "acknowledge").status_code == 302
    client.force_login(lead)
    response = act(client, incident, "acknowledge")
    assert response.status_code == 409
    assert "editor acknowledged this incident already" in response.content.decode()
    incident.refresh_from_db()
    assert incident.acknowledged_by == editor

    response = act(client, incident, "reopen")
    assert response.status_code == 409
    assert "This incident is not resolved" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == Incident.State.ACKNOWLEDGED and incident.acknowledged_by == editor
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).count() == 1


def test_one_cause_reopened_at_once_from_several_processes_is_reopened_once(gunicorn, synced):
    """Four people reopen four resolved incidents of one cause at once, each on a server process
    of its own. Each saw no other open incident of the cause, and the database's one-active-rule
    made the rest 500s; now they take turns: one reopened, three told, one audit entry."""
    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    old = [
        Incident.objects.create(
            domain=domain,
            receiver_host=HOST,
            failure_class="http_4xx",
            http_status=404,
            key=f"{domain.pk}|{HOST}|http_4xx|404",
            state=Incident.State.RESOLVED,
            first_seen=now - dt.timedelta(hours=n + 1),
            last_seen=now - dt.timedelta(hours=n),
            resolved_at=now - dt.timedelta(hours=n),
            count=1,
        )
        for n in range(4)
    ]
    sessions = [signed_in_session(gunicorn, make_user(f"lead{n}", LEAD)) for n in range(4)]

    def reopen(pair):
        session, incident = pair
        answer = session.post(f"/incidents/{incident.pk}/action/", data={"action": "reopen"})
        return answer.status_code, "incident with the same cause is open" in answer.text

    sends = [lambda pair=pair: reopen(pair) for pair in zip(sessions, old, strict=True)]
    answers = sorted(sent_at_one_lock("incidents_incident", [i.pk for i in old], *sends))
    for session in sessions:
        session.close()
    assert answers == [(302, False)] + [(409, True)] * 3, answers
    states = Incident.objects.filter(key=old[0].key).values_list("state", flat=True)
    assert sorted(states) == ["open"] + ["resolved"] * 3
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).count() == 1


def test_a_reopening_while_the_harvest_opens_the_causes_next_incident_is_told(gunicorn, synced):
    """The harvest opens a cause's next incident holding the domain's cursor. A reopening of the
    cause's resolved one at that moment waits for the cursor, then sees the new one: it is told
    and linked to it, and the cause has one active incident. (The test holds the cursor until
    the reopening waits on it, then writes the incident as the harvest would; on SQLite, where
    writers take turns, the harvest's incident is there first.)"""
    from django.db import connection

    from dashboard.archive.models import HarvestCursor
    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    cursor, _made = HarvestCursor.objects.get_or_create(domain=domain)
    now = timezone.now()
    resolved = Incident.objects.create(
        domain=domain,
        receiver_host=HOST,
        failure_class="timeout",
        key=f"{domain.pk}|{HOST}|timeout|",
        state=Incident.State.RESOLVED,
        first_seen=now - dt.timedelta(hours=2),
        last_seen=now - dt.timedelta(hours=1),
        resolved_at=now - dt.timedelta(hours=1),
        count=2,
    )
    # the cause's next incident, as the harvest writes it: a copy of the resolved one, open
    columns = [f.column for f in Incident._meta.concrete_fields if f.column != "id"]
    values = [
        "'open'" if c == "state" else "NULL" if c in ("resolved_at", "resolved_by_id") else c
        for c in columns
    ]
    harvest_opens = (  # the model's own column names, no input
        f"INSERT INTO incidents_incident ({', '.join(columns)})"  # noqa: S608
        f" SELECT {', '.join(values)} FROM incidents_incident WHERE id = %s"
    )
    session = signed_in_session(gunicorn, make_user("boss", LEAD))
    path = f"/incidents/{resolved.pk}/action/"
    if connection.vendor == "postgresql":
        (answer,) = sent_at_one_lock(
            "archive_harvestcursor",
            [cursor.pk],
            lambda: session.post(path, data={"action": "reopen"}),
            then=harvest_opens,
            params=[resolved.pk],
        )
    else:
        with connection.cursor() as sql:
            sql.execute(harvest_opens, [resolved.pk])
        answer = session.post(path, data={"action": "reopen"})
    session.close()
    assert answer.status_code == 409, answer.text[:500]
    assert "Another incident with the same cause is open" in answer.text
    opened = Incident.objects.exclude(pk=resolved.pk).get(key=resolved.key)
    assert f'href="/incidents/{opened.pk}/" id="other-incident"' in answer.text
    states = sorted(Incident.objects.filter(key=resolved.key).values_list("state", flat=True))
    assert states == ["open", "resolved"]


def test_one_incident_acknowledged_at_once_from_several_processes_is_acknowledged_once(
    gunicorn, synced
):
    """Four leads press Acknowledge on one incident at once, on four server processes: one
    acknowledges it, three are told who did (each had waited for the row, then wrote itself
    over the first: four audit entries, the last writer named)."""
    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    now = timezone.now()
    incident = Incident.objects.create(
        domain=domain,
        receiver_host=HOST,
        failure_class="timeout",
        key=f"{domain.pk}|{HOST}|timeout|",
        first_seen=now - dt.timedelta(hours=1),
        last_seen=now,
        count=3,
    )
    leads = [make_user(f"lead{n}", LEAD) for n in range(4)]
    sessions = [signed_in_session(gunicorn, lead) for lead in leads]

    def acknowledge(session):
        answer = session.post(f"/incidents/{incident.pk}/action/", data={"action": "acknowledge"})
        return answer.status_code, "acknowledged this incident already" in answer.text

    sends = [lambda session=session: acknowledge(session) for session in sessions]
    answers = sorted(sent_at_one_lock("incidents_incident", [incident.pk], *sends))
    for session in sessions:
        session.close()
    assert answers == [(302, False)] + [(409, True)] * 3, answers
    incident.refresh_from_db()
    assert incident.state == Incident.State.ACKNOWLEDGED and incident.acknowledged_by in leads
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.INCIDENT).count() == 1


def test_unknown_actions_and_incidents(client, lead, incident):
    client.force_login(lead)
    assert act(client, incident, "delete").status_code == 400
    assert client.get("/incidents/999999999/").status_code == 404
    assert client.get("/incidents/?state=sleeping").status_code == 400


def test_the_list_is_open_first_then_newest_and_filters(client, viewer, quiet):
    deliver(1, failed=True, minutes_ago=12, why="HTTP 404")
    deliver(1, failed=True, minutes_ago=11, why="timeout")
    deliver(1, failed=True, minutes_ago=10, why="HTTP 500")
    harvest_now()
    by_cause = {i.cause: i for i in mine()}
    old404, timeout, new500 = by_cause["HTTP 404"], by_cause["Timeout"], by_cause["HTTP 500"]
    Incident.objects.filter(pk=new500.pk).update(state=Incident.State.RESOLVED)
    client.force_login(viewer)
    page = client.get("/incidents/").context["page"]
    order = [i.pk for i in page.object_list if i.domain.name == TEAM_DOMAIN]
    assert order == [timeout.pk, old404.pk, new500.pk]
    page = client.get(f"/incidents/?domain={TEAM_DOMAIN[:8]}&state=resolved").context["page"]
    assert [i.pk for i in page.object_list] == [new500.pk]
    team = Domain.objects.get(name=TEAM_DOMAIN).team
    page = client.get(f"/incidents/?team={team.pk}").context["page"]
    assert {i.domain.name for i in page.object_list} == {TEAM_DOMAIN}


def test_an_incident_whose_mute_ran_out_is_open_in_the_list_and_its_filter(client, viewer, quiet):
    """Muted until an hour ago, and no failure since: it is open again (its badge was red), yet
    the list said "Muted", sorted it below the acknowledged ones, and "State: Open" left it out
    — a lead checking what is open missed it."""
    deliver(1, failed=True, minutes_ago=12, why="HTTP 404")
    deliver(1, failed=True, minutes_ago=11, why="timeout")
    deliver(1, failed=True, minutes_ago=10, why="HTTP 500")
    harvest_now()
    by_cause = {i.cause: i for i in mine()}
    ran_out, acknowledged, muted = by_cause["HTTP 404"], by_cause["Timeout"], by_cause["HTTP 500"]
    now = timezone.now()
    Incident.objects.filter(pk=ran_out.pk).update(
        state=Incident.State.MUTED, muted_until=now - dt.timedelta(hours=1)
    )
    Incident.objects.filter(pk=acknowledged.pk).update(state=Incident.State.ACKNOWLEDGED)
    Incident.objects.filter(pk=muted.pk).update(
        state=Incident.State.MUTED, muted_until=now + dt.timedelta(hours=1)
    )
    client.force_login(viewer)
    ours = f"domain={TEAM_DOMAIN}"

    def listed(query: str) -> list[int]:
        return [i.pk for i in client.get(f"/incidents/?{ours}{query}").context["page"].object_list]

    assert listed("") == [ran_out.pk, acknowledged.pk, muted.pk]
    assert listed("&state=open") == [ran_out.pk]
    assert listed("&state=muted") == [muted.pk]
    page = client.get(f"/incidents/?{ours}&state=open").content.decode()
    row = page[page.index(f'href="/incidents/{ran_out.pk}/"') :].split("</tr>")[0]
    assert '<span class="badge bad">Open</span>' in row and "muted until" in row
    detail = client.get(f"/incidents/{ran_out.pk}/").content.decode()
    assert '<span class="badge bad">Open</span>' in detail and "muted until" in detail


def test_the_domain_page_shows_its_open_incidents(client, viewer, incident):
    client.force_login(viewer)
    body = client.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    section = body[body.index('id="open-incidents"') :]
    assert "1 open incident" in section and "HTTP 404" in section and HOST in section
    assert f"/incidents/{incident.pk}/" in section


def test_a_resolved_incidents_link_ends_with_its_last_failure(quiet, client, viewer):
    """A resolved incident's "Its failed callbacks" ran until now: the cause's failures of
    every later incident came with it (5 failures opened 8). It ends with its last failure."""
    deliver(5, failed=True, minutes_ago=9, why="HTTP 502 Bad Gateway", stream="then")
    deliver(3, failed=False, minutes_ago=7)  # resolves it (INCIDENT_RESOLVE_AFTER=3)
    deliver(3, failed=True, minutes_ago=3, why="HTTP 502 Bad Gateway", stream="now")
    harvest_now()
    resolved, again = [i for i in mine() if i.cause == "HTTP 502"]
    assert resolved.state == Incident.State.RESOLVED and again.state == Incident.State.OPEN
    client.force_login(viewer)
    for incident, count in ((resolved, 5), (again, 3)):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
        link = re.search(r'href="(/records/\?[^"]+)">Its failed callbacks', page).group(1)
        records = client.get(html.unescape(link))
        assert records.context["total"] == incident.count == count


def test_two_incidents_of_one_cause_in_one_minute_each_link_their_own(quiet, client, viewer):
    """Two failures, three deliveries (resolved), a failure again: all within one minute. The
    links were whole minutes: each opened the other's failures too (3 for 2, and 3 for 1)."""
    minute = (timezone.now() - dt.timedelta(minutes=5)).replace(second=0, microsecond=0)
    for second, failed in ((5, True), (6, True), (20, False), (21, False), (22, False), (40, True)):
        add_record(
            notify_url=HOOK,
            stream_name="s",
            notify_result="failed" if failed else "success",
            description="HTTP 502 Bad Gateway" if failed else "success",
            notify_time=minute + dt.timedelta(seconds=second),
        )
    harvest_now()
    # in the order they began (their numbers need not follow it)
    resolved, again = sorted(
        (i for i in mine() if i.cause == "HTTP 502"), key=lambda i: i.first_seen
    )
    assert (resolved.state, again.state) == (Incident.State.RESOLVED, Incident.State.OPEN)
    client.force_login(viewer)
    for incident, count in ((resolved, 2), (again, 1)):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
        link = re.search(r'href="(/records/\?[^"]+)">Its failed callbacks', page).group(1)
        assert client.get(html.unescape(link)).context["total"] == incident.count == count


def test_an_incidents_link_opens_its_receivers_failures_only(quiet, client, viewer):
    """Two receivers of one domain failing alike are two incidents; each one's link opened
    both receivers' failures (4 for an incident of 3)."""
    deliver(3, failed=True, minutes_ago=4, why="HTTP 404 Not Found", stream="a")
    deliver(1, failed=True, minutes_ago=4, url=OTHER_HOOK, why="HTTP 404 Not Found")
    harvest_now()
    client.force_login(viewer)
    incidents = [i for i in mine() if i.cause == "HTTP 404"]
    assert sorted(i.count for i in incidents) == [1, 3]
    for incident in incidents:
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
        link = re.search(r'href="(/records/\?[^"]+)">Its failed callbacks', page).group(1)
        assert client.get(html.unescape(link)).context["total"] == incident.count


def test_an_incidents_link_opens_exactly_its_failures(quiet, client, viewer):
    """ "52 failures" once opened 46: the link's window ended at the minute it was drawn."""
    deliver(12, failed=True, minutes_ago=0.1, why="HTTP 502 Bad Gateway", stream="link-check")
    harvest_now()
    (incident,) = [i for i in mine() if i.cause == "HTTP 502"]
    client.force_login(viewer)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    link = re.search(r'href="(/records/\?[^"]+)">Its failed callbacks', page).group(1)
    link = link.replace("&amp;", "&")
    records = client.get(link)
    assert records.status_code == 200
    assert records.context["total"] == incident.count == 12


def test_paging_while_receivers_fail_shows_each_incident_once(client, lead, quiet):
    """A lead pages through the incidents while receivers go on failing: an incident that
    failed again since page 1 was read jumps to the top, a new one comes — and page 2 showed
    two rows of page 1 again (pushed down), and would never show the one that jumped."""
    from tests.conftest import archive

    domain = Domain.objects.get(name=TEAM_DOMAIN)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)

    def fail(host: int, at: dt.datetime):
        archive(domain, ("failed", at), url=f"https://h{host:02}.paging.example.org/cb")

    for host in range(60):
        fail(host, start + dt.timedelta(minutes=host))
    client.force_login(lead)

    def listed(response) -> list[int]:
        assert response.status_code == 200
        body = response.content.decode()
        return [int(pk) for pk in re.findall(r'<td class="wide"><a href="/incidents/(\d+)/"', body)]

    first = client.get("/incidents/")
    page_one = listed(first)
    as_of = re.search(r'href="\?page=2&amp;as_of=(\d+)"', first.content.decode()).group(1)
    page_two_then = listed(client.get(f"/incidents/?page=2&as_of={as_of}"))
    assert len(page_one) == 50 and len(page_two_then) == 10
    # meanwhile: the oldest (on page 2) fails again, and a new receiver fails
    fail(0, start + dt.timedelta(minutes=90))
    fail(60, start + dt.timedelta(minutes=91))
    moved = Incident.objects.get(receiver_host="h00.paging.example.org").pk
    second = client.get(f"/incidents/?page=2&as_of={as_of}")
    page_two = listed(second)
    assert not set(page_two) & set(page_one)
    assert page_two == [pk for pk in page_two_then if pk != moved]
    note = html.unescape(re.sub(r"<[^>]+>", "", second.content.decode()))
    assert "2 incidents changed since the first page was read" in note
    assert "left out of these pages" in note
    # the first page, read now, has both on top
    assert listed(client.get("/incidents/"))[:2] == [
        Incident.objects.get(receiver_host="h60.paging.example.org").pk,
        moved,
    ]
    # what is no moment is read as now; a moment ahead of now is now
    for junk in ("abc", "-1", "99999999999999999999", "999999999999999999", "0"):
        assert client.get(f"/incidents/?page=2&as_of={junk}").status_code == 200
