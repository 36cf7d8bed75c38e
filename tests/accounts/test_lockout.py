"""Sign-in throttling holds against parallel guesses on several processes, on the dashboard's
sign-in page and the admin's alike."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.urls import reverse

from tests.conftest import ALL_DATABASES, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

WRONG = "correct username and password"  # the admin says "the correct … for a staff account"
LOCKED = "Too many failed sign-ins"


def csrf_session(base: str, path: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client, token


def guess(base: str, path: str, username: str, password: str) -> str:
    client, token = csrf_session(base, path)
    try:
        answer = client.post(
            path,
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": base + path},
        )
    finally:
        client.close()
    if answer.status_code == 302:
        return "signed in"
    if LOCKED in answer.text:
        return "locked"
    if WRONG in answer.text:
        return "evaluated"
    return f"HTTP {answer.status_code}"


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_parallel_guesses_on_four_processes_evaluate_at_most_the_limit(gunicorn, lead, path):
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(
            pool.map(lambda _: guess(gunicorn, path, "lead", "wrong-password"), range(40))
        )
    evaluated = outcomes.count("evaluated")
    assert evaluated + outcomes.count("locked") == 40, outcomes
    assert evaluated == 5, f"{evaluated} guesses were checked against a limit of 5"
    # Locked now: even the right password is refused, on any process.
    assert guess(gunicorn, path, "lead", PASSWORD) == "locked"


def test_admin_sign_in_is_throttled_like_the_dashboards(client, lead, settings):
    settings.LOGIN_MAX_FAILURES = 3
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "lead", "password": "nope"}, REMOTE_ADDR="198.51.100.4")
    locked = client.post(
        url, {"username": "lead", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )
    assert locked.status_code == 200 and LOCKED in locked.content.decode()


def test_behind_a_proxy_the_client_address_counts(client, lead, settings):
    """With TRUSTED_PROXY_HEADER, each client behind the balancer has its own count."""
    settings.LOGIN_MAX_FAILURES = 2
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    url = reverse("login")

    def attempt(client_address, password="nope"):
        return client.post(
            url,
            {"username": "lead", "password": password},
            REMOTE_ADDR="10.0.0.2",  # the load balancer
            headers={"X-Forwarded-For": f"1.2.3.4, {client_address}"},
        )

    attempt("203.0.113.7")
    attempt("203.0.113.7")
    assert LOCKED in attempt("203.0.113.7", PASSWORD).content.decode()
    # Another client behind the same balancer is not locked out.
    assert attempt("203.0.113.8", PASSWORD).status_code == 302


LOOK_ALIKES = [
    "ｖｉｃｔｉｍ",  # full-width
    "ｖｉｃtim",  # half full-width: the repro
    "𝐯𝐢𝐜𝐭𝐢𝐦",  # mathematical bold
    "𝓋𝒾𝒸𝓉𝒾𝓂",  # mathematical script
    "ⓥⓘⓒⓣⓘⓜ",  # circled
    "VICTIM",
    " victim ",
]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_a_locked_name_stays_locked_under_every_look_alike(gunicorn, path):
    """The lock once keyed on the typed name while sign-in used its NFKC form: `ｖｉｃtim`
    with the right password signed in while `victim` was locked, and `ａdmin` reached the
    admin after `admin` was locked."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("victim", password=PASSWORD)
    User.objects.create_superuser("bystander", password=PASSWORD)
    for _ in range(5):
        assert guess(gunicorn, path, "victim", "wrong-password") == "evaluated"
    with ThreadPoolExecutor(max_workers=len(LOOK_ALIKES) * 2) as pool:
        outcomes = list(
            pool.map(lambda name: guess(gunicorn, path, name, PASSWORD), LOOK_ALIKES * 2)
        )
    assert outcomes == ["locked"] * len(outcomes), list(zip(LOOK_ALIKES * 2, outcomes, strict=True))
    # the lock is the victim's alone
    assert guess(gunicorn, path, "bystander", PASSWORD) == "signed in"


def test_the_identity_counted_is_the_one_that_signs_in():
    from django.contrib.auth.forms import UsernameField

    from dashboard.accounts.security import sign_in_identity

    for name in LOOK_ALIKES:
        assert sign_in_identity(name) == "victim", name
        # the counted identity is the authenticated one, case-folded
        assert sign_in_identity(UsernameField().clean(name)) == sign_in_identity(name)
