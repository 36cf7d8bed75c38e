"""The test-callback view and the signature checker, as editors, viewers and attackers use them."""

from __future__ import annotations

import hashlib
import time

import pytest
from django.urls import reverse

from dashboard.audit.models import AuditEntry
from dashboard.receivers.signature import callback_host, sign, verify
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


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
        receiver.host, headers["ALI-LIVE-TIMESTAMP"], "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
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


@pytest.mark.parametrize(
    "url", ["http://[::ffff:127.1]:9321/x", "http://[::1", "http://[fec0::1]/", "http://127.1/"]
)
def test_view_refuses_unsafe_urls_with_a_message_not_a_500(client, editor, url, settings):
    settings.CALLBACK_TEST_PER_MINUTE = 1
    client.force_login(editor)
    target = reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    for _ in range(3):  # a refused URL costs no attempt of the per-minute limit
        response = client.post(target, {"notify_url": url}, headers={"HX-Request": "true"})
        assert response.status_code == 400
        assert "Not sent:" in response.content.decode()
    entry = AuditEntry.objects.filter(action="test").first()
    assert entry.outcome == "failed" and entry.error_code == "NotSent"


def test_refusal_in_the_history_is_shown_in_the_readers_language(client, editor, lead):
    client.force_login(editor)
    target = reverse("test_send", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    client.post(target, {"notify_url": "http://127.1/cb"}, headers={"Accept-Language": "zh-hans"})
    entry = AuditEntry.objects.get(action="test")
    assert entry.message_in("en") == "The URL points at a loopback address."
    assert entry.message_in("zh-hans") != entry.message_in("en")
    client.force_login(lead)
    page = client.get(reverse("domain_detail", kwargs={"name": TEAM_DOMAIN})).content.decode()
    assert "The URL points at a loopback address." in page


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


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example-shop.com\r\nX: y/live/record",  # the parser dropped CR LF
        "https://hooks.example-shop.com\t.evil/live",
        "hooks.example-shop.com evil.example.com",
        "hooks.example-shop.com\x00",
        "https://hooks.example-shop.com\u0085/x",  # NEL, a line break of Unicode's
    ],
)
def test_a_callback_url_with_a_line_break_or_a_space_inside_is_refused(client, viewer, url):
    """The checker signed `https://hooks.example-shop.com<CR><LF>X: y` as the host
    "hooks.example-shop.comx": a host nobody typed, with a verdict to match. It is refused
    as no URL, and nothing is checked."""
    ts = str(int(time.time()))
    client.force_login(viewer)
    page = client.post(
        "/tools/signature/",
        {"url": url, "timestamp": ts, "signature": "0" * 32, "key": "k" * 16},
    )
    body = page.content.decode()
    assert page.status_code == 400
    said = "Enter the callback URL (https://host/path) or just its host name."
    assert said in body or "Null characters are not allowed." in body  # NUL: Django's words
    assert "Signed host" not in body


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


@pytest.mark.parametrize(
    "typed", ["https://回调.example-shop.com/live/record", "回调.Example-Shop.com"]
)
def test_a_host_typed_in_its_own_script_is_checked_as_live_signs_it(client, viewer, typed):
    """Live signs the host of the URL it calls, which is ASCII (`xn--zbss05j…`): a Chinese
    host typed as people write it was signed as typed, and a good signature "did not match"."""
    ts = str(int(time.time()))
    key = "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    sig = sign("xn--zbss05j.example-shop.com", ts, key)
    client.force_login(viewer)
    page = client.post(
        "/tools/signature/", {"url": typed, "timestamp": ts, "signature": sig, "key": key}
    )
    assert "Signature verifies" in page.content.decode()


def test_signature_page_bad_input(client, viewer):
    client.force_login(viewer)
    response = client.post(
        "/tools/signature/", {"url": "h", "timestamp": "soon", "signature": "xyz"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a domain or paste the key" in body


@pytest.mark.parametrize("url", ["http://[::1", "https://[fe80::1%25eth0", "http://[", "://"])
def test_signature_page_unparseable_url_is_a_message_not_a_500(client, viewer, url):
    client.force_login(viewer)
    response = client.post(
        "/tools/signature/",
        {"url": url, "timestamp": "1700000000", "signature": "0" * 32, "key": "k" * 16},
    )
    assert response.status_code == 400
    assert "Enter the callback URL" in response.content.decode()


def test_signature_page_viewer_keeps_input_and_learns_why(client, viewer):
    """Choosing a domain as a viewer: the form comes back with what was typed and a reason."""
    client.force_login(viewer)
    response = client.post(
        "/tools/signature/",
        {
            "url": "https://hooks.example-shop.com/cb",
            "timestamp": "1700000000",
            "signature": "a" * 32,
            "domain": TEAM_DOMAIN,
            "kind": "record",
        },
    )
    body = response.content.decode()
    assert response.status_code == 403
    assert "can read callbacks but not change them" in body and "Paste the key" in body
    assert 'value="https://hooks.example-shop.com/cb"' in body and 'value="1700000000"' in body
    # And a viewer is offered no domains to pick from.
    page = client.get("/tools/signature/").content.decode()
    assert "sig-domains" not in page


@pytest.mark.parametrize(
    ("pasted_timestamp", "pasted_signature"),
    [
        ("{ts}", "{sig}"),
        ("ALI-LIVE-TIMESTAMP: {ts}", "ali-live-signature:{SIG}"),  # whole lines from a log
        ("{wide_ts}", " {sig}\\n"),  # typed with a Chinese input method: full-width digits
    ],
    ids=["values", "header-lines", "full-width"],
)
def test_a_signature_pasted_as_people_paste_it_verifies(
    client, viewer, pasted_timestamp, pasted_signature
):
    """The whole header line from a receiver's log, or digits typed full-width, were "Enter a
    valid value." — or, full-width, were signed as typed and said not to match."""
    ts = str(int(time.time()))
    key = "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
    sig = sign("hooks.example-shop.com", ts, key)
    wide_ts = ts.translate({ord(d): ord(d) + 0xFF10 - 0x30 for d in "0123456789"})
    fill = {"ts": ts, "sig": sig, "SIG": sig.upper(), "wide_ts": wide_ts}
    client.force_login(viewer)
    page = client.post(
        "/tools/signature/",
        {
            "url": "https://hooks.example-shop.com/live/record",
            "timestamp": pasted_timestamp.format(**fill),
            "signature": pasted_signature.format(**fill).replace("\\n", "\n"),
            "key": key,
        },
    )
    assert page.status_code == 200
    assert "Signature verifies" in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("timestamp", "soon", "seconds since 1970 (1765000000)"),
        ("timestamp", "-1", "seconds since 1970"),
        ("timestamp", "1" * 13, "seconds since 1970"),
        ("timestamp", "١٧٦٥٠٠٠٠٠٠", "seconds since 1970"),  # Arabic-Indic: not what Live sends
        ("signature", "xyz", "32 hexadecimal characters"),
        ("signature", "ALI-LIVE-TIMESTAMP: " + "a" * 32, "32 hexadecimal characters"),
    ],
)
def test_a_header_value_that_cannot_be_one_says_what_it_should_be(
    client, viewer, field, value, says
):
    client.force_login(viewer)
    form = {"url": "hooks.example.com", "timestamp": "1765000000", "signature": "a" * 32}
    response = client.post("/tools/signature/", {**form, field: value, "key": "k" * 16})
    assert response.status_code == 400
    assert says in response.content.decode()
    assert "Enter a valid value" not in response.content.decode()
