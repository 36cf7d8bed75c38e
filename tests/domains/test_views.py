"""Domain pages as a user sees them: list filters, sorting, paging, editing, banners."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.accounts.roles import LEAD
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain, Team
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxRecordConfig
from dashboard.sandbox.operations import HANDLERS
from dashboard.upstream import get_client
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, held_rows, hidden_value, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

HX = {"HX-Request": "true"}


@pytest.fixture
def as_viewer(client, viewer, synced):
    client.force_login(viewer)
    return client


@pytest.fixture
def as_editor(client, editor):
    client.force_login(editor)
    return client


def names(response):
    return [d.name for d in response.context["page"].object_list]


def test_list_shows_each_domains_callbacks_at_a_glance(as_viewer):
    response = as_viewer.get("/domains/")
    body = response.content.decode()
    assert response.status_code == 200 and len(names(response)) == 11
    assert "hooks.example-shop.com" in body and "auth on" in body and "status on" in body
    assert "Sh0pKey" not in body  # never a key on a page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=sportsnow", ["ingest.sportsnow.tv", "stream.sportsnow.tv"]),
        ("type=liveEdge", ["ingest.sportsnow.tv", "push.edu-streams.cn", "push.example-shop.com"]),
        ("status=offline", ["live.newsroom.example.org", "push.edu-streams.cn"]),
        ("configured=both", ["live.example-shop.com", "stream.sportsnow.tv"]),
        (
            "configured=snapshot",
            ["live.example-shop.com", "stream.sportsnow.tv", "video.concerts.example.com"],
        ),
        ("configured=none&type=liveVideo", ["cdn.webinar-hub.com", "live.newsroom.example.org"]),
    ],
)
def test_list_filters(as_viewer, query, expected):
    assert names(as_viewer.get(f"/domains/?{query}")) == expected


def test_list_filter_by_team(as_viewer, synced):
    team = Team.objects.get(name="Shop streaming")
    assert names(as_viewer.get(f"/domains/?team={team.pk}")) == [TEAM_DOMAIN]


def test_list_sorting(as_viewer):
    asc = names(as_viewer.get("/domains/?sort=name"))
    desc = names(as_viewer.get("/domains/?sort=-name"))
    assert asc == sorted(asc) and desc == list(reversed(asc))
    by_status = names(as_viewer.get("/domains/?sort=status"))
    assert by_status[0] == "pull.gamearena.net"  # configuring < offline < online


def test_a_domain_never_synced_is_the_oldest_sync_on_either_database(as_viewer, synced):
    """Sorted by the last sync, oldest first, a domain never synced comes first, and last
    newest first: PostgreSQL put it at the other end from SQLite (NULL sorts as the largest
    there, the smallest here)."""
    Domain.objects.create(name="never.example.com", domain_type="liveVideo")
    oldest_first = names(as_viewer.get("/domains/?sort=synced"))
    newest_first = names(as_viewer.get("/domains/?sort=-synced"))
    assert oldest_first[0] == "never.example.com" and newest_first[-1] == "never.example.com"
    assert len(oldest_first) == 12


def test_list_paging_keeps_filters_and_htmx_gets_only_results(as_viewer):
    Domain.objects.bulk_create(
        [
            Domain(name=f"extra{i:02d}.example.com", domain_type="liveVideo", status="online")
            for i in range(30)
        ]
    )
    first = as_viewer.get("/domains/?q=extra")
    assert len(names(first)) == 25 and 'href="?q=extra&amp;page=2"' in first.content.decode()
    second = as_viewer.get("/domains/?q=extra&page=2", headers=HX)
    body = second.content.decode()
    assert names(second) == [f"extra{i:02d}.example.com" for i in range(25, 30)]
    assert "<html" not in body and 'id="results"' in body
    assert second["Vary"] and "HX-Request" in second["Vary"]


@pytest.mark.parametrize(
    "query", ["type=bogus", "page=abc", "page=0", "status=deleted", "q=" + "x" * 300, "team=999999"]
)
def test_list_bad_filters_are_400_with_message(as_viewer, query):
    response = as_viewer.get(f"/domains/?{query}")
    assert response.status_code == 400
    assert "Please fix the filters" in response.content.decode()


def test_detail_masks_keys_and_shows_the_5_minute_note(as_viewer):
    body = as_viewer.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert "https://hooks.example-shop.com/live/record" in body
    assert "••••" in body and "Sh0pKey2024" not in body
    assert "up to 5 minutes" in body
    assert f"/records/?domain={TEAM_DOMAIN}" in body


def test_unknown_domain_is_404(as_viewer):
    assert as_viewer.get("/domains/nope.example.com/").status_code == 404


def test_a_domain_typed_in_another_case_is_found(as_viewer):
    response = as_viewer.get("/domains/Live.Example-Shop.COM/")
    assert response.status_code == 302 and response["Location"] == f"/domains/{TEAM_DOMAIN}/"
    records = as_viewer.get("/records/?domain=LIVE.example-shop.com&window=1h")
    assert records.status_code == 200 and records.context["filters"]["domain"] == TEAM_DOMAIN


def test_another_teams_domain_says_why_it_is_read_only(client, other_editor):
    client.force_login(other_editor)
    body = client.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert "/record/edit/" not in body
    assert "You can read this domain but not change it:" in body
    assert f"{TEAM_DOMAIN} belongs to team Shop streaming, and you are not in it." in body


def test_generating_a_key_fills_only_the_key_field(as_editor):
    url = reverse("key_generate", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = as_editor.get(url, headers=HX)
    body = response.content.decode().strip()
    assert body.startswith("<input") and body.count("<input") == 1
    assert 'id="id_notify_auth_key"' in body
    key = re.search(r'value="([A-Za-z0-9]{32})"', body).group(1)
    assert key not in as_editor.get(url, headers=HX).content.decode()  # a new one each time
    edit = as_editor.get(reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"}))
    button = re.search(r'hx-get="([^"]+)" hx-target="#id_notify_auth_key"', edit.content.decode())
    assert button and button.group(1) == url  # the form's button swaps the key field alone


def test_editor_saves_a_recording_callback(as_editor):
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    form = as_editor.get(url)
    version = form.context["form"].initial["version"]
    response = as_editor.post(
        url,
        {
            "notify_url": "https://new.example.com/cb",
            "need_status_notify": "on",
            "version": version,
        },
        follow=True,
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Saved." in body and "https://new.example.com/cb" in body
    assert (
        SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
        == "https://new.example.com/cb"
    )
    history = body[body.index('id="history"') :]
    assert re.search(r'<td data-label="Who">editor\b', history)  # the history shows who


def test_unsafe_url_is_refused_beside_the_field_without_calling_upstream(as_editor):
    sandbox_app.stats.reset()
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = as_editor.post(url, {"notify_url": "http://0x7f000001/cb", "version": 1}, headers=HX)
    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_notify_url-error"' in body and "loopback" in body
    assert 'value="http://0x7f000001/cb"' in body  # the input is kept
    assert sandbox_app.stats.calls == {}


@pytest.mark.parametrize(
    "url, named",
    [
        ("https://hooks.example-shop.com/li\u200bve/record", "the first is U+200B."),  # pasted
        ("https://hooks.example-shop.com/café", "the first is “é” (U+00E9)."),
    ],
)
def test_a_character_to_encode_is_named_even_when_it_draws_nothing(as_editor, url, named):
    """A zero-width space pasted with a URL: the message said the URL "contains characters
    that must be URL-encoded", and the editor saw none to encode."""
    sandbox_app.stats.reset()
    edit = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = as_editor.post(edit, {"notify_url": url, "version": 1}, headers=HX)
    assert response.status_code == 400
    assert f"must be URL-encoded (percent-encoded): {named}" in response.content.decode()
    assert sandbox_app.stats.calls == {}


