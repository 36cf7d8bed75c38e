"""The client's own logic over an httpx.MockTransport: parameters, parsing, errors, retries."""

import datetime as dt
from urllib.parse import parse_qsl

import httpx
import pytest

from dashboard.contract import signing
from dashboard.live import (
    AuthError,
    ConfigAlreadyExistsError,
    InvalidInputError,
    LiveClient,
    LiveConnectionError,
    LiveTimeoutError,
    LiveValidationError,
    NotFoundError,
    ServerError,
    ThrottlingError,
)
from dashboard.live.client import CircuitBreaker
from dashboard.live.errors import CircuitOpenError
from dashboard.live.retry import retry_delay, should_retry
from dashboard.live.types import parse_json_tolerant

NOW = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 4))
        self.now += seconds


def make(handler, *, clock=None, deadline=10.0, breaker=None):
    clock = clock or FakeClock()
    client = LiveClient(
        endpoint="https://live.aliyuncs.com",
        access_key_id="AKID",
        access_key_secret="secret",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.5,
        utcnow=lambda: NOW,
        deadline=deadline,
        breaker=breaker,
    )
    return client, clock


def error(status, code, message="boom", request_id="REQ-1", headers=None):
    body = {
        "RequestId": request_id,
        "HostId": "live.aliyuncs.com",
        "Code": code,
        "Message": message,
    }
    return httpx.Response(status, json=body, headers=headers or {})


def recorder(responses):
    seen = []
    queue = list(responses)

    def handler(request):
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def query(request):
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


# --- outgoing parameters --------------------------------------------------------------------


def test_update_record_sends_post_with_params_in_query_and_empty_body():
    handler, seen = recorder([httpx.Response(200, json={"RequestId": "R1"})])
    client, _ = make(handler)
    rid = client.update_record_notify_config(
        "live.example.com",
        "https://hooks.example.com/cb",
        on_demand_url="https://hooks.example.com/od",
        need_status_notify=True,
        notify_req_auth=True,
        notify_auth_key="abcdefghij0123456789",
    )
    assert rid == "R1"
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/" and request.content == b""
    assert request.headers["x-acs-action"] == "UpdateLiveRecordNotifyConfig"
    assert request.headers["x-acs-version"] == "2016-11-01"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=AKID,")
    assert query(request) == {
        "DomainName": "live.example.com",
        "NotifyUrl": "https://hooks.example.com/cb",
        "OnDemandUrl": "https://hooks.example.com/od",
        "NeedStatusNotify": "true",
        "NotifyReqAuth": "true",
        "NotifyAuthKey": "abcdefghij0123456789",
    }


def test_the_query_sent_is_the_canonical_one_that_was_signed():
    handler, seen = recorder([httpx.Response(200, json={"RequestId": "R1"})])
    client, _ = make(handler)
    url = "https://hooks.example.com/cb?a=1&b=%20*~&c=中"
    client.update_record_notify_config("live.example.com", url)
    sent = seen[0].url.query.decode()
    # Sorted, RFC 3986-encoded (space %20, * %2A, ~ kept, UTF-8 bytes): the signed form.
    assert sent == signing.canonical_query_v3(query(seen[0]))
    encoded = "https%3A%2F%2Fhooks.example.com%2Fcb%3Fa%3D1%26b%3D%2520%2A~%26c%3D%E4%B8%AD"
    assert f"NotifyUrl={encoded}" in sent
    assert query(seen[0])["NotifyUrl"] == url


def test_snapshot_params_use_yes_no_and_region():
    handler, seen = recorder([httpx.Response(200, json={"RequestId": "R2"})])
    client, _ = make(handler)
    client.add_snapshot_notify_config(
        "d.example.com", "https://h.example.com/s", notify_req_auth=False
    )
    assert query(seen[0]) == {
        "DomainName": "d.example.com",
        "NotifyUrl": "https://h.example.com/s",
        "NotifyReqAuth": "no",
        "RegionId": "cn-shanghai",
    }


