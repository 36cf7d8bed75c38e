import pytest
from django.urls import reverse

from tests.conftest import ALL_DATABASES, PASSWORD

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_anonymous_is_sent_to_login(client):
    response = client.get("/domains/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_wrong_password_shows_error_and_stays_signed_out(client, viewer):
    response = client.post(reverse("login"), {"username": "support", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/domains/").status_code == 302


def test_opening_the_sign_out_address_asks_first_and_signs_out_on_the_answer(client, viewer):
    """Typing /accounts/logout/ was Chromium's "This page isn't working" (an empty 405). It
    asks now, and does not sign out on the GET itself (any page could link it)."""
    client.force_login(viewer)
    page = client.get(reverse("logout"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="sign-out-confirm"' in body and "signed in as <strong>support</strong>" in body
    assert client.get("/domains/").status_code == 200  # still signed in
    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/domains/").status_code == 302
    # signed out already: to the sign-in page
    assert client.get(reverse("logout"))["Location"] == reverse("login")


def test_right_password_signs_in_and_shows_role(client, viewer):
    response = client.post(
        reverse("login"), {"username": "support", "password": PASSWORD}, follow=True
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Viewer" in body
    assert 'href="/audit/"' not in body


def test_lead_navigation_has_audit_and_people_but_not_the_admin(client, lead):
    client.force_login(lead)
    body = client.get("/domains/").content.decode()
    assert 'href="/audit/"' in body and 'href="/people/"' in body
    assert 'href="/admin/"' not in body  # superusers only


def test_logout_requires_post_and_signs_out(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/domains/").status_code == 302


def test_pages_carry_csp_with_nonce_and_no_unsafe_inline(client, viewer):
    client.force_login(viewer)
    response = client.get("/domains/")
    csp = response["Content-Security-Policy"]
    assert "'nonce-" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert (
        "object-src 'none'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
    )