@pytest.mark.parametrize(
    "typed, says, written",
    [
        # a Chinese (IDN) host: "must be URL-encoded", and once encoded "must not be
        # percent-encoded" — a dead end. Its ASCII form is the URL to send.
        (
            "https://回调.example-shop.com/live/record",
            "The URL's host name has characters beyond ASCII (the first is “回” (U+56DE)): "
            "written in its ASCII (IDNA) form, the URL reads ",
            "https://xn--zbss05j.example-shop.com/live/record",
        ),
        # a look-alike letter in the host shows as what it is
        (
            "https://hооks.example-shop.com/live/record",
            "(the first is “о” (U+043E))",
            "https://xn--hks-seda.example-shop.com/live/record",
        ),
        # a path and a query in Chinese: encoded as UTF-8
        (
            "https://hooks.example-shop.com/回调?来源=直播",
            "the first is “回” (U+56DE). Encoded, it reads ",
            "https://hooks.example-shop.com/%E5%9B%9E%E8%B0%83?%E6%9D%A5%E6%BA%90=%E7%9B%B4%E6%92%AD",
        ),
    ],
)
def test_a_url_in_another_script_is_refused_with_how_to_write_it(as_editor, typed, says, written):
    sandbox_app.stats.reset()
    edit = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = as_editor.post(edit, {"notify_url": typed, "version": 1}, headers=HX)
    body = html.unescape(response.content.decode())
    assert response.status_code == 400 and says in body and written in body
    assert sandbox_app.stats.calls == {}
    # what it says to write is a URL that saves, as it reads
    response = as_editor.post(edit, {"notify_url": written, "version": 1}, headers=HX)
    assert response.status_code in (200, 204, 302), html.unescape(response.content.decode())
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == written


