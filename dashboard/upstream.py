"""Wiring of the Live API client: which endpoint and transport this process talks to.

With `LIVE_API_ENDPOINT` set, the client speaks HTTPS to Alibaba Cloud; unset, it reaches the
embedded sandbox in-process through httpx's WSGI transport — same signing, same code path, no
socket. This is the only module that knows both the client (`dashboard.live`) and the sandbox;
services and selectors get the client here, views never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import httpx
from django.conf import settings
from django.core.cache import cache as django_cache

from dashboard.contract.text import storable
from dashboard.failures import UpstreamError
from dashboard.live import LiveApiError, LiveClient, is_ambiguous
from dashboard.live.client import CircuitBreaker
from dashboard.live.ratelimit import SlotLimiter

EMBEDDED_ENDPOINT = "http://live-sandbox.embedded"


class EmbeddedTransport(httpx.BaseTransport):
    """httpx's WSGI transport to the in-process sandbox, failing like a socket would."""

    def __init__(self, app):
        self._inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except httpx.HTTPError:
            raise
        except Exception as exc:  # the sandbox dropped the connection
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc


def embedded_transport() -> EmbeddedTransport:
    from dashboard.sandbox.app import application

    return EmbeddedTransport(application)


@cache
def get_client() -> LiveClient:
    """The long-lived client of this process, built from settings."""
    if settings.LIVE_API_ENDPOINT:
        endpoint = settings.LIVE_API_ENDPOINT
        transport: httpx.BaseTransport = httpx.HTTPTransport(retries=0)
    else:
        endpoint = EMBEDDED_ENDPOINT
        transport = embedded_transport()
    http = httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(settings.LIVE_API_TIMEOUT, connect=3.0),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        follow_redirects=False,
    )
    client = LiveClient(
        endpoint=endpoint,
        access_key_id=settings.ALIBABA_CLOUD_ACCESS_KEY_ID,
        access_key_secret=settings.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        region_id=settings.LIVE_REGION_ID,
        http=http,
        limiter=SlotLimiter(django_cache),
        rate_fraction=settings.LIVE_API_RATE_FRACTION,
        harvest_share=settings.LIVE_API_HARVEST_SHARE,
        deadline=settings.LIVE_API_TIMEOUT,
        breaker=CircuitBreaker(threshold=settings.LIVE_API_BREAKER_THRESHOLD),
    )
    from dashboard.ops.metrics import live_call_observed

    client.observe = live_call_observed  # calls by operation and outcome, for /metrics
    return client


def reset_client() -> None:
    """Forget the process-wide client (tests, settings changes)."""
    if get_client.cache_info().currsize:
        get_client().http.close()
    get_client.cache_clear()


def as_upstream_error(error: LiveApiError, *, outcome_unknown: bool = False) -> UpstreamError:
    """The service layer's error, its words storable: an upstream (or a proxy before it) may
    put a NUL or a lone surrogate in them, which PostgreSQL refuses to keep (a plan's refusal
    failed the whole plan) and a page should not carry."""
    return UpstreamError(
        code=storable(error.code or type(error).__name__),
        message=storable(error.message),
        request_id=storable(error.request_id),
        status_code=getattr(error, "status_code", None),
        refused=not is_ambiguous(error),
        outcome_unknown=outcome_unknown,
    )


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Inside: any client error leaves as an UpstreamError, the service layer's error."""
    try:
        yield
    except LiveApiError as error:
        raise as_upstream_error(error) from error