def test_records_query_formats_times_and_filters():
    body = {
        "RequestId": "R",
        "PageNum": 2,
        "PageSize": 50,
        "TotalNum": 120,
        "TotalPage": 3,
        "CallbackList": [],
    }
    handler, seen = recorder([httpx.Response(200, json=body)])
    client, _ = make(handler)
    page = client.describe_notify_records(
        "d.example.com",
        start=NOW - dt.timedelta(hours=1),
        end=NOW,
        page_number=2,
        page_size=50,
        app_name="live",
        status="failed",
    )
    q = query(seen[0])
    assert q["StartTime"] == "2026-11-23T11:00:00Z" and q["EndTime"] == "2026-11-23T12:00:00Z"
    assert q["PageNumber"] == "2" and q["PageSize"] == "50" and q["AppName"] == "live"
    assert q["Status"] == "failed" and "StreamName" not in q
    assert (page.page_number, page.total_num, page.total_page) == (2, 120, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size": 0}, "PageSize"),
        ({"page_size": 501}, "PageSize"),
        ({"page_number": 0}, "PageNumber"),
        ({"status": "ok"}, "Status"),
        ({"start": NOW - dt.timedelta(days=8)}, "7 days"),
        ({"start": NOW, "end": NOW - dt.timedelta(hours=1)}, "later"),
    ],
)
def test_records_query_is_validated_before_sending(kwargs, message):
    handler, seen = recorder([])
    client, _ = make(handler)
    params = {"start": NOW - dt.timedelta(hours=1), "end": NOW, **kwargs}
    with pytest.raises(LiveValidationError, match=message):
        client.describe_notify_records("d.example.com", **params)
    assert seen == []


def test_auth_key_rules_checked_before_sending():
    handler, seen = recorder([])
    client, _ = make(handler)
    with pytest.raises(LiveValidationError):
        client.add_record_notify_config("d", "https://h.example.com", notify_auth_key="short")
    with pytest.raises(LiveValidationError):
        client.add_record_notify_config("d", "https://h.example.com", notify_req_auth=True)
    assert seen == []


# --- response parsing -----------------------------------------------------------------------


def test_record_config_booleans_parse_every_spelling():
    for raw in (True, "true", "True", "yes"):
        body = {
            "RequestId": "R",
            "LiveRecordNotifyConfig": {
                "DomainName": "d",
                "NotifyUrl": "https://x.example.com",
                "NeedStatusNotify": raw,
                "NotifyReqAuth": "false",
            },
        }
        handler, _ = recorder([httpx.Response(200, json=body)])
        client, _ = make(handler)
        config = client.describe_record_notify_config("d")
        assert config.need_status_notify is True and config.notify_req_auth is False


def test_snapshot_config_is_flat_with_yes_no():
    body = {
        "RequestId": "R",
        "DomainName": "d",
        "NotifyUrl": "https://x.example.com/s",
        "NotifyReqAuth": "yes",
        "NotifyAuthKey": "k" * 16,
    }
    handler, _ = recorder([httpx.Response(200, json=body)])
    client, _ = make(handler)
    config = client.describe_snapshot_notify_config("d")
    assert config.notify_req_auth is True and config.notify_auth_key == "k" * 16
    assert "k" * 16 not in repr(config)  # keys stay out of logs and tracebacks


def test_missing_config_describes_as_none_but_missing_domain_raises():
    handler, _ = recorder(
        [
            error(404, "InvalidConfig.NotFound"),
            error(400, "ConfigNotFound"),
            error(404, "InvalidDomain.NotFound"),
        ]
    )
    client, _ = make(handler)
    assert client.describe_record_notify_config("d") is None
    assert client.describe_snapshot_notify_config("d") is None
    with pytest.raises(NotFoundError):
        client.describe_record_notify_config("d")