def test_key_required_when_auth_on_and_none_set(client, lead, synced):
    client.force_login(lead)
    url = reverse("config_edit", kwargs={"name": "cdn.webinar-hub.com", "kind": "snapshot"})
    response = client.post(
        url, {"notify_url": "https://x.example.com/s", "notify_req_auth": "on", "version": 0}
    )
    assert response.status_code == 400 and "An auth key is required" in response.content.decode()
    response = client.post(
        url,
        {
            "notify_url": "https://x.example.com/s",
            "notify_req_auth": "on",
            "notify_auth_key": "short!",
            "version": 0,
        },
    )
    assert "16 to 32 letters and digits" in response.content.decode()


def test_generated_key_is_shown_once_then_masked(client, lead, synced):
    client.force_login(lead)
    url = reverse("config_edit", kwargs={"name": "cdn.webinar-hub.com", "kind": "snapshot"})
    generated = client.get(url + "?generate=1").context["form"].initial["notify_auth_key"]
    assert len(generated) == 32 and generated.isalnum()
    response = client.post(
        url,
        {
            "notify_url": "https://x.example.com/s",
            "notify_req_auth": "on",
            "notify_auth_key": generated,
            "version": 0,
        },
    )
    assert response.status_code == 200 and generated in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    again = client.get("/domains/cdn.webinar-hub.com/").content.decode()
    assert generated not in again and "••••" in again


def test_htmx_save_redirects_with_hx_redirect(as_editor):
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    response = as_editor.post(
        url, {"notify_url": "https://hx.example.com/cb", "version": version}, headers=HX
    )
    assert response["HX-Redirect"] == f"/domains/{TEAM_DOMAIN}/" and not response.content


def test_stale_form_is_held_with_both_values_and_a_second_save_applies_it(as_editor):
    """A form older than someone's save is held like every stale form: who saved when, where
    the two differ (labels and words, never attribute names or True), the typed values kept
    in the form over the config as it is now. The conflict view's own Save sent the old
    version again, so it could only ever conflict; its second Save applies it now."""
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    lead = Client()
    lead.force_login(make_user("lead2", LEAD))
    first = {"notify_url": "https://first.example.com/cb", "version": version}
    assert lead.post(url, {**first, "need_status_notify": "on"}).status_code == 302
    mine = {"notify_url": "https://second.example.com/cb", "version": version}
    response = as_editor.post(url, mine)
    body = response.content.decode()
    assert response.status_code == 409
    assert "This config was changed after you opened the form." in body
    assert "lead2 saved it at" in body
    assert held_rows(body) == [
        ("Notify URL", "https://second.example.com/cb", "https://first.example.com/cb"),
        ("Status notifications", "off", "on"),
    ]
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == (
        "https://first.example.com/cb"
    )
    again = hidden_value(body, "version")
    assert again == str(version + 1)
    assert 'value="https://second.example.com/cb"' in body  # what was typed, in the form
    assert as_editor.post(url, {**mine, "version": again}).status_code == 302
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == (
        "https://second.example.com/cb"
    )


def test_a_change_made_in_the_console_holds_the_form(as_editor):
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url="https://console.example.com/x"
    )
    mine = {"notify_url": "https://mine.example.com/cb", "need_status_notify": "on"}
    mine["notify_req_auth"] = "on"  # as the demo has them: only the address differs
    response = as_editor.post(url, {**mine, "version": version})
    body = response.content.decode()
    assert response.status_code == 409
    assert "This config was changed outside the dashboard after you opened the form." in body
    assert "saved it at" not in body  # not "sync saved it", as the drift's entry names it
    assert held_rows(body) == [
        ("Notify URL", "https://mine.example.com/cb", "https://console.example.com/x"),
    ]
    again = hidden_value(body, "version")
    assert as_editor.post(url, {**mine, "version": again}).status_code == 302
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == (
        "https://mine.example.com/cb"
    )


