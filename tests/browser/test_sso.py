"""Signing in with the company account, in Chromium, through a real OpenID Connect provider
(tests/idp): the role and teams the directory gives, a group removed, a forged answer, a
provider naming another issuer."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.idp.provider import CALLBACK, IdentityProvider, to_callback
from tests.idp.provider import PASSWORD as IDP_PASSWORD


def provider_sign_in(page, login: str) -> None:
    """At the provider's own page: type the directory login and password."""
    expect(page.locator("#idp-login")).to_be_visible()
    page.fill("#idp-login", login)
    page.fill("#idp-password", IDP_PASSWORD)
    page.click("#idp-submit")


def test_a_lead_signs_in_with_the_company_account_and_maps_a_group(
    watched, live_server, idp, sso_mappings
):
    page = watched
    page.goto(f"{live_server.url}/records/?window=7d")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.click("#sso-sign-in")
    expect(page).to_have_url(re.compile(rf"^{re.escape(idp.address)}/interaction/"))
    provider_sign_in(page, "lee")
    # back where they were going, signed in as the lead the directory says they are
    expect(page).to_have_url(f"{live_server.url}/records/?window=7d")
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#who")).to_contain_text("Lead")
    expect(page.locator("#sso-managed")).to_contain_text("You sign in with Corp account")

    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_text("directory", exact=True)).to_be_visible()
    page.click("text=Directory groups")
    page.click("#mappings >> text=live-support")
    page.select_option("#id_role", "Editor")
    page.check("#mapping-form >> text=Shop")
    page.click("#mapping-form button.primary")
    expect(page.locator(".messages, [role=status]").first).to_contain_text(
        "Members of live-support get it at their next sign-in"
    )
    row = page.locator("#mappings tr", has_text="live-support")
    expect(row).to_contain_text("Editor")
    expect(row).to_contain_text("Shop")
    page.goto(f"{live_server.url}/audit/")
    expect(page.locator("main")).to_contain_text("Directory group live-support")
    assert page.problems == []


def test_someone_removed_from_their_group_finds_no_access_at_the_next_sign_in(
    watched, live_server, idp, sso_mappings
):
    page = watched
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#sso-sign-in")
    provider_sign_in(page, "eddie")
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#who")).to_contain_text("Editor")
    expect(page.locator("#who")).to_contain_text("Shop")
    page.click("header >> text=Sign out")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    idp.set_groups("eddie", ["staff"])  # the directory takes eddie out of live-editors
    page.click("#sso-sign-in")  # the provider still knows the browser: straight back
    expect(page.locator("h1")).to_have_text("You have no access yet")
    page.go_back()
    page.go_forward()
    page.reload()
    expect(page.locator("h1")).to_have_text("You have no access yet")
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#who")).to_contain_text("No role")
    # the no-access page is a 403, which Chromium logs; nothing else may go wrong
    assert [p for p in page.problems if "status of 403" not in p] == []


def test_an_answer_started_elsewhere_is_refused_and_a_fresh_sign_in_works(
    watched, live_server, idp, sso_mappings
):
    """Login CSRF: an attacker signs in as themselves up to the provider's answer and sends
    the victim the callback link, hoping the victim works in the attacker's account."""
    with httpx.Client(base_url=live_server.url, timeout=30) as attacker:
        planted = to_callback(attacker, "lee")
    page = watched
    page.goto(planted)
    expect(page.locator("#sso-error")).to_contain_text("was not started in this browser")
    expect(page.locator("#sso-sign-in")).to_be_visible()
    page.goto(f"{live_server.url}/domains/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # not signed in as anyone

    page.click("#sso-sign-in")  # the victim's own sign-in works
    provider_sign_in(page, "eddie")
    expect(page.locator("header.topbar nav")).to_be_visible()
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#who")).to_contain_text("eddie")
    # the refusal is a 400, which Chromium logs (and the watcher allows); nothing else
    assert page.problems == []


def test_a_provider_naming_another_issuer_is_refused_on_the_sign_in_page(
    page, live_server, settings, tmp_path, sso_mappings
):
    provider = IdentityProvider(tmp_path, f"{live_server.url}{CALLBACK}", issuer_host="localhost")
    try:
        for name, value in provider.settings().items():
            setattr(settings, name, value)
        page.goto(f"{live_server.url}/accounts/login/")
        page.click("#sso-sign-in")
        expect(page.locator("#sso-error")).to_contain_text("another issuer than the one configured")
        assert page.url.startswith(live_server.url)
    finally:
        provider.stop()


def test_signing_out_at_the_provider_too_asks_for_the_password_next_time(
    watched, live_server, idp, sso_mappings, settings
):
    settings.OIDC_END_SESSION = True
    page = watched
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("#sso-sign-in")
    provider_sign_in(page, "ana")
    expect(page.locator("header.topbar nav")).to_be_visible()
    page.click("header >> text=Sign out")
    # the provider asks; yes brings the browser back to the dashboard's sign-in page
    expect(page.locator("#idp-sign-out")).to_be_visible()
    assert page.url.startswith(idp.address)
    page.click("#idp-sign-out-yes")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.go_back()  # Back does not bring a signed-in page back
    page.goto(f"{live_server.url}/domains/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.click("#sso-sign-in")
    expect(page.locator("#idp-login")).to_be_visible()  # not straight back in: a password
    provider_sign_in(page, "ana")
    expect(page).to_have_url(f"{live_server.url}/domains/")
    assert page.problems == []


def test_someone_moves_their_local_account_to_the_directory(
    watched, live_server, idp, sso_mappings
):
    from django.contrib.auth import get_user_model

    from tests.browser.conftest import sign_in
    from tests.conftest import make_user

    make_user("lena", "Viewer")
    page = watched
    sign_in(page, live_server, "lena")
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#sso-link")).to_contain_text("Your password here stops working")
    page.click("#sso-link-start")
    provider_sign_in(page, "lee")
    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.locator(".messages, [role=status]").first).to_contain_text(
        "Linked: you now sign in with Corp account"
    )
    expect(page.locator("#who")).to_contain_text("Lead")
    expect(page.locator("#sso-managed")).to_be_visible()  # no password form any more
    expect(page.locator("#sso-link")).to_have_count(0)
    page.go_back()
    page.go_forward()
    page.reload()
    expect(page.locator("#who")).to_contain_text("lena")
    page.click("header >> text=Sign out")
    page.click("#sso-sign-in")  # the directory login is lena's account now
    page.goto(f"{live_server.url}/account/")
    expect(page.locator("#who")).to_contain_text("lena")
    assert get_user_model().objects.count() == 1
    assert page.problems == []