def test_stream_config_reads_every_answer_for_none_and_the_key_as_text():
    """Describe without a config: an empty 200, an empty object, or a not-found code (which
    one Live gives is not documented) are all "none"; a missing domain still raises; a key
    the Chinese page shows as a number arrives as text and stays out of repr."""
    config = {
        "DomainName": "push.d",
        "NotifyUrl": "https://h.example.com/p",
        "ExceptionNotifyUrl": "https://h.example.com/e",
        "NotifyReqAuth": "yes",
        "NotifyAuthKey": 1234567890123456,
    }
    handler, _ = recorder(
        [
            httpx.Response(200, json={"RequestId": "R"}),
            httpx.Response(200, json={"RequestId": "R", "LiveStreamsNotifyConfig": {}}),
            error(404, "InvalidConfig.NotFound"),
            httpx.Response(200, json={"RequestId": "R2", "LiveStreamsNotifyConfig": config}),
            error(404, "InvalidDomain.NotFound"),
        ]
    )
    client, _ = make(handler)
    for _ in range(3):
        assert client.describe_streams_notify_config("push.d") is None
    found = client.describe_streams_notify_config("push.d")
    assert (found.notify_url, found.exception_notify_url, found.notify_req_auth) == (
        "https://h.example.com/p",
        "https://h.example.com/e",
        True,
    )
    assert found.notify_auth_key == "1234567890123456" and found.request_id == "R2"
    assert "1234567890123456" not in repr(found)
    with pytest.raises(NotFoundError):
        client.describe_streams_notify_config("push.d")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"notify_auth_key": "k" * 15}, "16 to 64"),
        ({"notify_auth_key": "k" * 65}, "16 to 64"),
        ({"notify_auth_key": "k" * 20 + "-"}, "16 to 64"),
        ({"notify_req_auth": True}, "required when NotifyReqAuth"),
        ({"exception_notify_url": "https://h.example.com/" + "e" * 1100}, "ExceptionNotifyUrl"),
    ],
)
def test_stream_config_rules_checked_before_sending(kwargs, message):
    handler, seen = recorder([])
    client, _ = make(handler)
    with pytest.raises(LiveValidationError, match=message):
        client.set_streams_notify_config("push.d", "https://h.example.com/p", **kwargs)
    assert seen == []


def test_stream_records_are_read_from_their_own_wrappers():
    item = {
        "DomainName": "push.d",
        "AppName": "live",
        "StreamName": "room-101",
        "NotifyType": "publish_done",
        "NotifyUrl": "http://h.example.com/cb",
        "NotifyTime": "2026-11-23T11:09:28Z",
        "NotifyResult": "failed",
        "Description": "timeout",
        "NotifyContent": '{"action":"publish_done","app":"push.d"}',
    }
    body = {
        "RequestId": "R",
        "PageNum": 2,
        "PageSize": 1,
        "TotalNum": 3,
        "TotalPage": 3,
        "NotifyRecordsInfo": {"LiveStreamNotifyRecordsInfo": [item]},
    }
    handler, _ = recorder([httpx.Response(200, json=body)])
    client, _ = make(handler)
    page = client.describe_stream_notify_records(
        "push.d", start=NOW - dt.timedelta(hours=1), end=NOW, page_number=2, page_size=1
    )
    assert (page.page_number, page.total_num, page.total_page) == (2, 3, 3)
    (record,) = page.records
    assert (record.notify_type, record.notify_result, record.stream_name) == (
        "publish_done",
        "failed",
        "room-101",
    )
    assert record.notify_time == dt.datetime(2026, 11, 23, 11, 9, 28, tzinfo=dt.UTC)
    assert record.content_json == {"action": "publish_done", "app": "push.d"}


def test_records_parse_times_and_tolerant_content():
    item = {
        "AppName": "live",
        "DomainName": "d",
        "StreamName": "s",
        "NotifyType": "record_started",
        "NotifyUrl": "u",
        "NotifyContent": '7月26日 16:14{"domain":"al.xxxx.com","stream":"livestream01"}',
        "NotifyHeader": "",
        "NotifyResponse": '{"Code":0}',
        "NotifyResult": "success",
        "NotifyTime": "2022-10-19T19:09:28Z",
        "Description": "success",
    }
    body = {
        "RequestId": "R",
        "PageNum": 1,
        "PageSize": 20,
        "TotalNum": 1,
        "TotalPage": 1,
        "CallbackList": [item],
    }
    handler, _ = recorder([httpx.Response(200, json=body)])
    client, _ = make(handler)
    record = client.describe_notify_records(
        "d", start=NOW - dt.timedelta(hours=1), end=NOW
    ).records[0]
    assert record.notify_time == dt.datetime(2022, 10, 19, 19, 9, 28, tzinfo=dt.UTC)
    assert record.content_json == {"domain": "al.xxxx.com", "stream": "livestream01"}
    assert record.succeeded