def test_a_key_typed_in_a_held_form_is_listed_as_a_new_key(as_editor):
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    as_editor.post(url, {"notify_url": "https://first.example.com/cb", "version": version})
    key = "k" * 16
    mine = {"notify_url": "https://first.example.com/cb", "notify_auth_key": key}
    body = as_editor.post(url, {**mine, "version": version}).content.decode()
    assert "You saved it at" in body
    assert held_rows(body) == [("Auth key", "new key", "set")]
    assert key not in body.split('id="conflict"')[1].split("</table>")[0]


def post_record_edit(client, notify_url: str):
    """Submit the recording-callback form for TEAM_DOMAIN at its current version."""
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    response = client.post(url, {"notify_url": notify_url, "version": version})
    return response, response.content.decode()


def test_upstream_error_shows_code_message_request_id_and_keeps_input(as_editor):
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:error=1")
    response, body = post_record_edit(as_editor, "https://kept.example.com/cb")
    assert response.status_code == 502
    assert "RequestId" in body and ("InternalError" in body or "ServiceUnavailable" in body)
    # A 5xx is not a refusal: the service checked with a Describe that nothing changed.
    assert "The Live API did not answer." in body and "Nothing was changed." in body
    assert 'value="https://kept.example.com/cb"' in body
    assert AuditEntry.objects.filter(outcome="failed").count() == 1


def test_when_the_outcome_cannot_be_checked_the_editor_is_told_so(as_editor, monkeypatch):
    # The Update's answer is lost, and from then on the Live API does not answer Describe.
    update = HANDLERS["UpdateLiveRecordNotifyConfig"]

    def update_then_outage(params):
        try:
            return update(params)
        finally:
            sandbox_app.faults.configure(
                "UpdateLiveRecordNotifyConfig:lost=1;DescribeLiveRecordNotifyConfig:error=1"
            )

    monkeypatch.setitem(HANDLERS, "UpdateLiveRecordNotifyConfig", update_then_outage)
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:lost=1")
    response, body = post_record_edit(as_editor, "https://maybe.example.com/cb")
    assert response.status_code == 502 and "The Live API did not answer." in body
    assert "Whether the change was applied could not be checked" in body
    assert "Nothing was changed" not in body
    assert 'value="https://maybe.example.com/cb"' in body


def test_a_refusal_is_reported_as_one(as_editor):
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:throttle=1")
    response, body = post_record_edit(as_editor, "https://t.example.com/cb")
    assert response.status_code == 502 and "Throttling.User" in body
    assert "The Live API refused the change." in body and "Nothing was changed." in body


def test_delete_asks_for_confirmation_first(as_editor):
    url = reverse("config_delete", kwargs={"name": TEAM_DOMAIN, "kind": "snapshot"})
    page = as_editor.get(url)
    assert page.status_code == 200 and "Delete the snapshot callback?" in page.content.decode()
    version = Domain.objects.get(name=TEAM_DOMAIN).version("snapshot")
    response = as_editor.post(url, {"version": version}, follow=True)
    assert "Deleted." in response.content.decode()
    assert Domain.objects.get(name=TEAM_DOMAIN).snapshot_config_or_none is None


def test_a_delete_page_older_than_a_change_shows_the_config_as_it_is_then_deletes_it(as_editor):
    """The delete page refused a version older than someone's change, then showed the old
    address and kept the old version: Delete could only be refused again."""
    url = reverse("config_delete", kwargs={"name": TEAM_DOMAIN, "kind": "snapshot"})
    edit = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "snapshot"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("snapshot")
    lead = Client()
    lead.force_login(make_user("lead2", LEAD))
    changed = {"notify_url": "https://changed.example.com/snap", "notify_req_auth": "on"}
    assert lead.post(edit, {**changed, "version": version}).status_code == 302
    response = as_editor.post(url, {"version": version})
    body = response.content.decode()
    assert response.status_code == 409
    assert "This config was changed after you opened the form." in body
    assert "https://changed.example.com/snap" in body
    assert hidden_value(body, "version") == str(version + 1)
    answer = as_editor.post(url, {"version": hidden_value(body, "version")}, follow=True)
    assert "Deleted." in answer.content.decode()
    assert Domain.objects.get(name=TEAM_DOMAIN).snapshot_config_or_none is None


