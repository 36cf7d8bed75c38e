"""Send a test callback to a loopback receiver the test starts; check signatures."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time

import pytest
from django.urls import reverse

from dashboard.domains.models import AuditEntry
from dashboard.receivers.signature import callback_host, sign, verify
from dashboard.receivers.testsend import SendRefused, send_test_callback
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


class Receiver:
    """A callback receiver on 127.0.0.1 that records what it got and answers as told."""

    def __init__(self):
        self.received = []
        self.status = 200
        self.body = b'{"Code":0,"Msg":"Success"}'
        self.delay = 0.0
        self.location = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                receiver.received.append((self.path, dict(self.headers), self.rfile.read(length)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/live/callback"):
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver(settings):
    settings.CALLBACK_TEST_ALLOW_LOOPBACK = True
    settings.CALLBACK_TEST_TIMEOUT = 1.0
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_success_with_signature_checked_independently(receiver):
    key = "AbCdEfGhIjKlMnOp1234"
    result = send_test_callback(
        url=receiver.url("/cb?x=1"), kind="record", domain=TEAM_DOMAIN, auth_key=key
    )
    assert result.ok and result.status == 200 and '"Code":0' in result.body
    path, headers, body = receiver.received[0]
    assert path == "/cb?x=1"
    payload = json.loads(body)
    assert (
        payload["domain"] == TEAM_DOMAIN
        and payload["uri"].endswith(".flv")
        and isinstance(payload["duration"], float)
    )
    ts = headers["ALI-LIVE-TIMESTAMP"]
    assert abs(int(ts) - time.time()) < 10
    independent = hashlib.md5(f"127.0.0.1|{ts}|{key}".encode()).hexdigest()  # noqa: S324
    assert headers["ALI-LIVE-SIGNATURE"] == independent


def test_status_event_body(receiver):
    send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN, event="record_paused")
    payload = json.loads(receiver.received[0][2])
    assert payload == {
        "domain": TEAM_DOMAIN,
        "app": "live",
        "stream": "dashboard-test",
        "event": "record_paused",
    }
    assert "ALI-LIVE-SIGNATURE" not in receiver.received[0][1]


def test_non_2xx_is_reported(receiver):
    receiver.status, receiver.body = 500, b"<h1>boom</h1>"
    result = send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN)
    assert not result.ok and result.status == 500 and result.body == "<h1>boom</h1>"


def test_redirect_is_not_followed(receiver):
    receiver.status, receiver.location = 302, "http://10.0.0.1/internal"
    result = send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN)
    assert result.status == 302 and len(receiver.received) == 1


def test_timeout(receiver):
    receiver.delay = 1.5
    result = send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN, timeout=0.3)
    assert result.status is None and "No answer within 0.3 s" in result.error


def test_large_body_is_truncated(receiver):
    receiver.body = b"x" * 10_000
    result = send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN)
    assert result.truncated and len(result.body) == 4096


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/cb",
        "http://10.0.0.1/cb",
        "http://169.254.169.254/",
        "http://localhost/cb",
        "ftp://x.example.com/",
    ],
)
def test_unsafe_addresses_are_refused_when_loopback_is_not_allowed(url):
    with pytest.raises(SendRefused):
        send_test_callback(url=url, kind="record", domain=TEAM_DOMAIN)


def test_loopback_setting_is_ignored_outside_tests(settings, receiver):
    settings.TESTING = False
    with pytest.raises(SendRefused):
        send_test_callback(url=receiver.url(), kind="record", domain=TEAM_DOMAIN)
    assert receiver.received == []


def test_names_resolving_inside_are_refused(settings, monkeypatch):
    settings.CALLBACK_TEST_ALLOW_LOOPBACK = True
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 80))])
    with pytest.raises(SendRefused, match="private"):
        send_test_callback(url="http://rebind.example.com/cb", kind="record", domain=TEAM_DOMAIN)


def test_view_sends_from_the_edit_form_and_audits(client, editor, receiver):
    client.force_login(editor)
    url = reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = client.post(
        url,
        {"notify_url": receiver.url(), "notify_req_auth": "on", "event": "file_created"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "HTTP 200" in body and "Test callback sent to" in body
    headers = receiver.received[0][1]
    # Auth on and no key typed: the domain's current key (from the Live API) signs it.
    assert headers["ALI-LIVE-SIGNATURE"] == sign(
        "127.0.0.1", headers["ALI-LIVE-TIMESTAMP"], "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    )
    entry = AuditEntry.objects.get(action="test")
    assert (
        entry.outcome == "success"
        and entry.after["status"] == 200
        and "Sh0pKey" not in str(entry.after)
    )


def test_view_refuses_other_teams_domains_and_escapes_responses(client, editor, receiver):
    client.force_login(editor)
    assert (
        client.post(
            reverse("test_send", kwargs={"name": OTHER_DOMAIN, "kind": "record"})
        ).status_code
        == 403
    )
    receiver.body = b"<script>alert(1)</script>"
    response = client.post(
        reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "record"}),
        {"notify_url": receiver.url()},
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


def test_view_is_rate_limited_per_user(client, editor, receiver, settings):
    settings.CALLBACK_TEST_PER_MINUTE = 2
    client.force_login(editor)
    url = reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    codes = [client.post(url, {"notify_url": receiver.url()}).status_code for _ in range(3)]
    assert codes == [200, 200, 429] and len(receiver.received) == 2


def test_signature_helpers():
    assert callback_host("https://Hooks.Example.com:8443/cb?x") == "hooks.example.com"
    assert callback_host("hooks.example.com/path") == "hooks.example.com"
    good = sign("hooks.example.com", "1700000000", "k" * 16)
    assert good == hashlib.md5(b"hooks.example.com|1700000000|" + b"k" * 16).hexdigest()  # noqa: S324
    assert verify(
        host="hooks.example.com",
        timestamp="1700000000",
        signature=good.upper(),
        key="k" * 16,
        now=1700000010,
    ).valid
    stale = verify(
        host="hooks.example.com",
        timestamp="1700000000",
        signature=good,
        key="k" * 16,
        now=1700001000,
    )
    assert stale.valid and stale.stale and stale.age_seconds == 1000
    assert not verify(
        host="other.example.com", timestamp="1700000000", signature=good, key="k" * 16
    ).valid


def test_signature_page_with_pasted_key_and_with_domain_key(client, viewer, editor):
    ts = str(int(time.time()))
    sig = sign("hooks.example-shop.com", ts, "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt")
    client.force_login(viewer)
    page = client.post(
        "/tools/signature/",
        {
            "url": "https://hooks.example-shop.com/live/record",
            "timestamp": ts,
            "signature": sig,
            "key": "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt",
        },
    )
    assert "Signature verifies" in page.content.decode() and "fresh" in page.content.decode()
    # A viewer may not use a domain's stored key (the expected signature would let them forge).
    assert (
        client.post(
            "/tools/signature/",
            {
                "url": "hooks.example-shop.com",
                "timestamp": ts,
                "signature": sig,
                "domain": TEAM_DOMAIN,
                "kind": "record",
            },
        ).status_code
        == 403
    )
    client.force_login(editor)
    page = client.post(
        "/tools/signature/",
        {
            "url": "hooks.example-shop.com",
            "timestamp": ts,
            "signature": "0" * 32,
            "domain": TEAM_DOMAIN,
            "kind": "record",
        },
    )
    body = page.content.decode()
    assert "Signature does not match" in body and sig in body and "Sh0pKey" not in body


def test_signature_page_bad_input(client, viewer):
    client.force_login(viewer)
    response = client.post(
        "/tools/signature/", {"url": "h", "timestamp": "soon", "signature": "xyz"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a domain or paste the key" in body