def test_tolerant_json_parse():
    assert parse_json_tolerant('{"a": 1}') == {"a": 1}
    assert parse_json_tolerant('prefix {not json} then {"b": 2}') == {"b": 2}
    assert parse_json_tolerant("no json here") is None
    assert parse_json_tolerant("") is None


def test_domains_pages_are_walked_to_the_end():
    def page(n, names, total):
        return httpx.Response(
            200,
            json={
                "RequestId": f"R{n}",
                "PageNumber": n,
                "PageSize": 50,
                "TotalCount": total,
                "Domains": {
                    "PageData": [
                        {
                            "DomainName": x,
                            "LiveDomainType": "liveVideo",
                            "LiveDomainStatus": "online",
                            "GmtCreated": "2021-06-18T03:27:27Z",
                        }
                        for x in names
                    ]
                },
            },
        )

    handler, seen = recorder(
        [page(1, [f"a{i}" for i in range(50)], 75), page(2, [f"b{i}" for i in range(25)], 75)]
    )
    client, _ = make(handler)
    domains = list(client.iter_user_domains())
    assert len(domains) == 75 and len(seen) == 2
    assert domains[0].created == dt.datetime(2021, 6, 18, 3, 27, 27, tzinfo=dt.UTC)
    assert query(seen[1])["PageNumber"] == "2"


# --- error classes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "Throttling.User", ThrottlingError),
        (404, "InvalidConfig.NotFound", NotFoundError),
        (400, "ConfigNotFound", NotFoundError),
        (404, "InvalidDomain.NotFound", NotFoundError),
        (400, "ConfigAlreadyExists", ConfigAlreadyExistsError),
        (400, "InvalidNotifyUrl.Malformed", InvalidInputError),
        (400, "InvalidNotifyUrl.Unsafe", InvalidInputError),
        (400, "MissingDomainName", InvalidInputError),
        (400, "MalformedParams", InvalidInputError),
        (400, "InvalidParams", InvalidInputError),
        (400, "SignatureDoesNotMatch", AuthError),
        (404, "InvalidAccessKeyId.NotFound", AuthError),
        (403, "Forbidden", AuthError),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
    ],
)
def test_error_mapping_keeps_code_message_and_request_id(status, code, cls):
    handler, _ = recorder([error(status, code, "it failed", "REQ-42")] * 3)
    client, clock = make(handler)
    with pytest.raises(cls) as info:
        client.delete_record_notify_config("d")
    assert info.value.code == code and info.value.status_code == status
    assert info.value.request_id == "REQ-42" and info.value.message == "it failed"
    assert info.value.host_id == "live.aliyuncs.com"


def test_non_json_error_body_still_raises_with_status():
    handler, _ = recorder([httpx.Response(502, text="<html>bad gateway</html>")] * 3)
    client, _ = make(handler)
    with pytest.raises(ServerError) as info:
        client.describe_record_notify_config("d")
    assert info.value.status_code == 502


# --- retries and deadlines -----------------------------------------------------------------


def test_retry_policy_functions():
    assert should_retry(ThrottlingError("x", status_code=400, code="Throttling.User"))
    assert should_retry(ServerError("x", status_code=500, code="InternalError"))
    assert should_retry(LiveTimeoutError("x"))
    assert not should_retry(InvalidInputError("x", status_code=400, code="InvalidNotifyUrl.Unsafe"))
    assert not should_retry(CircuitOpenError("x"))
    assert retry_delay(0, jitter=lambda: 1.0) == 0.5
    assert retry_delay(1, jitter=lambda: 1.0) == 1.0
    assert retry_delay(10, jitter=lambda: 1.0) == 8.0
    assert retry_delay(2, jitter=lambda: 0.25) == 0.5
    assert retry_delay(0, retry_after=3.0) == 3.0
    assert retry_delay(0, retry_after=30.0) == 8.0


def test_throttling_is_retried_with_backoff_then_succeeds():
    handler, seen = recorder(
        [
            error(400, "Throttling.User"),
            error(503, "ServiceUnavailable"),
            httpx.Response(200, json={"RequestId": "OK"}),
        ]
    )
    client, clock = make(handler)
    assert client.delete_record_notify_config("d") == "OK"
    assert len(seen) == 3
    assert clock.sleeps == [0.25, 0.5]  # jitter pinned at 0.5 × (0.5, 1.0)


