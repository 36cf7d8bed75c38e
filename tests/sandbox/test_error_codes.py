"""Error codes provoked through real signed requests of the project's own client (the
documented table itself is covered row by row, through the official SDKs, by
test_documented_errors.py)."""

import datetime as dt

import pytest

from dashboard.contract.api import format_time
from dashboard.live import (
    AuthError,
    ConfigAlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    ServerError,
    ThrottlingError,
)
from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import ALL_DATABASES
from tests.sandbox.helpers import raw_post, sandbox_client, utc_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

DOMAIN = "live.example-shop.com"  # has both configs in the demo account
BARE = "cdn.webinar-hub.com"  # has none


def expect(response, status, code):
    body = response.json()
    assert response.status_code == status, body
    assert body["Code"] == code, body
    assert body["RequestId"] and body["HostId"] == "live.aliyuncs.com" and body["Message"]
    return body


@pytest.mark.parametrize(
    ("action", "params", "status", "code"),
    [
        (
            "AddLiveRecordNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "ftp://x.example.com"},
            400,
            "InvalidNotifyUrl.Malformed",
        ),
        (
            "AddLiveRecordNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "http://127.1/cb"},
            400,
            "InvalidNotifyUrl.Unsafe",
        ),
        (
            "AddLiveRecordNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "https://ok.example.com", "OnDemandUrl": "not a url"},
            400,
            "InvalidOnDemandUrl.Malformed",
        ),
        (
            "AddLiveRecordNotifyConfig",
            {
                "DomainName": BARE,
                "NotifyUrl": "https://ok.example.com",
                "OnDemandUrl": "http://169.254.169.254/",
            },
            400,
            "InvalidOnDemandUrl.Unsafe",
        ),
        (
            "DescribeLiveRecordNotifyConfig",
            {"DomainName": "nope.example.com"},
            400,
            "InvalidDomain.NotFound",
        ),
        ("DescribeLiveRecordNotifyConfig", {"DomainName": BARE}, 404, "InvalidConfig.NotFound"),
        (
            "UpdateLiveRecordNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "https://ok.example.com"},
            404,
            "InvalidConfig.NotFound",
        ),
        (
            "AddLiveRecordNotifyConfig",
            {"DomainName": DOMAIN, "NotifyUrl": "https://ok.example.com"},
            400,
            "ConfigAlreadyExists",
        ),
        (
            "AddLiveSnapshotNotifyConfig",
            {"DomainName": DOMAIN, "NotifyUrl": "https://ok.example.com"},
            409,
            "ConfigAlreadyExists",
        ),
        (
            "AddLiveSnapshotNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "https://ok.example.com", "NotifyReqAuth": "yes"},
            400,
            "MissingParam",
        ),
        (
            "AddLiveSnapshotNotifyConfig",
            {"DomainName": BARE, "NotifyUrl": "https://ok.example.com", "NotifyReqAuth": "maybe"},
            400,
            "MalformedParam",
        ),
        ("DescribeLiveSnapshotNotifyConfig", {"DomainName": BARE}, 400, "ConfigNotFound"),
        ("DeleteLiveSnapshotNotifyConfig", {"DomainName": BARE}, 400, "ConfigNotFound"),
        ("DeleteLiveRecordNotifyConfig", {}, 400, "MissingDomainName"),
        ("AddLiveRecordNotifyConfig", {"DomainName": BARE}, 400, "MissingNotifyUrl"),
    ],
)
def test_operation_errors(seeded, action, params, status, code):
    response = raw_post(sandbox_client(), action, params)
    body = expect(response, status, code)
    if code in {"MissingParam", "MalformedParam", "ConfigNotFound"}:
        assert body["Message"].endswith(", please check and try again later.")


def _records(**overrides):
    now = utc_now()
    params = {
        "DomainName": DOMAIN,
        "StartTime": format_time(now - dt.timedelta(hours=1)),
        "EndTime": format_time(now),
        "PageNumber": "1",
        "PageSize": "20",
    }
    params.update(overrides)
    return params


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"PageSize": "501"}, "MalformedParams"),
        ({"PageNumber": "0"}, "MalformedParams"),
        ({"PageSize": "ten"}, "MalformedParams"),
        ({"StartTime": "2026-11-23 10:00:00"}, "MalformedParams"),
        ({"StartTime": format_time(utc_now() - dt.timedelta(days=8))}, "MalformedParams"),
        ({"Status": "maybe"}, "MalformedParams"),
        ({"StorageType": "tape"}, "MalformedParams"),
        ({"StartTime": ""}, "MissingParams"),
    ],
)
def test_records_query_errors(seeded, overrides, code):
    response = raw_post(sandbox_client(), "DescribeLiveRecordNotifyRecords", _records(**overrides))
    expect(response, 400, code)


def test_end_before_start_is_refused(seeded):
    now = utc_now()
    params = _records(StartTime=format_time(now), EndTime=format_time(now - dt.timedelta(hours=1)))
    expect(
        raw_post(sandbox_client(), "DescribeLiveRecordNotifyRecords", params),
        400,
        "MalformedParams",
    )


def test_wrong_secret_shows_server_string_to_sign(seeded):
    response = raw_post(sandbox_client(secret="wrong"), "DescribeLiveUserDomains", {})
    body = expect(response, 400, "SignatureDoesNotMatch")
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in body["Message"]


def test_unknown_access_key(seeded):
    expect(
        raw_post(sandbox_client(key="nobody"), "DescribeLiveUserDomains", {}),
        404,
        "InvalidAccessKeyId.NotFound",
    )


