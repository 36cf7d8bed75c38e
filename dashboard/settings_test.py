"""Settings for the test suite: the production settings, plus what only tests may do.

pytest selects this module (pyproject.toml); subprocesses the tests start inherit it through
DJANGO_SETTINGS_MODULE unless a test chooses otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dashboard.sandbox.demo import DEMO_CALLBACK_HOSTS

# Production settings refuse to load without these; give them test values for the import
# only, so subprocesses the tests start do not inherit them by accident.
_TEST_ENV = {
    "SECRET_KEY": "test-only-secret-key-" + "t" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1],testserver",
}
_added = [name for name in _TEST_ENV if name not in os.environ]
os.environ.update({name: _TEST_ENV[name] for name in _added})
try:
    from dashboard.settings import *  # noqa: F403
    from dashboard.settings import BASE_DIR, DATABASES, LIVE_SANDBOX
finally:
    for _name in _added:
        del os.environ[_name]

# The embedded sandbox does not throttle unless a test turns it on.
LIVE_SANDBOX = {**LIVE_SANDBOX, "THROTTLE": False}

# Fast hashing for the suite's many throwaway users; never outside tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# File-backed SQLite test databases, so threads (sync workers, the live server, race tests)
# share them as they would share a real database; per process, so two runs never share one.
for _name, _alias in DATABASES.items():
    if _alias["ENGINE"] == "django.db.backends.sqlite3":
        _alias["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test_{_name}_{os.getpid()}.sqlite3")}

# Exports of this run in a folder of its own (not the checkout's var/exports), which processes
# the run starts inherit through the environment; the run's conftest removes it at the end.
if not os.environ.get("EXPORT_DIR"):
    os.environ["EXPORT_DIR"] = os.path.join(
        tempfile.gettempdir(), f"dashboard-test-exports-{os.getpid()}"
    )
    os.environ["DASHBOARD_TEST_EXPORTS_OWNER"] = str(os.getpid())
EXPORT_DIR = Path(os.environ["EXPORT_DIR"])

# Plain HTTP on the test server (the production HTTPS settings are checked by their own test).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Harvest on the test's own thread, inside its transaction (tests that need threads or
# processes set this themselves, or their processes' environment does).
ARCHIVE_HARVEST_WORKERS = int(os.environ.get("ARCHIVE_HARVEST_WORKERS", "1"))

# The demo receiver's pinning is for `make run`; tests pin their own receivers. No test
# reaches the internet: the demo account's callback hosts (made up, but some are real names)
# lead to a closed port here.
DEMO_RECEIVER = False
CALLBACK_PINNED_HOSTS = {host: "127.0.0.1:9" for host in DEMO_CALLBACK_HOSTS}

# Processes a test starts (alert workers) reach the test's receivers the same way.
if os.environ.get("TEST_CALLBACK_PINNED_HOSTS"):
    import json as _json

    CALLBACK_PINNED_HOSTS |= _json.loads(os.environ["TEST_CALLBACK_PINNED_HOSTS"])
