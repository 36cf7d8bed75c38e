"""htmx edges, once for every page that answers both ways."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PAGES = [
    "/domains/?q=shop",
    f"/records/?domain={TEAM_DOMAIN}&window=24h",
    "/audit/?action=update",
]
HX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.mark.parametrize("url", PAGES)
def test_a_swap_gets_the_fragment_and_back_gets_the_whole_page(client, lead, synced, url):
    client.force_login(lead)
    fragment = client.get(url, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.content.decode() and 'id="results"' in fragment.content.decode()
    restored = client.get(url, headers=RESTORE)
    body = restored.content.decode()
    assert restored.status_code == 200 and "<html" in body and "<nav" in body
    assert 'class="filters"' in body and 'id="results"' in body
    vary = restored["Vary"]
    assert "HX-Request" in vary and "HX-History-Restore-Request" in vary


@pytest.mark.parametrize("url", PAGES)
def test_an_expired_session_sends_the_browser_to_sign_in(client, url):
    response = client.get(url, headers={**HX, "HX-Current-URL": "http://testserver" + url})
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert "<html" not in response.content.decode()  # nothing to swap into the fragment


def test_a_filter_typed_as_the_session_ended_is_asked_again_after_signing_in(client, lead, synced):
    """The records page, a stream name typed as the session ended (30 minutes idle): the
    sign-in led back to the page as it was before the name, and the name was gone."""
    from urllib.parse import parse_qs, urlsplit

    typed = f"/records/?domain={TEAM_DOMAIN}&window=24h&stream=lobby"
    on = "http://testserver/records/?window=24h"
    response = client.get(typed, headers={**HX, "HX-Current-URL": on})
    wanted = parse_qs(urlsplit(response["HX-Redirect"]).query)["next"][0]
    assert wanted == typed
    client.force_login(lead)
    assert client.get(wanted).context["form"].cleaned_data["stream"] == "lobby"
    # a fragment of another path (a polled progress, a key generated) leads back to the page
    client.logout()
    elsewhere = client.get(
        f"/domains/{TEAM_DOMAIN}/record/key/",
        headers={**HX, "HX-Current-URL": f"http://testserver/domains/{TEAM_DOMAIN}/"},
    )
    assert parse_qs(urlsplit(elsewhere["HX-Redirect"]).query)["next"] == [
        f"/domains/{TEAM_DOMAIN}/"
    ]


def test_a_forbidden_htmx_request_gets_an_inline_reason(client, viewer, synced):
    client.force_login(viewer)
    response = client.get(f"/domains/{TEAM_DOMAIN}/record/edit/", headers=HX)
    body = response.content.decode()
    assert response.status_code == 403 and "<html" not in body
    assert "can read callbacks but not change them" in body


def test_a_forbidden_page_is_in_the_layout_and_says_why(client, other_editor):
    client.force_login(other_editor)
    response = client.get(f"/domains/{TEAM_DOMAIN}/record/edit/")
    body = response.content.decode()
    assert response.status_code == 403 and "<nav" in body
    assert f"{TEAM_DOMAIN} belongs to team Shop streaming, and you are not in it." in body


def test_not_found_is_in_the_layout(client, viewer, synced):
    client.force_login(viewer)
    response = client.get("/domains/no-such-domain.example.com/")
    body = response.content.decode()
    assert response.status_code == 404 and "<nav" in body
    assert "There is no domain called no-such-domain.example.com." in body


def test_a_form_refused_for_its_token_says_so_and_loses_nothing(lead, synced):
    """Django's CSRF page was swapped into the form that was refused (htmx swaps a 403's body),
    and what was typed in it was gone."""
    import json

    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    edit = f"/domains/{TEAM_DOMAIN}/record/edit/"
    refused = client.post(edit, {"notify_url": "https://x.example.com/cb"}, headers=HX)
    assert refused.status_code == 403 and refused.content == b""
    assert refused["HX-Reswap"] == "none"  # the form stays as typed
    said = json.loads(refused["HX-Trigger"])["form-refused"]
    assert said.startswith("Nothing was saved: this page's security token")
    assert refused.cookies["csrftoken"].value  # a token for the next try
    # a page's form: a page in the layout, back to the form it came from (this site's only)
    page = client.post(edit, {}, headers={"Referer": f"http://testserver{edit}"})
    body = page.content.decode()
    assert page.status_code == 403 and "<nav" in body and 'id="kept-note"' in body
    assert f'href="{edit}"' in body or f'href="http://testserver{edit}"' in body
    elsewhere = client.post(edit, {}, headers={"Referer": "https://evil.example.net/x"})
    assert "evil.example.net" not in elsewhere.content.decode()
