"""Sign-in throttling, session timeouts, deploy checks."""

import datetime as dt
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import ALL_DATABASES, PASSWORD, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ROOT = Path(__file__).resolve().parents[2]


def attempt(client, password, username="support", address="198.51.100.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_lock_after_max_failures_at_the_boundary(client, viewer, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        assert "correct username and password" in attempt(client, "wrong").content.decode()
    # Two failures: the right password still works (and resets the count).
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(3):
        attempt(client, "wrong")
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 200 and "Too many failed sign-ins" in locked.content.decode()
    # Per user and address: the same user from elsewhere is not locked out.
    assert attempt(client, PASSWORD, address="203.0.113.50").status_code == 302


def test_cool_off_ends_the_lock(client, viewer, settings):
    from dashboard.accounts.models import SignInThrottle

    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_COOL_OFF = 900
    attempt(client, "wrong")
    attempt(client, "wrong")
    assert "Too many failed" in attempt(client, PASSWORD).content.decode()
    # a second before the cool-off ends: still locked
    ends = SignInThrottle.objects.get().window_ends
    SignInThrottle.objects.update(window_ends=timezone.now() + dt.timedelta(seconds=1))
    assert "Too many failed" in attempt(client, PASSWORD).content.decode()
    # the cool-off over (as 15 minutes would have it, without waiting them)
    assert ends > timezone.now() + dt.timedelta(seconds=800)
    SignInThrottle.objects.update(window_ends=timezone.now() - dt.timedelta(seconds=1))
    assert attempt(client, PASSWORD).status_code == 302


def test_idle_session_is_signed_out(client, viewer, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(viewer)
    assert client.get("/domains/").status_code == 200
    session = client.session
    session["last_activity"] = int(time.time()) - 61
    session.save()
    response = client.get("/domains/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/domains/").status_code == 302  # really signed out


def test_active_session_stays(client, viewer, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(viewer)
    client.get("/domains/")
    session = client.session
    session["last_activity"] = int(time.time()) - 59
    session.save()
    assert client.get("/domains/").status_code == 200


def test_active_session_still_ends_after_the_absolute_limit(client, viewer, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    settings.SESSION_COOKIE_AGE = 3600
    client.force_login(viewer)
    client.get("/domains/")
    session = client.session
    session["signed_in_at"] = int(time.time()) - 3601
    session["last_activity"] = int(time.time()) - 5  # active a moment ago
    session.save()
    response = client.get("/domains/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_deploy_check_passes_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "live-dash.example.com",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # a deployment of several processes has one
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' event loop only

    def check(environment):
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    # without Redis, start-up says plainly what is then per process
    without = check({k: v for k, v in env.items() if k != "REDIS_URL"})
    assert without.returncode != 0 and "ops.W001" in without.stderr + without.stdout
    assert "rate budget is kept per process" in without.stderr + without.stdout


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    env["ALLOWED_HOSTS"] = "live-dash.example.com"
    env["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_idle_timeout_counts_from_the_last_request(client, viewer, settings, monkeypatch):
    settings.SESSION_IDLE_TIMEOUT = 600
    now = [1_800_000_000]
    monkeypatch.setattr("dashboard.accounts.security.time.time", lambda: now[0])
    client.force_login(viewer)
    assert client.get("/domains/").status_code == 200  # sign-in stamp
    for _ in range(4):  # active every 5 minutes for 20 minutes
        now[0] += 300
        assert client.get("/domains/").status_code == 200
    now[0] += 590  # idle just under the limit since the last request
    assert client.get("/domains/").status_code == 200
    now[0] += 610
    response = client.get("/domains/?q=a b&team=")
    assert response.status_code == 302
    # The way back is URL-encoded, query string and all.
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query) == {"next": ["/domains/?q=a%20b&team="]}


def test_signed_in_pages_are_private_and_never_stored(client, viewer):
    client.force_login(viewer)
    for url in ["/domains/", f"/domains/{TEAM_DOMAIN}/", "/records/", "/tools/signature/"]:
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, url


def test_a_user_with_no_role_reads_nothing_and_learns_whom_to_ask(client, lead):
    from tests.conftest import make_user

    nobody = make_user("nobody", None)
    client.force_login(nobody)
    for method, url in [
        ("get", "/domains/"),
        ("get", "/records/"),
        ("get", f"/records/export.csv?domain={TEAM_DOMAIN}"),
        ("get", "/records/overview/"),
        ("post", f"/domains/{TEAM_DOMAIN}/refresh/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "You have no access yet" in body and "Lead" in body, url  # the lead's name
    assert client.post("/accounts/logout/").status_code == 302  # can still sign out