def test_reveal_shows_key_and_audits(as_editor):
    response = as_editor.post(
        reverse("key_reveal", kwargs={"name": TEAM_DOMAIN, "kind": "record"}), headers=HX
    )
    assert "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditEntry.objects.filter(action="reveal", actor__username="editor").count() == 1


def test_refresh_failure_keeps_page_and_shows_message(as_viewer):
    sandbox_app.faults.configure("error=1")
    response = as_viewer.post(f"/domains/{TEAM_DOMAIN}/refresh/", follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "The Live API said" in body and "RequestId" in body
    assert "https://hooks.example-shop.com/live/record" in body  # cached data still shown


def test_degraded_banner_when_circuit_is_open(as_viewer):
    breaker = get_client().breaker
    for _ in range(breaker.threshold):
        breaker.record(False)
    body = as_viewer.get("/domains/").content.decode()
    assert "The Live API is failing right now" in body
    assert "hooks.example-shop.com" in body


def test_sync_all_pressed_again_follows_the_run_under_way(client, lead, synced):
    """A second press (another tab, another lead) while a sync is queued or running: the same
    run, said so — not a second full sync of every domain against the Live API's limit."""
    from dashboard.domains.models import SyncRun

    client.force_login(lead)
    first = client.post("/domains/sync/")
    run = SyncRun.objects.get()
    client.force_login(make_user("lee", LEAD))
    again = client.post("/domains/sync/", follow=True)
    assert SyncRun.objects.count() == 1
    assert again.redirect_chain == [(first["Location"], 302)]
    assert "A sync of every domain, started by lead at" in again.content.decode()
    SyncRun.objects.filter(pk=run.pk).update(state="done")
    client.post("/domains/sync/")
    assert SyncRun.objects.count() == 2  # a finished run leaves room for a new one


def test_a_sync_run_the_worker_never_took_does_not_block_for_ever(client, lead, synced):
    import datetime as dt

    from django.utils import timezone

    from dashboard.domains.models import SyncRun

    stuck = SyncRun.objects.create(started_by=lead)
    SyncRun.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(minutes=31))
    client.force_login(lead)
    answer = client.post("/domains/sync/")
    new = SyncRun.objects.get(state="queued")
    assert new.pk != stuck.pk and answer["Location"] == f"/domains/sync/{new.pk}/"
    stuck.refresh_from_db()
    assert stuck.state == "failed" and "No word from the background worker" in stuck.message
    page = client.get(f"/domains/sync/{stuck.pk}/").content.decode()
    assert "No word from the background worker for 30 minutes" in page
    # a worker that comes back late leaves it as it is: the new run does the work
    from dashboard.domains.tasks import sync_all_domains

    assert sync_all_domains.call(stuck.pk) == {"ok": False, "skipped": True}
    stuck.refresh_from_db()
    assert stuck.state == "failed"


def test_a_long_sync_that_keeps_reporting_is_followed_not_marked_failed(client, lead, synced):
    """A sync of many thousand domains runs for over 30 minutes: as long as its worker reports
    progress, a press of "Sync all" follows it (it was marked failed, and a second full sync
    started alongside it)."""
    import datetime as dt

    from django.utils import timezone

    from dashboard.domains.models import SyncRun

    now = timezone.now()
    long = SyncRun.objects.create(started_by=lead, state="running", total=40_000, done=39_000)
    SyncRun.objects.filter(pk=long.pk).update(
        created_at=now - dt.timedelta(minutes=50), reported_at=now - dt.timedelta(minutes=1)
    )
    client.force_login(make_user("lee", LEAD))
    answer = client.post("/domains/sync/", follow=True)
    assert answer.redirect_chain == [(f"/domains/sync/{long.pk}/", 302)]
    assert "A sync of every domain, started by lead at" in answer.content.decode()
    assert list(SyncRun.objects.values_list("pk", "state")) == [(long.pk, "running")]
    # silent for 30 minutes since its last progress: then it is marked failed
    SyncRun.objects.filter(pk=long.pk).update(reported_at=now - dt.timedelta(minutes=31))
    client.post("/domains/sync/")
    long.refresh_from_db()
    assert long.state == "failed" and SyncRun.objects.filter(state="queued").count() == 1