def test_gives_up_after_three_attempts():
    handler, seen = recorder([error(500, "InternalError")] * 3)
    client, clock = make(handler)
    with pytest.raises(ServerError):
        client.describe_record_notify_config("d")
    assert len(seen) == 3 and len(clock.sleeps) == 2


def test_retry_after_header_is_honoured():
    handler, _ = recorder(
        [
            error(400, "Throttling.User", headers={"x-acs-retry-after": "2"}),
            httpx.Response(200, json={"RequestId": "OK"}),
        ]
    )
    client, clock = make(handler)
    client.delete_record_notify_config("d")
    assert clock.sleeps == [2.0]


def test_invalid_input_is_not_retried():
    handler, seen = recorder([error(400, "InvalidNotifyUrl.Unsafe")])
    client, clock = make(handler)
    with pytest.raises(InvalidInputError):
        client.update_record_notify_config("d", "https://x.example.com")
    assert len(seen) == 1 and clock.sleeps == []


def test_connection_errors_are_translated_and_retried():
    handler, seen = recorder(
        [
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("hung up"),
        ]
    )
    client, _ = make(handler)
    with pytest.raises(LiveConnectionError):
        client.describe_record_notify_config("d")
    assert len(seen) == 3


def test_timeout_becomes_live_timeout_error():
    handler, _ = recorder([httpx.ReadTimeout("slow")] * 3)
    client, _ = make(handler)
    with pytest.raises(LiveTimeoutError):
        client.describe_record_notify_config("d")


def test_deadline_stops_retries_that_would_overrun():
    handler, seen = recorder(
        [error(400, "Throttling.User", headers={"x-acs-retry-after": "5"})] * 3
    )
    client, clock = make(handler, deadline=4.0)
    with pytest.raises(ThrottlingError):
        client.describe_record_notify_config("d")
    assert len(seen) == 1 and clock.sleeps == []


def test_add_is_resolved_by_describe_after_an_ambiguous_failure():
    config = {
        "RequestId": "DESC",
        "LiveRecordNotifyConfig": {"DomainName": "d", "NotifyUrl": "https://x.example.com/cb"},
    }
    handler, seen = recorder(
        [
            error(503, "ServiceUnavailable"),
            error(400, "ConfigAlreadyExists"),
            httpx.Response(200, json=config),
        ]
    )
    client, _ = make(handler)
    assert client.add_record_notify_config("d", "https://x.example.com/cb") == "DESC"
    assert [r.headers["x-acs-action"] for r in seen] == [
        "AddLiveRecordNotifyConfig",
        "AddLiveRecordNotifyConfig",
        "DescribeLiveRecordNotifyConfig",
    ]


def test_add_conflict_with_someone_elses_config_is_reported():
    config = {
        "RequestId": "DESC",
        "LiveRecordNotifyConfig": {"DomainName": "d", "NotifyUrl": "https://other.example.com/cb"},
    }
    handler, _ = recorder(
        [
            httpx.ReadTimeout("slow"),
            error(400, "ConfigAlreadyExists"),
            httpx.Response(200, json=config),
        ]
    )
    client, _ = make(handler)
    with pytest.raises(ConfigAlreadyExistsError):
        client.add_record_notify_config("d", "https://x.example.com/cb")


def test_add_without_earlier_failure_raises_config_already_exists_at_once():
    handler, seen = recorder([error(400, "ConfigAlreadyExists")])
    client, _ = make(handler)
    with pytest.raises(ConfigAlreadyExistsError):
        client.add_snapshot_notify_config("d", "https://x.example.com/cb")
    assert len(seen) == 1


def test_circuit_breaker_opens_after_repeated_failures_and_stops_calling():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=15, clock=clock)
    handler, seen = recorder([error(500, "InternalError")] * 3)
    client, _ = make(handler, clock=clock, breaker=breaker)
    with pytest.raises(ServerError):
        client.describe_record_notify_config("d")
    with pytest.raises(CircuitOpenError):
        client.describe_record_notify_config("d")
    assert len(seen) == 3
    clock.now += 16
    assert not breaker.is_open


