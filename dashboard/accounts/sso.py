"""Single sign-on with OpenID Connect: the protocol side, through Authlib's Django client.

Authlib (rather than django-allauth's generic OpenID Connect provider) because its client
checks everything a sign-in must prove — the `state` against the session, the `nonce` in the
ID token, the token's signature against the provider's published keys, its issuer, audience
and expiry — and sends PKCE, in one call; allauth's generic provider sends no nonce and skips
the signature check of a token it fetched itself, and would bring its own account pages and
models to a dashboard that keeps people on its People page.

On top of Authlib this module checks what OpenID Connect Discovery asks of the relying party:
the issuer the provider names is exactly the one configured (OIDC_ISSUER), the `iss` of the
authorization response (RFC 9207) too, and the user-info `sub` is the ID token's. What it hands
on is an `SsoPerson`; who that person is here and what they may do is `services.sso_sign_in`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.utils.translation import gettext as _
from joserfc.errors import JoseError

TIMEOUT = 10  # seconds, each call to the provider
MAX_GROUPS = 200  # a directory may list many groups; only these are looked at
MAX_TEXT = 255


class SsoRefused(Exception):
    """The sign-in cannot go on; the message says why, in words for the person.

    `failed_proof`: the provider's answer to a sign-in started in this browser failed its
    checks — what the address's attempts count. An answer to no sign-in started here (a stale
    or reused link, a callback another site's page made the browser open), a refusal by the
    provider, or one of our rules proves nothing, and counts for nothing: counted, any page an
    employee opened could lock the whole office out of signing in."""

    def __init__(self, message: str, *, failed_proof: bool = False):
        super().__init__(message)
        self.failed_proof = failed_proof


def _failed_proof() -> SsoRefused:
    return SsoRefused(
        _("The identity provider's answer failed its checks: sign-in refused."), failed_proof=True
    )


@dataclass(frozen=True)
class SsoPerson:
    issuer: str
    subject: str
    username: str  # preferred_username, else the e-mail's local part, else the subject
    name: str
    email: str
    groups: tuple[str, ...]
    id_token: str = field(default="", repr=False)  # the provider's, as a hint when signing out


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def _client():
    oauth = OAuth()
    return oauth.register(
        "company",
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        server_metadata_url=f"{settings.OIDC_ISSUER}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.OIDC_SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT,
        },
    )


def _unreachable() -> SsoRefused:
    return SsoRefused(_("The identity provider did not answer. Try again in a minute."))


def _checked(client):
    """The client, once the provider's metadata names the configured issuer."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable() from exc
    if str(metadata.get("issuer", "")).rstrip("/") != settings.OIDC_ISSUER:
        raise SsoRefused(
            _(
                "The identity provider names itself with another issuer than the one "
                "configured: sign-in refused. Ask whoever runs the dashboard."
            )
        )
    return client


def start(request, redirect_uri: str):
    """The redirect to the provider's sign-in, with state, nonce and PKCE kept in the
    session."""
    client = _checked(_client())
    try:
        return client.authorize_redirect(request, redirect_uri)
    except (requests.RequestException, OAuthError) as exc:
        raise _unreachable() from exc


def _clean(value, limit: int = MAX_TEXT) -> str:
    """Text from the provider as stored here: one line (line breaks, tabs and the Unicode line
    and paragraph separators become one space; other control and format characters go), NFC,
    bounded."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch)[0] != "C" or ch.isspace()
    )
    return " ".join(text.split())[:limit]


def _as_sent(value) -> str | None:
    """An identifier from the provider (a subject, a group's name) exactly as sent, in NFC, or
    None when it is not one line of at most MAX_TEXT characters. Identifiers are never cleaned
    into shape: two different ones must never become one (`a\tb` and `ab`, `a\u200bb` and `ab`)."""
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFC", value)
    if not text or len(text) > MAX_TEXT or text != text.strip():
        return None
    if any(unicodedata.category(ch)[0] == "C" or (ch.isspace() and ch != " ") for ch in text):
        return None
    return text


def _groups(claims: dict) -> tuple[str, ...]:
    raw = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        return ()
    seen: dict[str, None] = {}
    for item in raw[:MAX_GROUPS]:
        if name := _as_sent(item):  # a name no mapping could have is no group of ours
            seen.setdefault(name, None)
    return tuple(seen)


def finish(request) -> SsoPerson:
    """Check the provider's answer on the callback and say who signed in."""
    if request.GET.get("error"):
        raise SsoRefused(
            _("The identity provider refused the sign-in: %(error)s")
            % {"error": _clean(request.GET.get("error_description") or request.GET["error"])}
        )
    client = _checked(_client())
    returned_issuer = request.GET.get("iss")
    if returned_issuer is not None and returned_issuer.rstrip("/") != settings.OIDC_ISSUER:
        raise SsoRefused(_("The answer came from another issuer: sign-in refused."))
    try:
        token = client.authorize_access_token(request)
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            raise SsoRefused(
                _("This sign-in was not started in this browser, or was already used. Start again.")
            ) from exc
        raise _failed_proof() from exc
    except JoseError as exc:  # nonce, signature, issuer, audience or expiry of the ID token
        raise _failed_proof() from exc
    except requests.RequestException as exc:
        raise _unreachable() from exc
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise SsoRefused(
            _("The identity provider sent no ID token: sign-in refused."), failed_proof=True
        )
    subject = _as_sent(claims["sub"])
    if subject is None or subject != claims["sub"]:
        raise _failed_proof()
    try:
        info = dict(client.userinfo(token=token))
    except (requests.RequestException, OAuthError, ValueError) as exc:
        raise _unreachable() from exc
    if info.get("sub") != claims["sub"]:
        raise _failed_proof()
    claims.update(info)
    email = _clean(claims.get("email"), 254)
    username = _clean(claims.get("preferred_username"), 150) or email.partition("@")[0]
    return SsoPerson(
        issuer=settings.OIDC_ISSUER,
        subject=subject,
        username=username or subject[:150],
        name=_clean(claims.get("name"), 150),
        email=email,
        groups=_groups(claims),
        id_token=str(token.get("id_token") or ""),
    )


def end_session_url(id_token: str, come_back_to: str) -> str | None:
    """Where the browser goes so that the provider ends its session too (OpenID Connect
    RP-Initiated Logout), to be sent back to `come_back_to` (a URI registered at the provider
    for that); None when OIDC_END_SESSION is off or the provider names no end_session_endpoint.
    Raises SsoRefused when the provider does not answer."""
    if not (enabled() and settings.OIDC_END_SESSION and id_token):
        return None
    client = _checked(_client())
    endpoint = str(client.load_server_metadata().get("end_session_endpoint") or "")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_CLIENT_ID,
            "post_logout_redirect_uri": come_back_to,
        }
    )
    return f"{endpoint}{'&' if parts.query else '?'}{query}"
