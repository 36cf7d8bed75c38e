"""The signed httpx client for the ApsaraVideo Live OpenAPI, with typed operations."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from dashboard.contract import api, signing
from dashboard.contract.text import storable

from .errors import (
    CircuitOpenError,
    ConfigAlreadyExistsError,
    LiveApiError,
    LiveConnectionError,
    LiveDeadlineExceeded,
    LiveTimeoutError,
    LiveValidationError,
    NotFoundError,
    error_class_for,
)
from .ratelimit import SlotLimiter
from .retry import MAX_ATTEMPTS, full_jitter, is_ambiguous, retry_delay, should_retry
from .types import (
    DomainMapping,
    DomainsPage,
    LiveDomain,
    LiveRecordNotifyConfig,
    LiveSnapshotNotifyConfig,
    LiveStreamsNotifyConfig,
    NotifyRecord,
    NotifyRecordsPage,
    PublishListPage,
)

logger = logging.getLogger("dashboard.live")

USER_AGENT = "live-callback-dashboard/0.1 (httpx)"
SIGNED_HEADERS = [
    "accept",
    "host",
    "user-agent",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
]
# Operations that take RegionId (docs/live-api.md).
_REGIONAL = {
    api.ADD_SNAPSHOT,
    api.UPDATE_SNAPSHOT,
    api.DESCRIBE_SNAPSHOT,
    api.DELETE_SNAPSHOT,
    api.DESCRIBE_RECORDS,
    api.DESCRIBE_STREAM,
    api.DELETE_STREAM,
    api.DESCRIBE_STREAM_RECORDS,
    api.DESCRIBE_PUBLISH_LIST,
    api.DESCRIBE_MAPPING,
}
HARVEST_LANE = "harvest"


class CircuitBreaker:
    """Stop calling an upstream that keeps failing; let one probe through after a pause."""

    def __init__(self, *, threshold: int = 8, cooldown: float = 15.0, clock=time.monotonic):
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None and self.clock() - self._opened_at < self.cooldown

    def before_call(self) -> None:
        if self.threshold and self.is_open:
            raise CircuitOpenError(
                "The Live API failed repeatedly; calls are paused for a few seconds."
            )

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures = 0
                self._opened_at = None
                return
            self._failures += 1
            if self.threshold and self._failures >= self.threshold:
                self._opened_at = self.clock()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _nonce() -> str:
    return uuid.uuid4().hex


def _decode_leniently(content: bytes):
    """JSON orjson refused: a lone surrogate escape ("\\ud800") in one record's text must not
    lose a whole page (nor stop a harvest for good). The standard library reads it; the
    surrogates become U+FFFD, so every string in a typed result is valid text."""
    try:
        body = json.loads(content.decode("utf-8", "replace"))
    except ValueError:
        return None
    return _scrub(body)


def _scrub(value):
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _detail(exc: Exception) -> str:
    """An exception's text for inside parentheses: no trailing full stop, never empty."""
    return str(exc).rstrip(".") or type(exc).__name__


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