def test_clock_skew_over_15_minutes(seeded):
    late = sandbox_client(utcnow=lambda: utc_now() - dt.timedelta(minutes=16))
    expect(raw_post(late, "DescribeLiveUserDomains", {}), 400, "InvalidTimeStamp.Expired")
    slightly = sandbox_client(utcnow=lambda: utc_now() - dt.timedelta(minutes=14))
    assert raw_post(slightly, "DescribeLiveUserDomains", {}).status_code == 200


def test_reused_nonce(seeded):
    client = sandbox_client(nonce=lambda: "the-same-nonce-every-time")
    assert raw_post(client, "DescribeLiveUserDomains", {}).status_code == 200
    expect(raw_post(client, "DescribeLiveUserDomains", {}), 400, "SignatureNonceUsed")


def test_unknown_action(seeded):
    expect(raw_post(sandbox_client(), "DescribeLiveEverything", {}), 404, "InvalidAction.NotFound")


def test_incomplete_signature(seeded):
    client = sandbox_client()
    response = client.http.post(
        client.endpoint + "/", params={"Action": "DescribeLiveUserDomains", "Format": "JSON"}
    )
    expect(response, 400, "IncompleteSignature")


def test_forbidden_for_read_only_ram_user(seeded):
    client = sandbox_client(key="sandbox-readonly", secret="sandbox-readonly-secret")
    assert raw_post(client, "DescribeLiveUserDomains", {}).status_code == 200
    expect(
        raw_post(client, "DeleteLiveRecordNotifyConfig", {"DomainName": DOMAIN}), 400, "Forbidden"
    )


def test_throttling_enforces_documented_qps(seeded, monkeypatch):
    # Freeze the sandbox's clock: every call lands in the same one-second window.
    monkeypatch.setattr("dashboard.sandbox.throttle.time.monotonic", lambda: 5000.0)
    sandbox_app.throttle.enabled = True
    client = sandbox_client()
    answers = [
        raw_post(client, "DescribeLiveRecordNotifyConfig", {"DomainName": DOMAIN})
        for _ in range(55)
    ]
    assert [a.status_code for a in answers[:50]] == [200] * 50  # documented: 50 QPS
    for answer in answers[50:]:
        body = expect(answer, 400, "Throttling.User")
        assert body["Message"] == "Request was denied due to user flow control."


def test_throttling_window_is_exact_with_a_fixed_clock():
    from dashboard.sandbox.throttle import Throttle

    throttle = Throttle({"A": 3})
    assert [throttle.allow("k", "A", now=10.0 + i * 0.1) for i in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert throttle.allow("k", "A", now=11.05)  # the first call left the window
    assert throttle.allow("other", "A", now=10.4)  # per account


@pytest.mark.parametrize(
    ("spec", "status", "code"),
    [("error=1", (500, 503), None), ("throttle=1", (400,), "Throttling.User")],
)
def test_fault_injection_errors(seeded, spec, status, code):
    sandbox_app.faults.configure(spec)
    body = raw_post(sandbox_client(), "DescribeLiveUserDomains", {})
    assert body.status_code in status
    assert body.json()["Code"] in ({code} if code else {"InternalError", "ServiceUnavailable"})


def test_client_errors_map_from_real_sandbox_answers(seeded):
    client = sandbox_client()
    with pytest.raises(NotFoundError):
        client.describe_record_notify_config("nope.example.com")
    with pytest.raises(ConfigAlreadyExistsError):
        client.add_record_notify_config(DOMAIN, "https://ok.example.com")
    with pytest.raises(InvalidInputError) as info:
        client.update_record_notify_config(DOMAIN, "http://10.0.0.1/")
    assert info.value.code == "InvalidNotifyUrl.Unsafe" and info.value.request_id
    with pytest.raises(AuthError):
        sandbox_client(secret="bad").describe_user_domains()
    sandbox_app.faults.configure("throttle=1")
    with pytest.raises(ThrottlingError):
        client.describe_user_domains()
    sandbox_app.faults.configure("error=1")
    with pytest.raises(ServerError):
        client.describe_user_domains()


def test_dropped_connection_surfaces_as_connection_error(seeded):
    from dashboard.live import LiveConnectionError

    sandbox_app.faults.configure("drop=1")
    with pytest.raises(LiveConnectionError):
        sandbox_client().describe_user_domains()


def test_lost_answer_means_the_change_was_made_but_never_reported(seeded):
    from dashboard.live import LiveConnectionError

    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:lost=1")
    with pytest.raises(LiveConnectionError):
        sandbox_client().update_record_notify_config(DOMAIN, "https://lost.example.com/cb")
    assert SandboxRecordConfig.objects.get(domain__name=DOMAIN).notify_url == (
        "https://lost.example.com/cb"
    )
    # Other actions are untouched by a rule for one action.
    assert sandbox_client().describe_record_notify_config(DOMAIN).notify_url == (
        "https://lost.example.com/cb"
    )


def test_fault_spec_errors_name_the_known_faults():
    from dashboard.sandbox.faults import parse_rule

    assert parse_rule("lost=0.25").lost_rate == 0.25
    with pytest.raises(
        ValueError, match="error, internal, unavailable, throttle, drop, lost, latency, late"
    ):
        parse_rule("vanish=1")
    with pytest.raises(ValueError, match="out of range"):
        parse_rule("lost=2")
