"""Signed requests to the embedded sandbox, through the project's own client."""

from __future__ import annotations

import datetime as dt

import httpx

from dashboard.live import LiveClient
from dashboard.sandbox.app import application
from dashboard.upstream import EMBEDDED_ENDPOINT, EmbeddedTransport


def sandbox_client(
    *,
    key: str = "sandbox",
    secret: str = "sandbox-secret",
    utcnow=None,
    nonce=None,
    sleep=lambda s: None,
) -> LiveClient:
    kwargs = {}
    if utcnow is not None:
        kwargs["utcnow"] = utcnow
    if nonce is not None:
        kwargs["nonce"] = nonce
    return LiveClient(
        endpoint=EMBEDDED_ENDPOINT,
        access_key_id=key,
        access_key_secret=secret,
        http=httpx.Client(transport=EmbeddedTransport(application)),
        sleep=sleep,
        **kwargs,
    )


def raw_post(client: LiveClient, action: str, params: dict) -> httpx.Response:
    """One signed request, no retries, no client-side checks."""
    headers, query = client.sign(action, params)
    return client.http.post(client.endpoint + "/", params=query, headers=headers)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