def test_secret_never_in_repr():
    client, _ = make(lambda r: httpx.Response(200, json={}))
    assert "secret" not in repr(client)


OK_BODIES = {
    "AddLiveRecordNotifyConfig": {"RequestId": "R"},
    "UpdateLiveRecordNotifyConfig": {"RequestId": "R"},
    "DescribeLiveRecordNotifyConfig": {
        "RequestId": "R",
        "LiveRecordNotifyConfig": {"DomainName": "d", "NotifyUrl": "https://h.example.com"},
    },
    "DeleteLiveRecordNotifyConfig": {"RequestId": "R"},
    "AddLiveSnapshotNotifyConfig": {"RequestId": "R"},
    "UpdateLiveSnapshotNotifyConfig": {"RequestId": "R"},
    "DescribeLiveSnapshotNotifyConfig": {
        "RequestId": "R",
        "DomainName": "d",
        "NotifyUrl": "https://h.example.com",
        "NotifyReqAuth": "no",
    },
    "DeleteLiveSnapshotNotifyConfig": {"RequestId": "R"},
    "DescribeLiveRecordNotifyRecords": {
        "RequestId": "R",
        "PageNum": 1,
        "PageSize": 20,
        "TotalNum": 0,
        "TotalPage": 0,
        "CallbackList": [],
    },
    "SetLiveStreamsNotifyUrlConfig": {"RequestId": "R"},
    "DescribeLiveStreamsNotifyUrlConfig": {"RequestId": "R"},
    "DeleteLiveStreamsNotifyUrlConfig": {"RequestId": "R"},
    "DescribeLiveStreamsNotifyRecords": {"RequestId": "R", "PageNum": 1, "TotalNum": 0},
    "DescribeLiveUserDomains": {
        "RequestId": "R",
        "PageNumber": 1,
        "PageSize": 50,
        "TotalCount": 0,
        "Domains": {"PageData": []},
    },
}
KEY = "abcdefghijklmnop"


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "action", "expected"),
    [
        (
            "add_record_notify_config",
            ("d", "https://h.example.com"),
            {"need_status_notify": False},
            "AddLiveRecordNotifyConfig",
            {"DomainName": "d", "NotifyUrl": "https://h.example.com", "NeedStatusNotify": "false"},
        ),
        (
            "update_record_notify_config",
            ("d", "https://h.example.com"),
            {"notify_req_auth": True, "notify_auth_key": KEY},
            "UpdateLiveRecordNotifyConfig",
            {
                "DomainName": "d",
                "NotifyUrl": "https://h.example.com",
                "NotifyReqAuth": "true",
                "NotifyAuthKey": KEY,
            },
        ),
        (
            "describe_record_notify_config",
            ("d",),
            {},
            "DescribeLiveRecordNotifyConfig",
            {"DomainName": "d"},
        ),
        (
            "delete_record_notify_config",
            ("d",),
            {},
            "DeleteLiveRecordNotifyConfig",
            {"DomainName": "d"},
        ),
        (
            "add_snapshot_notify_config",
            ("d", "https://h.example.com"),
            {"notify_req_auth": True, "notify_auth_key": KEY},
            "AddLiveSnapshotNotifyConfig",
            {
                "DomainName": "d",
                "NotifyUrl": "https://h.example.com",
                "NotifyReqAuth": "yes",
                "NotifyAuthKey": KEY,
                "RegionId": "cn-shanghai",
            },
        ),
        (
            "update_snapshot_notify_config",
            ("d",),
            {"notify_url": "https://h.example.com"},
            "UpdateLiveSnapshotNotifyConfig",
            {"DomainName": "d", "NotifyUrl": "https://h.example.com", "RegionId": "cn-shanghai"},
        ),
        (
            "describe_snapshot_notify_config",
            ("d",),
            {},
            "DescribeLiveSnapshotNotifyConfig",
            {"DomainName": "d", "RegionId": "cn-shanghai"},
        ),
        (
            "delete_snapshot_notify_config",
            ("d",),
            {},
            "DeleteLiveSnapshotNotifyConfig",
            {"DomainName": "d", "RegionId": "cn-shanghai"},
        ),
        (
            "describe_notify_records",
            ("d",),
            {"start": NOW - dt.timedelta(hours=2), "end": NOW, "stream_name": "s"},
            "DescribeLiveRecordNotifyRecords",
            {
                "DomainName": "d",
                "StartTime": "2026-11-23T10:00:00Z",
                "EndTime": "2026-11-23T12:00:00Z",
                "PageNumber": "1",
                "PageSize": "20",
                "StreamName": "s",
                "RegionId": "cn-shanghai",
            },
        ),
        (
            "set_streams_notify_config",
            ("push.d", "https://h.example.com/p"),
            {"notify_req_auth": True, "notify_auth_key": "k" * 64},
            "SetLiveStreamsNotifyUrlConfig",
            {
                "DomainName": "push.d",
                "NotifyUrl": "https://h.example.com/p",
                "NotifyReqAuth": "yes",
                "NotifyAuthKey": "k" * 64,
            },
        ),
        (
            "describe_streams_notify_config",
            ("push.d",),
            {},
            "DescribeLiveStreamsNotifyUrlConfig",
            {"DomainName": "push.d", "RegionId": "cn-shanghai"},
        ),
        (
            "delete_streams_notify_config",
            ("push.d",),
            {},
            "DeleteLiveStreamsNotifyUrlConfig",
            {"DomainName": "push.d", "RegionId": "cn-shanghai"},
        ),
        (
            "describe_stream_notify_records",
            ("push.d",),
            {"start": NOW - dt.timedelta(hours=2), "end": NOW, "status": "failed"},
            "DescribeLiveStreamsNotifyRecords",
            {
                "DomainName": "push.d",
                "StartTime": "2026-11-23T10:00:00Z",
                "EndTime": "2026-11-23T12:00:00Z",
                "PageNumber": "1",
                "PageSize": "20",
                "Status": "failed",
                "RegionId": "cn-shanghai",
            },
        ),
        (
            "describe_user_domains",
            (),
            {
                "domain_name": "live",
                "search_type": "pre_match",
                "status": "online",
                "domain_type": "liveVideo",
            },
            "DescribeLiveUserDomains",
            {
                "PageNumber": "1",
                "PageSize": "50",
                "DomainName": "live",
                "DomainSearchType": "pre_match",
                "DomainStatus": "online",
                "LiveDomainType": "liveVideo",
            },
        ),
    ],
)
def test_every_operation_sends_exactly_its_parameters(method, args, kwargs, action, expected):
    handler, seen = recorder([httpx.Response(200, json=OK_BODIES[action])])
    client, _ = make(handler)
    getattr(client, method)(*args, **kwargs)
    assert seen[0].headers["x-acs-action"] == action
    assert query(seen[0]) == expected


