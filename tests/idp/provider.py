"""The tests' identity provider: `server.mjs` (panva's oidc-provider on Node.js) as a real
process on 127.0.0.1, with people and groups the test can change between sign-ins."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

HERE = Path(__file__).resolve().parent
PASSWORD = "directory-pass-1"

PEOPLE = {
    "ana": {"name": "Ana Lima", "email": "ana@corp.example", "groups": ["live-support"]},
    "lee": {"name": "Lee Wong", "email": "lee@corp.example", "groups": ["live-leads"]},
    "eddie": {
        "name": "Eddie Chan",
        "email": "eddie@corp.example",
        "groups": ["live-editors", "team-shop", "staff"],
    },
    "nobody": {"name": "No Body", "email": "nobody@corp.example", "groups": ["staff"]},
}

CALLBACK = "/accounts/sso/callback/"  # the dashboard's redirect URI, under its address
SIGNED_OUT = "/accounts/login/"  # where the provider sends the browser back after signing out
CLIENT_ID = "live-dashboard"
CLIENT_SECRET = "client-secret-for-tests-7f3a"


def ensure_installed() -> None:
    """node_modules as package-lock.json pins them (`make test` installs them first; this is
    for a test run started by hand)."""
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the identity provider of the sign-in tests")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True, timeout=300
    )


class IdentityProvider:
    def __init__(self, workdir: Path, redirect_uri: str, *, issuer_host: str = "127.0.0.1"):
        self.users_file = workdir / "idp-users.json"
        self.people = {login: {**person, "password": PASSWORD} for login, person in PEOPLE.items()}
        self._write()
        ensure_installed()
        env = {
            **os.environ,
            "IDP_USERS": str(self.users_file),
            "IDP_CLIENT_ID": CLIENT_ID,
            "IDP_CLIENT_SECRET": CLIENT_SECRET,
            "IDP_REDIRECT_URIS": redirect_uri,
            # RP-initiated logout comes back to the sign-in page, under the same address
            "IDP_POST_LOGOUT_REDIRECT_URIS": redirect_uri.replace(CALLBACK, SIGNED_OUT),
            "IDP_ISSUER_HOST": issuer_host,
        }
        # Node.js has been seen to hang at start-up once in a while (every thread waiting on a
        # futex, nothing listening): a start that says nothing in 30 seconds is tried again,
        # rather than waiting for ever on its first line.
        for _attempt in range(3):
            self.process = subprocess.Popen(
                ["node", str(HERE / "server.mjs")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            ready, _, _ = select.select([self.process.stdout], [], [], 30)
            line = self.process.stdout.readline() if ready else ""  # "listening <port>"
            match = re.match(r"listening (\d+)", line)
            if match:
                break
            self.stop()
        else:
            raise RuntimeError(f"the identity provider did not start: {line!r}")
        self.port = int(match.group(1))
        self.address = f"http://127.0.0.1:{self.port}"
        self.issuer = f"http://{issuer_host}:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{self.address}/.well-known/openid-configuration", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _write(self) -> None:
        self.users_file.write_text(json.dumps(self.people))

    def add_person(self, login: str, name: str, groups: list[str]) -> None:
        self.people[login] = {"name": name, "email": "", "groups": groups, "password": PASSWORD}
        self._write()

    def set_groups(self, login: str, groups: list[str]) -> None:
        """The directory changes: read at the person's next sign-in."""
        self.people[login]["groups"] = list(groups)
        self._write()

    def settings(self) -> dict:
        """The dashboard's settings for this provider."""
        return {
            "OIDC_ISSUER": f"http://127.0.0.1:{self.port}",
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPES": "openid profile email groups",
            "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_PROVIDER_NAME": "Corp account",
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def to_callback(
    client: httpx.Client, login: str, *, start: str = "/", tamper=None, started=None
) -> str:
    """Start single sign-on as a browser would, sign in at the provider's form, and return
    the callback URL the provider sends the browser to (not yet visited). `tamper` may
    rewrite the authorization request's parameters on the way to the provider; `started` is
    the dashboard's redirect to the provider when something else than the sign-in page's
    link started it (linking an account)."""
    answer = started or client.get("/accounts/sso/login/", params={"next": start})
    assert answer.status_code == 302, answer.text[:500]
    url = answer.headers["location"]
    if tamper is not None:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        url = urlunsplit(parts._replace(query=urlencode(tamper(query))))
    for _ in range(12):
        answer = client.get(url)
        if answer.status_code == 200 and 'id="idp-login"' in answer.text:
            action = re.search(r'action="(/interaction/[^"]+/login)"', answer.text).group(1)
            base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
            answer = client.post(base + action, data={"login": login, "password": PASSWORD})
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
        url = str(answer.url.join(answer.headers["location"]))
        if CALLBACK in url:
            return url
    raise AssertionError("the provider never sent the browser back")