def test_sync_all_pressed_at_once_on_several_processes_queues_one_run(gunicorn, synced):
    """Four leads press "Sync all" at the same moment, on four server processes: one run."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from dashboard.domains.models import SyncRun
    from tests.conftest import signed_in_session

    sessions = [signed_in_session(gunicorn, make_user(f"lead{n}", LEAD)) for n in range(4)]
    together = Barrier(len(sessions))

    def press(session):
        together.wait()
        return session.post("/domains/sync/").headers["location"]

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        places = list(pool.map(press, sessions))
    for session in sessions:
        session.close()
    run = SyncRun.objects.get()
    assert places == [f"/domains/sync/{run.pk}/"] * 4


def test_sync_all_runs_in_background_worker_and_reports_progress(client, lead, synced):
    from dashboard.domains.models import SyncRun
    from dashboard.domains.tasks import sync_all_domains

    client.force_login(lead)
    response = client.post("/domains/sync/")
    run = SyncRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/domains/sync/{run.pk}/"
    assert run.state == "queued"
    page = client.get(f"/domains/sync/{run.pk}/").content.decode()
    assert "waiting for the background worker" in page and 'hx-trigger="every 1s"' in page
    # What the worker does with the task (the real worker process is exercised in
    # tests/domains/test_worker.py on PostgreSQL).
    sync_all_domains.call(run.pk)
    run.refresh_from_db()
    assert run.state == "done" and run.done == run.total == 11  # 8 streaming, 3 ingest
    fragment = client.get(f"/domains/sync/{run.pk}/", headers=HX).content.decode()
    assert "every 1s" not in fragment and "Finished" in fragment


def test_a_domain_page_names_the_domain_it_is_mapped_to(as_viewer):
    """Which streaming domain an ingest domain feeds (read by the sync), both ways, linked: the
    pair whose callbacks make one stream's timeline."""
    ingest = as_viewer.get("/domains/push.example-shop.com/").content.decode()
    assert f'<dt>Feeds</dt><dd><a href="/domains/{TEAM_DOMAIN}/">{TEAM_DOMAIN}</a>' in ingest
    streaming = as_viewer.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert '<dt>Pushed through</dt><dd><a href="/domains/push.example-shop.com/">' in streaming
    alone = as_viewer.get("/domains/live.fitclass.cn/").content.decode()
    assert 'id="mapped"' not in alone


def test_no_callbacks_is_said_only_where_the_archive_is_complete(client, viewer, archived):
    """The list's "Failed (24 h)" said "no callbacks" of every domain while the first harvest
    was still running (make run's first minutes) and of a domain whose harvest had fallen
    hours behind: a silence that was not there. Each now says which."""
    import datetime as dt

    from django.utils import timezone

    from dashboard.archive.models import HarvestCursor

    quiet = "cdn.webinar-hub.com"  # no callback config: no deliveries at all

    def cell(name):
        body = client.get("/domains/?q=" + name).content.decode()
        row = re.search(rf'href="/domains/{re.escape(name)}/".*?</tr>', body, re.S).group(0)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))

    client.force_login(viewer)
    assert "no callbacks" in cell(quiet)
    cursor = HarvestCursor.objects.filter(domain__name=quiet)
    cursor.update(harvested_until=timezone.now() - dt.timedelta(hours=3))
    assert "none up to 3 hours ago" in cell(quiet) and "no callbacks" not in cell(quiet)
    cursor.update(backfilled=False)
    assert "not archived yet" in cell(quiet) and "no callbacks" not in cell(quiet)


def test_a_domain_page_says_when_its_numbers_stop_short_of_now(client, viewer, archived):
    """A domain's chart and incidents come from the archive: while its first harvest runs, or
    its harvest is behind, the chart's last hours are empty as if nothing came. The page says
    how far the archive goes; complete, it says nothing."""
    import datetime as dt

    from django.utils import timezone

    from dashboard.archive.models import HarvestCursor

    def shown(page=f"/domains/{TEAM_DOMAIN}/"):
        return re.sub(r"\s+", " ", client.get(page).content.decode())  # "2\xa0hours": 2 hours

    client.force_login(viewer)
    assert 'id="archive-behind"' not in shown()
    cursor = HarvestCursor.objects.filter(domain__name=TEAM_DOMAIN)
    cursor.update(harvested_until=timezone.now() - dt.timedelta(hours=2))
    assert "archive is complete up to 2 hours ago" in shown()
    cursor.update(backfilled=False)
    assert "has not been harvested into the archive yet" in shown()