def test_a_domains_mapping_is_read_as_the_pages_show_it_now_and_as_an_older_one_did():
    """DescribeLiveDomainMapping: `{"LiveDomainModels": {"LiveDomainModel": [...]}}` on the
    current pages, a bare list under LiveDomainModels on an older one; none is an empty list."""
    now_shape = {
        "RequestId": "R1",
        "LiveDomainModels": {
            "LiveDomainModel": [
                {"DomainName": "play.example.com", "Type": "vhost"},
                {"DomainName": "sub.example.com", "Type": "play"},
            ]
        },
    }
    old_shape = {"RequestId": "R2", "LiveDomainModels": [{"DomainName": "x.com", "Type": "vhost"}]}
    handler, seen = recorder(
        [
            httpx.Response(200, json=now_shape),
            httpx.Response(200, json=old_shape),
            httpx.Response(200, json={"RequestId": "R3"}),
        ]
    )
    client, _ = make(handler)
    first = client.describe_domain_mapping("push.example.com")
    assert [(m.domain_name, m.type) for m in first] == [
        ("play.example.com", "vhost"),
        ("sub.example.com", "play"),
    ]
    assert seen[0].headers["x-acs-action"] == "DescribeLiveDomainMapping"
    assert query(seen[0])["DomainName"] == "push.example.com"
    assert [m.domain_name for m in client.describe_domain_mapping("push.example.com")] == ["x.com"]
    assert client.describe_domain_mapping("alone.example.com") == []