class LiveClient:
    def __init__(
        self,
        *,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        region_id: str = "cn-shanghai",
        http: httpx.Client,
        limiter: SlotLimiter | None = None,
        rate_fraction: float = 0.9,
        harvest_share: float = 0.5,
        deadline: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = full_jitter,
        clock: Callable[[], float] = time.time,
        utcnow: Callable[[], dt.datetime] = _utcnow,
        nonce: Callable[[], str] = _nonce,
        breaker: CircuitBreaker | None = None,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.host = httpx.URL(self.endpoint).netloc.decode()
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.region_id = region_id
        self.http = http
        self.limiter = limiter
        self.rate_fraction = rate_fraction
        self.harvest_share = harvest_share
        self.deadline = deadline
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        self.utcnow = utcnow
        self.nonce = nonce
        self.breaker = breaker or CircuitBreaker(threshold=0)
        # Told each operation's outcome once, after its retries ("ok", "throttled", or the
        # error's code): the dashboard's metrics (ops/metrics.py); nothing by default.
        self.observe: Callable[[str, str, bool], None] | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"<LiveClient {self.endpoint} key={self.access_key_id}>"

    # --- signing and one HTTP exchange ------------------------------------------------------

    def sign(self, action: str, params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query for a V3-signed POST / with an empty body."""
        headers = {
            "accept": "application/json",
            "host": self.host,
            "user-agent": USER_AGENT,
            "x-acs-action": action,
            "x-acs-content-sha256": signing.EMPTY_SHA256,
            "x-acs-date": self.utcnow().strftime(api.TIME_FORMAT),
            "x-acs-signature-nonce": self.nonce(),
            "x-acs-version": api.API_VERSION,
        }
        canonical = signing.canonical_request_v3(
            method="POST", params=params, headers=headers, signed_headers=SIGNED_HEADERS
        )
        signature = signing.signature_v3(self._secret, signing.string_to_sign_v3(canonical))
        headers["authorization"] = signing.authorization_v3(
            self.access_key_id, SIGNED_HEADERS, signature
        )
        return headers, params

    def _send_once(self, action: str, params: dict[str, str], *, timeout: float) -> dict:
        headers, query = self.sign(action, params)
        # The query string sent is the canonical one that was signed, byte for byte; the
        # request is built once and handed to the pooled client as it is.
        request = httpx.Request(
            "POST",
            f"{self.endpoint}/?{signing.canonical_query_v3(query)}",
            headers={**headers, "accept-encoding": "gzip, deflate"},
            extensions={"timeout": httpx.Timeout(timeout, connect=min(3.0, timeout)).as_dict()},
        )
        try:
            response = self.http.send(request)
        except httpx.TimeoutException as exc:
            raise LiveTimeoutError(
                f"The Live API did not answer in time ({_detail(exc)}).", action=action
            ) from exc
        except httpx.TransportError as exc:
            raise LiveConnectionError(
                f"Could not reach the Live API ({_detail(exc)}).", action=action
            ) from exc
        try:
            # orjson: a records page is ~400 KB of JSON; the standard library's decoder took
            # a tenth of the harvester's CPU, this takes a quarter of that (bodies are UTF-8)
            body = orjson.loads(response.content)
        except ValueError:  # orjson.JSONDecodeError included
            body = _decode_leniently(response.content)
        if not isinstance(body, dict):
            status = response.status_code
            if status >= 400 or body is None:
                cls = error_class_for(status, "")
                raise cls(
                    f"Unexpected HTTP {status} answer without a JSON error body.",
                    action=action,
                    status_code=status,
                    code=f"HTTP{status}",
                    request_id=response.headers.get("x-acs-request-id", ""),
                )
        if response.status_code >= 400:
            code = str(body.get("Code") or f"HTTP{response.status_code}")
            retry_after = response.headers.get("x-acs-retry-after")
            try:
                # UNCONFIRMED unit: read as seconds, like HTTP's Retry-After.
                retry_after_s = float(retry_after) if retry_after else None
            except ValueError:
                retry_after_s = None
            cls = error_class_for(response.status_code, code)
            raise cls(
                str(body.get("Message") or ""),
                action=action,
                status_code=response.status_code,
                code=code,
                request_id=str(
                    body.get("RequestId") or response.headers.get("x-acs-request-id", "")
                ),
                host_id=str(body.get("HostId") or ""),
                retry_after=retry_after_s,
            )
        return body

    # --- the call loop: budget, deadline, retries ----------------------------------------------

    def budget(self, action: str, lane: str | None = None) -> tuple[str, float]:
        """The rate-budget key and calls per second for one operation (and lane).

        Each operation has its documented per-account QPS (docs/live-api.md); the client allows
        itself `rate_fraction` of it. The records query is split in two lanes, so the archive's
        harvester (lane "harvest") can never starve the pages people are looking at.
        """
        rate = api.ACTION_QPS[action] * self.rate_fraction
        key = f"{self.access_key_id}:{action}"
        if action in (api.DESCRIBE_RECORDS, api.DESCRIBE_STREAM_RECORDS):
            share = self.harvest_share if lane == HARVEST_LANE else 1.0 - self.harvest_share
            return f"{key}:{lane or 'interactive'}", max(rate * share, 0.1)
        return key, rate

    def call(
        self,
        action: str,
        params: dict[str, Any],
        *,
        deadline: float | None = None,
        lane: str | None = None,
    ) -> dict:
        """Send one operation with retries; returns the JSON body or raises LiveApiError."""
        if self.observe is None:
            return self._call(action, params, deadline=deadline, lane=lane)
        try:
            body = self._call(action, params, deadline=deadline, lane=lane)
        except LiveApiError as error:
            code = error.code or type(error).__name__
            outcome = "throttled" if code.startswith("Throttling") else code
            self.observe(action, outcome, self.breaker.is_open)
            raise
        self.observe(action, "ok", self.breaker.is_open)
        return body

    def _call(
        self,
        action: str,
        params: dict[str, Any],
        *,
        deadline: float | None,
        lane: str | None,
    ) -> dict:
        if action not in api.ACTIONS:
            raise LiveValidationError(f"Unknown Live API action {action!r}.", action=action)
        query = {k: str(v) for k, v in params.items() if v is not None}
        if action in _REGIONAL and self.region_id:
            query.setdefault("RegionId", self.region_id)
        budget = self.deadline if deadline is None else deadline
        ends_at = self.clock() + budget
        ambiguous = False
        last_error: LiveApiError | None = None
        for attempt in range(MAX_ATTEMPTS):
            self.breaker.before_call()
            if self.limiter is not None:
                key, rate = self.budget(action, lane)
                self.limiter.acquire(key, rate, deadline=ends_at)
            remaining = ends_at - self.clock()
            if remaining <= 0:
                raise last_error or LiveDeadlineExceeded(
                    "The call's deadline passed before it could be sent.", action=action
                )
            try:
                body = self._send_once(action, query, timeout=remaining)
            except ConfigAlreadyExistsError:
                self.breaker.record(True)
                if ambiguous and action in (api.ADD_RECORD, api.ADD_SNAPSHOT):
                    # An earlier attempt may have created it: adopt it only if it is ours.
                    return self._resolve_add(action, query, ends_at)
                raise
            except LiveApiError as error:
                # Only a failing upstream (5xx, no answer) opens the breaker; throttling
                # means "slow down", which the retry back-off already does.
                self.breaker.record(not is_ambiguous(error))
                last_error = error
                ambiguous = ambiguous or is_ambiguous(error)
                if not should_retry(error) or attempt + 1 >= MAX_ATTEMPTS:
                    raise
                delay = retry_delay(
                    attempt, getattr(error, "retry_after", None), jitter=self.jitter
                )
                if self.clock() + delay >= ends_at:
                    raise
                logger.warning(
                    "live api retry action=%s attempt=%d code=%s request_id=%s delay=%.2fs",
                    action,
                    attempt + 1,
                    error.code or type(error).__name__,
                    error.request_id,
                    delay,
                )
                self.sleep(delay)
                continue
            self.breaker.record(True)
            return body
        raise last_error or LiveDeadlineExceeded("No attempt was made.", action=action)

    def _resolve_add(self, action: str, query: dict[str, str], ends_at: float) -> dict:
        describe = api.DESCRIBE_RECORD if action == api.ADD_RECORD else api.DESCRIBE_SNAPSHOT
        remaining = max(0.5, ends_at - self.clock())
        body = self.call(describe, {"DomainName": query["DomainName"]}, deadline=remaining)
        current = (
            LiveRecordNotifyConfig.from_body(body)
            if action == api.ADD_RECORD
            else LiveSnapshotNotifyConfig.from_body(body)
        )
        if current.notify_url == query.get("NotifyUrl"):
            logger.info(
                "live api %s resolved by Describe after an ambiguous failure (request_id=%s)",
                action,
                current.request_id,
            )
            return {"RequestId": current.request_id}
        raise ConfigAlreadyExistsError(
            "A callback configuration already exists for this domain.",
            action=action,
            status_code=400,
            code="ConfigAlreadyExists",
            request_id=current.request_id,
        )

    # --- one domain's config: what the three kinds' Describe and Delete share ----------------

    def _config_body(self, action: str, domain: str, deadline: float | None) -> dict | None:
        """The Describe's answer, or None when Live says the config is not there (a not-found
        code other than the domain's own)."""
        _require(domain, "DomainName")
        try:
            return self.call(action, {"DomainName": domain}, deadline=deadline)
        except NotFoundError as error:
            if error.code == "InvalidDomain.NotFound":
                raise
            return None

    def _config_delete(self, action: str, domain: str, deadline: float | None) -> str:
        _require(domain, "DomainName")
        return self.call(action, {"DomainName": domain}, deadline=deadline).get("RequestId", "")

    # --- recording callback ------------------------------------------------------------------

    def _record_params(
        self,
        domain: str,
        notify_url: str,
        on_demand_url,
        need_status_notify,
        notify_req_auth,
        notify_auth_key,
    ) -> dict[str, Any]:
        _require(domain, "DomainName")
        _require(notify_url, "NotifyUrl")
        if notify_auth_key and not api.is_valid_auth_key(notify_auth_key):
            raise LiveValidationError("NotifyAuthKey must be 16 to 32 letters and digits.")
        if notify_req_auth and not notify_auth_key:
            raise LiveValidationError("NotifyAuthKey is required when NotifyReqAuth is on.")
        return {
            "DomainName": domain,
            "NotifyUrl": notify_url,
            "OnDemandUrl": on_demand_url,
            "NeedStatusNotify": None
            if need_status_notify is None
            else _bool_text(need_status_notify),
            "NotifyReqAuth": None if notify_req_auth is None else _bool_text(notify_req_auth),
            "NotifyAuthKey": notify_auth_key or None,
        }

    def add_record_notify_config(
        self,
        domain: str,
        notify_url: str,
        *,
        on_demand_url: str | None = None,
        need_status_notify: bool | None = None,
        notify_req_auth: bool | None = None,
        notify_auth_key: str | None = None,
        deadline: float | None = None,
    ) -> str:
        params = self._record_params(
            domain, notify_url, on_demand_url, need_status_notify, notify_req_auth, notify_auth_key
        )
        return self.call(api.ADD_RECORD, params, deadline=deadline).get("RequestId", "")

    def update_record_notify_config(
        self,
        domain: str,
        notify_url: str,
        *,
        on_demand_url: str | None = None,
        need_status_notify: bool | None = None,
        notify_req_auth: bool | None = None,
        notify_auth_key: str | None = None,
        deadline: float | None = None,
    ) -> str:
        params = self._record_params(
            domain, notify_url, on_demand_url, need_status_notify, notify_req_auth, notify_auth_key
        )
        return self.call(api.UPDATE_RECORD, params, deadline=deadline).get("RequestId", "")

    def describe_record_notify_config(
        self, domain: str, *, deadline: float | None = None
    ) -> LiveRecordNotifyConfig | None:
        """The domain's recording callback, or None when it has none."""
        body = self._config_body(api.DESCRIBE_RECORD, domain, deadline)
        if body is None:
            return None
        if not body.get("LiveRecordNotifyConfig"):
            return None
        return LiveRecordNotifyConfig.from_body(body)

    def delete_record_notify_config(self, domain: str, *, deadline: float | None = None) -> str:
        return self._config_delete(api.DELETE_RECORD, domain, deadline)

    # --- snapshot callback -----------------------------------------------------------------

    def _snapshot_params(
        self, domain, notify_url, notify_req_auth, notify_auth_key
    ) -> dict[str, Any]:
        _require(domain, "DomainName")
        if notify_url is not None and len(notify_url) > api.SNAPSHOT_URL_MAX:
            raise LiveValidationError(
                f"NotifyUrl may not exceed {api.SNAPSHOT_URL_MAX} characters."
            )
        if notify_auth_key and not api.is_valid_auth_key(notify_auth_key):
            raise LiveValidationError("NotifyAuthKey must be 16 to 32 letters and digits.")
        if notify_req_auth and not notify_auth_key:
            raise LiveValidationError("NotifyAuthKey is required when NotifyReqAuth is yes.")
        return {
            "DomainName": domain,
            "NotifyUrl": notify_url,
            "NotifyReqAuth": None
            if notify_req_auth is None
            else ("yes" if notify_req_auth else "no"),
            "NotifyAuthKey": notify_auth_key or None,
        }

    def add_snapshot_notify_config(
        self,
        domain: str,
        notify_url: str,
        *,
        notify_req_auth: bool | None = None,
        notify_auth_key: str | None = None,
        deadline: float | None = None,
    ) -> str:
        _require(notify_url, "NotifyUrl")
        params = self._snapshot_params(domain, notify_url, notify_req_auth, notify_auth_key)
        return self.call(api.ADD_SNAPSHOT, params, deadline=deadline).get("RequestId", "")

    def update_snapshot_notify_config(
        self,
        domain: str,
        *,
        notify_url: str | None = None,
        notify_req_auth: bool | None = None,
        notify_auth_key: str | None = None,
        deadline: float | None = None,
    ) -> str:
        params = self._snapshot_params(domain, notify_url, notify_req_auth, notify_auth_key)
        return self.call(api.UPDATE_SNAPSHOT, params, deadline=deadline).get("RequestId", "")

    def describe_snapshot_notify_config(
        self, domain: str, *, deadline: float | None = None
    ) -> LiveSnapshotNotifyConfig | None:
        body = self._config_body(api.DESCRIBE_SNAPSHOT, domain, deadline)
        if body is None:
            return None
        if not body.get("NotifyUrl"):
            return None
        return LiveSnapshotNotifyConfig.from_body(body)

    def delete_snapshot_notify_config(self, domain: str, *, deadline: float | None = None) -> str:
        return self._config_delete(api.DELETE_SNAPSHOT, domain, deadline)

    # --- stream ingest callback (ingest domains) ---------------------------------------------

    def set_streams_notify_config(
        self,
        domain: str,
        notify_url: str | None = None,
        *,
        exception_notify_url: str | None = None,
        notify_req_auth: bool | None = None,
        notify_auth_key: str | None = None,
        deadline: float | None = None,
    ) -> str:
        """Set an ingest domain's stream callback (there is no Add/Update pair: Set writes,
        whether or not the domain has one)."""
        _require(domain, "DomainName")
        for name, url in (("NotifyUrl", notify_url), ("ExceptionNotifyUrl", exception_notify_url)):
            if url and len(url) > api.STREAM_URL_MAX:
                raise LiveValidationError(f"{name} may not exceed {api.STREAM_URL_MAX} characters.")
        if notify_auth_key and not api.is_valid_auth_key(notify_auth_key, stream=True):
            raise LiveValidationError("NotifyAuthKey must be 16 to 64 letters and digits.")
        if notify_req_auth and not notify_auth_key:
            raise LiveValidationError("NotifyAuthKey is required when NotifyReqAuth is yes.")
        params = {
            "DomainName": domain,
            "NotifyUrl": notify_url,
            "ExceptionNotifyUrl": exception_notify_url or None,
            "NotifyReqAuth": None
            if notify_req_auth is None
            else ("yes" if notify_req_auth else "no"),
            "NotifyAuthKey": notify_auth_key or None,
        }
        return self.call(api.SET_STREAM, params, deadline=deadline).get("RequestId", "")

    def describe_streams_notify_config(
        self, domain: str, *, deadline: float | None = None
    ) -> LiveStreamsNotifyConfig | None:
        """The ingest domain's stream callback, or None when it has none (an empty answer or
        a not-found code: which one Live gives is UNCONFIRMED, so both are read as none)."""
        body = self._config_body(api.DESCRIBE_STREAM, domain, deadline)
        if body is None:
            return None
        config = LiveStreamsNotifyConfig.from_body(body)
        return config if config.notify_url or config.exception_notify_url else None

    def delete_streams_notify_config(self, domain: str, *, deadline: float | None = None) -> str:
        return self._config_delete(api.DELETE_STREAM, domain, deadline)

    def describe_stream_notify_records(
        self,
        domain: str,
        *,
        start: dt.datetime,
        end: dt.datetime,
        page_number: int = 1,
        page_size: int = 20,
        app_name: str | None = None,
        stream_name: str | None = None,
        status: str | None = None,
        now: dt.datetime | None = None,
        deadline: float | None = None,
        lane: str | None = None,
    ) -> NotifyRecordsPage:
        """The ingest domain's publish / publish_done deliveries of the last 7 days."""
        params = self._records_params(
            domain, start, end, page_number, page_size, app_name, stream_name, status, None, now
        )
        return NotifyRecordsPage.from_stream_body(
            self.call(api.DESCRIBE_STREAM_RECORDS, params, deadline=deadline, lane=lane)
        )

    def describe_streams_publish_list(
        self,
        domain: str,
        *,
        start: dt.datetime,
        end: dt.datetime,
        app_name: str | None = None,
        stream_name: str | None = None,
        page_number: int = 1,
        page_size: int = api.PUBLISH_PAGE_SIZE_MAX,
        now: dt.datetime | None = None,
        deadline: float | None = None,
    ) -> PublishListPage:
        """The push history: every push session of the domain's streams in [start, end) (the
        last 30 days, at most 30 days at once), oldest first. A stream name is matched
        exactly (QueryType strict)."""
        _require(domain, "DomainName")
        now = now or self.utcnow()
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise LiveValidationError("StartTime and EndTime must be aware, EndTime later.")
        if start < now - api.PUBLISH_WINDOW - dt.timedelta(minutes=5):
            raise LiveValidationError("Only the last 30 days of push history can be queried.")
        if not 1 <= page_size <= api.PUBLISH_PAGE_SIZE_MAX:
            raise LiveValidationError(
                f"PageSize must be between 1 and {api.PUBLISH_PAGE_SIZE_MAX}."
            )
        params = {
            "DomainName": domain,
            "StartTime": api.format_time(start),
            "EndTime": api.format_time(end),
            "AppName": app_name or None,
            "StreamName": stream_name or None,
            "QueryType": "strict" if stream_name else None,
            "OrderBy": "publish_time_asc",
            "PageNumber": page_number,
            "PageSize": page_size,
        }
        return PublishListPage.from_body(
            self.call(api.DESCRIBE_PUBLISH_LIST, params, deadline=deadline)
        )

    def describe_domain_mapping(
        self, domain: str, *, deadline: float | None = None
    ) -> list[DomainMapping]:
        """The domains mapped to `domain`: an ingest domain's streaming domains, a streaming
        domain's ingest domain (and its sub-streaming domains); none when it has none."""
        _require(domain, "DomainName")
        body = self.call(api.DESCRIBE_MAPPING, {"DomainName": domain}, deadline=deadline)
        return DomainMapping.list_from_body(body)

    # --- notify records --------------------------------------------------------------------

    def _records_params(
        self,
        domain,
        start,
        end,
        page_number,
        page_size,
        app_name,
        stream_name,
        status,
        storage_type,
        now,
    ) -> dict[str, Any]:
        """Both records queries' parameters, checked (the stream one takes no StorageType)."""
        _require(domain, "DomainName")
        validate_records_query(
            start=start,
            end=end,
            page_number=page_number,
            page_size=page_size,
            status=status,
            storage_type=storage_type,
            now=now or self.utcnow(),
        )
        return {
            "DomainName": domain,
            "StartTime": api.format_time(start),
            "EndTime": api.format_time(end),
            "PageNumber": page_number,
            "PageSize": page_size,
            "AppName": app_name or None,
            "StreamName": stream_name or None,
            "Status": status or None,
            "StorageType": storage_type or None,
        }

    def describe_notify_records(
        self,
        domain: str,
        *,
        start: dt.datetime,
        end: dt.datetime,
        page_number: int = 1,
        page_size: int = 20,
        app_name: str | None = None,
        stream_name: str | None = None,
        status: str | None = None,
        storage_type: str | None = None,
        now: dt.datetime | None = None,
        deadline: float | None = None,
        lane: str | None = None,
    ) -> NotifyRecordsPage:
        params = self._records_params(
            domain,
            start,
            end,
            page_number,
            page_size,
            app_name,
            stream_name,
            status,
            storage_type,
            now,
        )
        return NotifyRecordsPage.from_body(
            self.call(api.DESCRIBE_RECORDS, params, deadline=deadline, lane=lane)
        )

    def iter_notify_records(
        self, domain: str, *, page_size: int = 500, stream: bool = False, **filters
    ) -> Iterator[NotifyRecord]:
        """Every record matching the filters, page after page (`stream`: an ingest domain's
        stream callbacks)."""
        describe = self.describe_stream_notify_records if stream else self.describe_notify_records
        page_number = 1
        while True:
            page = describe(domain, page_number=page_number, page_size=page_size, **filters)
            yield from page.records
            if page_number >= page.total_page or not page.records:
                return
            page_number += 1

    # --- domains ---------------------------------------------------------------------------

    def describe_user_domains(
        self,
        *,
        page_number: int = 1,
        page_size: int = 50,
        domain_name: str | None = None,
        search_type: str | None = None,
        status: str | None = None,
        domain_type: str | None = None,
        deadline: float | None = None,
    ) -> DomainsPage:
        if not 1 <= page_size <= api.DOMAINS_PAGE_SIZE_MAX:
            raise LiveValidationError(
                f"PageSize must be between 1 and {api.DOMAINS_PAGE_SIZE_MAX}."
            )
        if page_number < 1:
            raise LiveValidationError("PageNumber must be 1 or more.")
        if search_type and search_type not in api.DOMAIN_SEARCH_TYPES:
            raise LiveValidationError(
                f"DomainSearchType must be one of {', '.join(api.DOMAIN_SEARCH_TYPES)}."
            )
        if status and status not in api.DOMAIN_STATUSES:
            raise LiveValidationError(
                f"DomainStatus must be one of {', '.join(api.DOMAIN_STATUSES)}."
            )
        if domain_type and domain_type not in api.DOMAIN_TYPES:
            raise LiveValidationError(
                f"LiveDomainType must be one of {', '.join(api.DOMAIN_TYPES)}."
            )
        params = {
            "PageNumber": page_number,
            "PageSize": page_size,
            "DomainName": domain_name or None,
            "DomainSearchType": search_type or None,
            "DomainStatus": status or None,
            "LiveDomainType": domain_type or None,
        }
        return DomainsPage.from_body(self.call(api.DESCRIBE_DOMAINS, params, deadline=deadline))

    def iter_user_domains(self, **filters) -> Iterator[LiveDomain]:
        page_number = 1
        seen = 0
        while True:
            page = self.describe_user_domains(
                page_number=page_number, page_size=api.DOMAINS_PAGE_SIZE_MAX, **filters
            )
            yield from page.domains
            seen += len(page.domains)
            if not page.domains or seen >= page.total_count:
                return
            page_number += 1


def _require(value: str | None, name: str) -> None:
    if not value:
        raise LiveValidationError(f"{name} is required.")


def validate_records_query(
    *,
    start: dt.datetime,
    end: dt.datetime,
    page_number: int,
    page_size: int,
    status: str | None,
    now: dt.datetime,
    storage_type: str | None = None,
) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise LiveValidationError("StartTime and EndTime must be timezone-aware.")
    if end <= start:
        raise LiveValidationError("EndTime must be later than StartTime.")
    if start < now - api.RECORDS_WINDOW - dt.timedelta(minutes=5):
        raise LiveValidationError("Only the last 7 days of callback records can be queried.")
    if not 1 <= page_size <= api.RECORDS_PAGE_SIZE_MAX:
        raise LiveValidationError(f"PageSize must be between 1 and {api.RECORDS_PAGE_SIZE_MAX}.")
    if not 1 <= page_number <= api.RECORDS_PAGE_NUMBER_MAX:
        raise LiveValidationError(
            f"PageNumber must be between 1 and {api.RECORDS_PAGE_NUMBER_MAX}."
        )
    if status and status not in api.NOTIFY_RESULTS:
        raise LiveValidationError("Status must be success or failed.")
    if storage_type and storage_type not in api.STORAGE_TYPES:
        raise LiveValidationError("StorageType must be oss, vod or all.")
