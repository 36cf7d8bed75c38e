"""Stream ingest callbacks of ingest domains, as editors and support see them: the card, the
editor with its own rules (keys of 16-64, Set writes the whole config), the audit trail and
drift — through the real signed path to the sandbox."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain, StreamNotifyConfig
from dashboard.domains.services import domain_refresh
from dashboard.receivers.signature import verify
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxStreamConfig
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

INGEST = "push.example-shop.com"  # the shop team's ingest domain; demo stream config, signed
BARE_INGEST = "push.edu-streams.cn"  # an ingest domain without one


@pytest.fixture
def as_editor(client, editor, synced):
    """An editor of the shop team, which owns the streaming and the ingest domain."""
    Domain.objects.filter(name__in=[INGEST, BARE_INGEST]).update(team=synced["team"])
    client.force_login(editor)
    return client


def edit_url(name: str, kind: str = "stream") -> str:
    return reverse("config_edit", kwargs={"name": name, "kind": kind})


def sandbox_config(name: str) -> SandboxStreamConfig | None:
    return SandboxStreamConfig.objects.filter(domain__name=name).first()


def test_an_ingest_domain_shows_its_stream_callback_and_only_that(as_editor):
    body = as_editor.get(f"/domains/{INGEST}/").content.decode()
    assert "Stream callback" in body
    assert "https://hooks.example-shop.com/live/stream" in body
    assert "https://hooks.example-shop.com/live/stream-exception" in body
    assert "Recording callback" not in body and "Snapshot callback" not in body
    assert "ShopStreamKey" not in body  # the key itself never, its fingerprint only
    # a streaming domain's page has no stream card
    streaming = as_editor.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert "Recording callback" in streaming and 'id="editor-stream"' not in streaming
    # the list shows it in the ingest domain's row
    listing = as_editor.get("/domains/?type=liveEdge").content.decode()
    assert "hooks.example-shop.com" in listing and "Stream callback" in listing


def test_kinds_a_domain_does_not_carry_are_not_found(as_editor):
    assert as_editor.get(edit_url(TEAM_DOMAIN, "stream")).status_code == 404
    assert as_editor.get(edit_url(INGEST, "record")).status_code == 404
    assert as_editor.get(edit_url(INGEST, "snapshot")).status_code == 404
    response = as_editor.post(edit_url(TEAM_DOMAIN, "stream"), {"notify_url": "https://a.b/c"})
    assert response.status_code == 404 and not sandbox_config(TEAM_DOMAIN)


def test_an_editor_sets_up_a_stream_callback_with_a_64_character_key(as_editor):
    key = "Ab1" * 21 + "Z"  # 64 letters and digits: too long for a recording key
    form = as_editor.get(edit_url(BARE_INGEST))
    assert form.status_code == 200
    response = as_editor.post(
        edit_url(BARE_INGEST),
        {
            "notify_url": "https://hooks.example.com/publish",
            "exception_notify_url": "https://hooks.example.com/exception",
            "notify_req_auth": "on",
            "notify_auth_key": key,
            "version": form.context["form"].initial["version"],
        },
    )
    assert response.status_code == 200 and key in response.content.decode()  # shown once
    stored = sandbox_config(BARE_INGEST)
    assert (stored.notify_url, stored.exception_notify_url) == (
        "https://hooks.example.com/publish",
        "https://hooks.example.com/exception",
    )
    assert stored.notify_req_auth and stored.notify_auth_key == key
    cached = StreamNotifyConfig.objects.get(domain__name=BARE_INGEST)
    assert cached.notify_url == "https://hooks.example.com/publish" and cached.auth_key_fingerprint
    entry = AuditEntry.objects.filter(domain__name=BARE_INGEST).latest("pk")
    assert (entry.kind, entry.action, entry.outcome) == ("stream", "add", "success")
    assert entry.after["exception_notify_url"] == "https://hooks.example.com/exception"
    assert key not in str(entry.after) and entry.request_id
    again = as_editor.get(f"/domains/{BARE_INGEST}/").content.decode()
    assert key not in again and "••••" in again


def test_an_edit_that_leaves_the_key_blank_keeps_it_though_set_writes_everything(as_editor):
    """Set replaces the whole config: the dashboard sends the current key along."""
    before = sandbox_config(INGEST).notify_auth_key
    version = as_editor.get(edit_url(INGEST)).context["form"].initial["version"]
    response = as_editor.post(
        edit_url(INGEST),
        {
            "notify_url": "https://hooks.example-shop.com/live/stream-v2",
            "notify_req_auth": "on",
            "version": version,
        },
    )
    assert response.status_code == 302
    stored = sandbox_config(INGEST)
    assert stored.notify_url == "https://hooks.example-shop.com/live/stream-v2"
    assert stored.notify_auth_key == before and stored.notify_req_auth
    assert stored.exception_notify_url == ""  # left empty in the form: cleared, as asked
    entry = AuditEntry.objects.filter(domain__name=INGEST).latest("pk")
    assert entry.before["exception_notify_url"].endswith("/stream-exception")
    assert entry.after["exception_notify_url"] == "" and entry.restorable


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"notify_auth_key": "k" * 65}, "Ensure this value has at most 64 characters"),
        ({"notify_auth_key": "k" * 15}, "16 to 64 letters and digits"),
        ({"notify_auth_key": "k" * 20 + "\u0430"}, "16 to 64 letters and digits"),  # Cyrillic a
        ({"notify_url": "http://169.254.169.254/latest"}, "Unsafe callback URL"),
        ({"exception_notify_url": "http://[::1]/x"}, "Unsafe callback URL"),
        ({"notify_url": "https://hooks.example.com/a\r\nX-Evil: 1"}, "Not a valid callback URL"),
        ({"notify_url": ""}, "This field is required"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_changes_nothing(as_editor, fields, message):
    before = sandbox_config(INGEST)
    sandbox_app.stats.reset()
    data = {"notify_url": "https://hooks.example.com/ok", "version": 0, **fields}
    response = as_editor.post(edit_url(INGEST), data)
    body = response.content.decode()
    assert response.status_code == 400 and message in body
    assert sandbox_app.stats.calls == {}
    after = sandbox_config(INGEST)
    assert (after.notify_url, after.notify_auth_key) == (before.notify_url, before.notify_auth_key)


def test_a_change_made_outside_the_dashboard_is_drift(as_editor):
    SandboxStreamConfig.objects.filter(domain__name=INGEST).update(
        notify_url="https://console.example.com/publish"
    )
    result = domain_refresh(domain=Domain.objects.get(name=INGEST))
    assert result.drifted == ["stream"]
    assert StreamNotifyConfig.objects.get(domain__name=INGEST).notify_url == (
        "https://console.example.com/publish"
    )
    entry = AuditEntry.objects.filter(domain__name=INGEST).latest("pk")
    assert (entry.kind, entry.action, entry.actor_name) == ("stream", "drift", "sync")


def test_delete_removes_it_upstream_and_in_the_cache(as_editor):
    url = reverse("config_delete", kwargs={"name": INGEST, "kind": "stream"})
    version = as_editor.get(url).context["form"].initial["version"]
    response = as_editor.post(url, {"version": version}, follow=True)
    assert response.status_code == 200 and "Deleted." in response.content.decode()
    assert sandbox_config(INGEST) is None
    assert not StreamNotifyConfig.objects.filter(domain__name=INGEST).exists()


def test_a_test_callback_arrives_as_live_sends_it_a_get_signed_with_the_ingest_domain(
    as_editor, receiver
):
    key = "TestStreamKey" * 4  # 52 letters and digits
    SandboxStreamConfig.objects.filter(domain__name=INGEST).update(
        notify_url=receiver.url("/live/stream"), notify_req_auth=True, notify_auth_key=key
    )
    body = as_editor.get(f"/domains/{INGEST}/").content.decode()
    assert "Send test callback" in body
    response = as_editor.post(reverse("test_send", kwargs={"name": INGEST, "kind": "stream"}))
    assert response.status_code == 200 and "HTTP 200" in response.content.decode()
    assert receiver.methods == ["GET"]
    ((path, headers, sent),) = receiver.received
    url = urlsplit(path)
    query = dict(parse_qsl(url.query))
    assert url.path == "/live/stream" and sent == b""
    assert (query["action"], query["app"], query["id"]) == ("publish", INGEST, "dashboard-test")
    signed = {
        "timestamp": headers["ALI-LIVE-TIMESTAMP"],
        "signature": headers["ALI-LIVE-SIGNATURE"],
    }
    assert verify(host=INGEST, key=key, **signed).valid
    # before saving, with a new 60-character key typed in the form
    typed = "K" * 60
    response = as_editor.post(
        reverse("test_send", kwargs={"name": INGEST, "kind": "stream"}),
        {
            "notify_url": receiver.url("/typed"),
            "notify_req_auth": "on",
            "notify_auth_key": typed,
            "event": "publish_done",
        },
    )
    assert response.status_code == 200
    path, headers, _ = receiver.received[1]
    assert urlsplit(path).path == "/typed" and "action=publish_done" in path
    signed = {
        "timestamp": headers["ALI-LIVE-TIMESTAMP"],
        "signature": headers["ALI-LIVE-SIGNATURE"],
    }
    assert verify(host=INGEST, key=typed, **signed).valid
    entry = AuditEntry.objects.filter(domain__name=INGEST, action="test").latest("pk")
    assert entry.kind == "stream" and typed not in str(entry.after)


def test_a_test_callback_of_a_kind_the_domain_does_not_carry_is_refused(as_editor, receiver):
    response = as_editor.post(reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "stream"}))
    assert response.status_code == 404 and receiver.received == []


def test_a_viewer_and_another_team_may_not_edit_it(client, viewer, other_editor, synced):
    Domain.objects.filter(name=INGEST).update(team=synced["team"])
    for user in (viewer, other_editor):
        client.force_login(user)
        assert client.get(edit_url(INGEST)).status_code == 403
        response = client.post(edit_url(INGEST), {"notify_url": "https://x.example.com/p"})
        assert response.status_code == 403
    assert sandbox_config(INGEST).notify_url == "https://hooks.example-shop.com/live/stream"


def test_every_kind_has_its_urls():
    from dashboard.converters import KindConverter
    from dashboard.domains.kinds import KINDS

    assert set(KindConverter.regex.split("|")) == set(KINDS)
