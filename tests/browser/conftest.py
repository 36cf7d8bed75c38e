"""Browser tests: Debian's Chromium, headless, driven by pytest-playwright on the live server."""

from __future__ import annotations

import os
import re

import pytest

from dashboard.accounts.roles import EDITOR, LEAD, VIEWER
from tests.conftest import ALL_DATABASES, PASSWORD, make_user

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True, databases=ALL_DATABASES))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-quic",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture
def watched(page):
    """A page that records console errors and failed requests; the test asserts none."""
    problems: list[str] = []
    # A form refused with 400 (invalid input) or 409 (conflict) is an answer the page shows,
    # but Chromium logs every non-2xx fetch to the console; those two alone are expected.
    expected = re.compile(r"Failed to load resource: the server responded with a status of 40[09]")

    def on_console(message):
        if message.type == "error" and not expected.search(message.text):
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    # ERR_ABORTED is the browser cancelling a load because the user navigated on: not a fault.
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"failed: {r.url} {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 500 or (r.status == 404 and "/static/" in r.url)
            else None
        ),
    )
    page.problems = problems
    return page


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")


def choose(page, select: str, value: str, *, shown=(), hidden=()) -> None:
    """Choose `value` in a form's `select`, then see the fields that apply (`shown`) and not
    those that do not (`hidden`): the forms' data-show-when."""
    from playwright.sync_api import expect

    page.select_option(select, value)
    for field in shown:
        expect(page.locator(field)).to_be_visible()
    for field in hidden:
        expect(page.locator(field)).to_be_hidden()


@pytest.fixture
def people(archived):
    """The three demo roles; the editor belongs to the team owning live.example-shop.com."""
    return {
        "lead": make_user("lead", LEAD),
        "support": make_user("support", VIEWER),
        "editor": make_user("editor", EDITOR, teams=[archived["team"]]),
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Every journey runs in a zone far from UTC, as most of the dashboard's users do."""
    return {**browser_context_args, "timezone_id": "Asia/Shanghai", "locale": "en-GB"}
