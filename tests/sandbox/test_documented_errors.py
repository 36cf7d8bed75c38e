"""Every row of docs/live-api.md's error table, provoked against `manage.py runsandbox`:
through the official SDK with V3 signing and with RPC v1, and through the old core SDK with
Format=XML — or, where an SDK cannot express the fault, a raw signed request.

The table is the one source: a row without a recipe here fails, a recipe without a row fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from alibabacloud_tea_openapi import exceptions as sdk_errors
from alibabacloud_tea_openapi import utils_models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from darabonba.runtime import RuntimeOptions

from dashboard.contract import signing
from tests.sandbox.servers import sandbox_process

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "live.example-shop.com"  # both configs in the demo account
BARE = "cdn.webinar-hub.com"  # neither
SNAP_ONLY = "video.concerts.example.com"  # a snapshot config, no recording config
INGEST = "push.example-shop.com"  # an ingest domain with a stream callback
LONG_URL = "https://hooks.example.com/" + "a" * 1100


def documented_rows() -> list[dict]:
    text = (ROOT / "docs" / "live-api.md").read_text()
    table = text.split("<!-- errors:start -->")[1].split("<!-- errors:end -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        operation, status, code, message, source = [c.strip() for c in line.strip("|").split("|")]
        rows.append(
            {"operation": operation, "status": int(status), "code": code, "message": message}
        )
    return rows


def message_pattern(message: str) -> re.Pattern:
    return re.compile("^" + re.escape(message).replace("%s", ".+") + "$", re.S)


# (operation the row names, code) -> (operation to call, parameters, server, how)
#   server: "calm" (no faults), "faulty" (per-action faults, see the fixture), "readonly" key
#   how: "sdk" (all three clients), or a raw-request variant for what no SDK sends
RECIPES = {
    ("AddLiveRecordNotifyConfig", "InvalidNotifyUrl.Malformed"): (
        "AddLiveRecordNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "ftp://x.example.com"},
        "sdk",
    ),
    ("AddLiveRecordNotifyConfig", "InvalidNotifyUrl.Unsafe"): (
        "AddLiveRecordNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "http://127.1/cb"},
        "sdk",
    ),
    ("AddLiveRecordNotifyConfig", "ConfigAlreadyExists"): (
        "AddLiveRecordNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://x.example.com"},
        "sdk",
    ),
    ("AddLiveRecordNotifyConfig", "InvalidOnDemandUrl.Malformed"): (
        "AddLiveRecordNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "https://x.example.com", "OnDemandUrl": LONG_URL},
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidNotifyUrl.Malformed"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": LONG_URL},
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidNotifyUrl.Unsafe"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "http://[fec0::1]/"},
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidOnDemandUrl.Malformed"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://x.example.com", "OnDemandUrl": "x y"},
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidOnDemandUrl.Unsafe"): (
        "UpdateLiveRecordNotifyConfig",
        {
            "DomainName": DOMAIN,
            "NotifyUrl": "https://x.example.com",
            "OnDemandUrl": "http://169.254.169.254/",
        },
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidDomain.NotFound"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": "nope.example.com", "NotifyUrl": "https://x.example.com"},
        "sdk",
    ),
    ("UpdateLiveRecordNotifyConfig", "Forbidden"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://x.example.com"},
        "readonly",
    ),
    ("UpdateLiveRecordNotifyConfig", "InvalidConfig.NotFound"): (
        "UpdateLiveRecordNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "https://x.example.com"},
        "sdk",
    ),
    ("DescribeLiveRecordNotifyConfig", "InvalidConfig.NotFound"): (
        "DescribeLiveRecordNotifyConfig",
        {"DomainName": BARE},
        "sdk",
    ),
    ("DescribeLiveRecordNotifyConfig", "InvalidDomain.NotFound"): (
        "DescribeLiveRecordNotifyConfig",
        {"DomainName": "nope.example.com"},
        "sdk",
    ),
    ("DeleteLiveRecordNotifyConfig", "Forbidden"): (
        "DeleteLiveRecordNotifyConfig",
        {"DomainName": DOMAIN},
        "readonly",
    ),
    ("DeleteLiveRecordNotifyConfig", "InvalidConfig.NotFound"): (
        "DeleteLiveRecordNotifyConfig",
        {"DomainName": BARE},
        "sdk",
    ),
    ("AddLiveSnapshotNotifyConfig", "MissingParam"): (
        "AddLiveSnapshotNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "https://x.example.com", "NotifyReqAuth": "yes"},
        "sdk",
    ),
    ("AddLiveSnapshotNotifyConfig", "MalformedParam"): (
        "AddLiveSnapshotNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "http://" + "a" * 500 + ".example.com/"},
        "sdk",
    ),
    ("AddLiveSnapshotNotifyConfig", "ConfigAlreadyExists"): (
        "AddLiveSnapshotNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://x.example.com"},
        "sdk",
    ),
    ("UpdateLiveSnapshotNotifyConfig", "MalformedParam"): (
        "UpdateLiveSnapshotNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "http://10.0.0.1/"},
        "sdk",
    ),
    ("UpdateLiveSnapshotNotifyConfig", "ConfigNotFound"): (
        "UpdateLiveSnapshotNotifyConfig",
        {"DomainName": BARE, "NotifyUrl": "https://x.example.com"},
        "sdk",
    ),
    ("UpdateLiveSnapshotNotifyConfig", "InternalError"): (
        "UpdateLiveSnapshotNotifyConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://x.example.com"},
        "faulty",
    ),
    ("DescribeLiveSnapshotNotifyConfig", "ConfigNotFound"): (
        "DescribeLiveSnapshotNotifyConfig",
        {"DomainName": BARE},
        "sdk",
    ),
    ("DeleteLiveSnapshotNotifyConfig", "ConfigNotFound"): (
        "DeleteLiveSnapshotNotifyConfig",
        {"DomainName": BARE},
        "sdk",
    ),
    ("DescribeLiveRecordNotifyRecords", "MalformedParams"): (
        "DescribeLiveRecordNotifyRecords",
        "records:Status=maybe",
        "sdk",
    ),
    ("DescribeLiveRecordNotifyRecords", "MissingParams"): (
        "DescribeLiveRecordNotifyRecords",
        "records:PageSize=",
        "sdk",
    ),
    ("SetLiveStreamsNotifyUrlConfig", "InvalidParam"): (
        "SetLiveStreamsNotifyUrlConfig",
        {"DomainName": INGEST, "NotifyUrl": "http://10.0.0.8/publish"},
        "sdk",
    ),
    ("SetLiveStreamsNotifyUrlConfig", "IllegalOperation"): (
        "SetLiveStreamsNotifyUrlConfig",
        {"DomainName": DOMAIN, "NotifyUrl": "https://hooks.example.com/publish"},
        "sdk",
    ),
    ("DescribeLiveStreamsNotifyRecords", "MalformedParams"): (
        "DescribeLiveStreamsNotifyRecords",
        "records:PageSize=501",
        "sdk",
    ),
    ("DescribeLiveStreamsNotifyRecords", "MissingParams"): (
        "DescribeLiveStreamsNotifyRecords",
        "records:StartTime=",
        "sdk",
    ),
    ("DescribeLiveUserDomains", "InvalidDomainSearchType.Malformed"): (
        "DescribeLiveUserDomains",
        {"DomainSearchType": "sideways"},
        "sdk",
    ),
    ("(any)", "MissingDomainName"): ("DeleteLiveSnapshotNotifyConfig", {}, "sdk"),
    ("(any)", "MissingVersion"): ("DescribeLiveUserDomains", {}, "raw:no-version"),
    ("(any)", "InvalidVersion"): ("DescribeLiveUserDomains", {}, "version:2015-01-01"),
    ("(any, RPC v1)", "InvalidSignatureMethod"): ("DescribeLiveUserDomains", {}, "raw:method"),
    ("(any, RPC v1)", "InvalidSignatureVersion"): ("DescribeLiveUserDomains", {}, "raw:sigversion"),
    ("(any)", "SignatureDoesNotMatch"): ("DescribeLiveUserDomains", {}, "wrong-secret"),
    ("(any)", "IncompleteSignature"): ("DescribeLiveUserDomains", {}, "raw:unsigned"),
    ("(any)", "InvalidAccessKeyId.NotFound"): ("DescribeLiveUserDomains", {}, "unknown-key"),
    ("(any)", "InvalidTimeStamp.Expired"): ("DescribeLiveUserDomains", {}, "raw:old-date"),
    ("(any)", "SignatureNonceUsed"): ("DescribeLiveUserDomains", {}, "raw:nonce-twice"),
    ("(any)", "InvalidAction.NotFound"): ("DescribeLiveStreamsPlease", {}, "sdk"),
    ("(any)", "Throttling.User"): (
        "DescribeLiveSnapshotNotifyConfig",
        {"DomainName": DOMAIN},
        "faulty",
    ),
    ("(any)", "InternalError"): ("DeleteLiveRecordNotifyConfig", {"DomainName": DOMAIN}, "faulty"),
    ("(any)", "ServiceUnavailable"): ("DescribeLiveUserDomains", {}, "faulty"),
}
FAULTS = (
    "UpdateLiveSnapshotNotifyConfig:internal=1;DeleteLiveRecordNotifyConfig:internal=1;"
    "DescribeLiveUserDomains:unavailable=1;DescribeLiveSnapshotNotifyConfig:throttle=1"
)
ROWS = documented_rows()


def test_every_documented_row_has_a_recipe_and_every_recipe_a_row():
    documented = {(r["operation"], r["code"]) for r in ROWS}
    assert documented == set(RECIPES)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with (
        sandbox_process(tmp_path_factory.mktemp("calm")) as calm,
        sandbox_process(tmp_path_factory.mktemp("faulty"), faults=FAULTS) as faulty,
    ):
        yield {"calm": calm, "faulty": faulty}


def params_for(spec) -> dict:
    if isinstance(spec, dict):
        return spec
    now = dt.datetime.now(dt.UTC)
    params = {
        "DomainName": DOMAIN,
        "StartTime": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "PageNumber": "1",
        "PageSize": "20",
    }
    name, _, value = spec.removeprefix("records:").partition("=")
    params[name] = value
    return params


# --- the three clients -------------------------------------------------------------------------


def new_sdk(port: int, algorithm: str | None, *, key="sandbox", secret="sandbox-secret"):
    config = open_api_models.Config(
        access_key_id=key,
        access_key_secret=secret,
        endpoint=f"127.0.0.1:{port}",
        protocol="http",
        region_id="cn-shanghai",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return OpenApiClient(config)


def call_new_sdk(client, action: str, params: dict, version: str = "2016-11-01") -> dict:
    """One RPC call through the official SDK's generic path; returns the error's data."""
    api = open_api_models.Params(
        action=action,
        version=version,
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = open_api_models.OpenApiRequest(query={k: v for k, v in params.items()})
    with pytest.raises(sdk_errors.AlibabaCloudException) as info:
        client.call_api(api, request, RuntimeOptions(autoretry=False, max_attempts=1))
    error = info.value
    return {
        "status": error.status_code,
        "code": error.code,
        "message": (error.data or {}).get("Message", ""),
        "request_id": error.request_id,
    }


def call_core_sdk_xml(
    port: int,
    action: str,
    params: dict,
    *,
    key="sandbox",
    secret="sandbox-secret",
    version="2016-11-01",
) -> dict:
    """The old core SDK, asking for XML; its errors are parsed from the XML body."""
    client = AcsClient(key, secret, "cn-shanghai", auto_retry=False, max_retry_time=0)
    request = CommonRequest(domain=f"127.0.0.1:{port}", version=version, action_name=action)
    request.set_protocol_type("http")
    request.set_method("POST")
    request.set_accept_format("XML")
    for name, value in params.items():
        request.add_query_param(name, value)
    status, headers, body = client.get_response(request)
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    return {
        "status": status,
        "code": root.findtext("Code"),
        "message": root.findtext("Message"),
        "request_id": root.findtext("RequestId"),
        "host_id": root.findtext("HostId"),
    }


def raw_v1(port: int, action: str, params: dict, *, overrides=None, drop=(), sign=True) -> dict:
    """A hand-built RPC v1 request: for the faults no SDK will send."""
    query = {
        "Action": action,
        "Version": "2016-11-01",
        "Format": "JSON",
        "AccessKeyId": "sandbox",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
        **(overrides or {}),
    }
    for name in drop:
        query.pop(name, None)
    if sign:
        string_to_sign = signing.string_to_sign_v1("POST", query)
        query["Signature"] = signing.signature_v1("sandbox-secret", string_to_sign)
    answer = httpx.post(f"http://127.0.0.1:{port}/", params=query, timeout=10)
    body = answer.json()
    return {
        "status": answer.status_code,
        "code": body["Code"],
        "message": body["Message"],
        "request_id": body["RequestId"],
        "query": query,
    }


def raw_v3(port: int, action: str, *, date: dt.datetime, nonce: str) -> dict:
    host = f"127.0.0.1:{port}"
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": "2016-11-01",
        "x-acs-date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": signing.EMPTY_SHA256,
    }
    names = sorted(headers)
    canonical = signing.canonical_request_v3(
        method="POST", params={}, headers=headers, signed_headers=names
    )
    signature = hmac.new(
        b"sandbox-secret", signing.string_to_sign_v3(canonical).encode(), hashlib.sha256
    ).hexdigest()
    headers["authorization"] = signing.authorization_v3("sandbox", names, signature)
    answer = httpx.post(f"http://{host}/", headers=headers, timeout=10)
    body = answer.json()
    return {"status": answer.status_code, "code": body.get("Code"), "message": body.get("Message")}


# --- the rows ---------------------------------------------------------------------------------


def answers_for(row: dict, servers: dict) -> list[tuple[str, dict]]:
    action, spec, how = RECIPES[(row["operation"], row["code"])]
    params = params_for(spec)
    port = servers["faulty" if how == "faulty" else "calm"]
    if how in {"sdk", "faulty"}:
        return [
            ("SDK V3", call_new_sdk(new_sdk(port, None), action, params)),
            ("SDK RPC v1", call_new_sdk(new_sdk(port, "v2"), action, params)),
            ("core SDK XML", call_core_sdk_xml(port, action, params)),
        ]
    if how == "readonly":
        ro = {"key": "sandbox-readonly", "secret": "sandbox-readonly-secret"}
        return [
            ("SDK V3", call_new_sdk(new_sdk(port, None, **ro), action, params)),
            ("SDK RPC v1", call_new_sdk(new_sdk(port, "v2", **ro), action, params)),
            ("core SDK XML", call_core_sdk_xml(port, action, params, **ro)),
        ]
    if how.startswith("version:"):
        version = how.partition(":")[2]
        return [
            ("SDK V3", call_new_sdk(new_sdk(port, None), action, params, version)),
            ("SDK RPC v1", call_new_sdk(new_sdk(port, "v2"), action, params, version)),
            ("core SDK XML", call_core_sdk_xml(port, action, params, version=version)),
        ]
    if how in {"wrong-secret", "unknown-key"}:
        creds = {"secret": "wrong-secret"} if how == "wrong-secret" else {"key": "nobody"}
        return [
            ("SDK V3", call_new_sdk(new_sdk(port, None, **creds), action, params)),
            ("SDK RPC v1", call_new_sdk(new_sdk(port, "v2", **creds), action, params)),
            ("core SDK XML", call_core_sdk_xml(port, action, params, **creds)),
        ]
    now = dt.datetime.now(dt.UTC)
    raw = {
        "raw:no-version": lambda: raw_v1(port, action, params, drop=("Version",)),
        "raw:method": lambda: raw_v1(port, action, params, overrides={"SignatureMethod": "MD5"}),
        "raw:sigversion": lambda: raw_v1(
            port, action, params, overrides={"SignatureVersion": "2.0"}
        ),
        "raw:unsigned": lambda: raw_v1(port, action, params, sign=False),
        "raw:old-date": lambda: raw_v3(
            port, action, date=now - dt.timedelta(minutes=20), nonce=uuid.uuid4().hex
        ),
    }
    if how == "raw:nonce-twice":
        nonce = uuid.uuid4().hex
        raw_v3(port, action, date=now, nonce=nonce)
        return [("raw V3", raw_v3(port, action, date=now, nonce=nonce))]
    return [("raw", raw[how]())]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['operation']}-{r['code']}" for r in ROWS])
def test_the_sandbox_answers_each_documented_error_as_written(servers, row):
    pattern = message_pattern(row["message"])
    for client, answer in answers_for(row, servers):
        assert answer["code"] == row["code"], (client, answer)
        assert answer["status"] == row["status"], (client, answer)
        assert pattern.match(answer["message"] or ""), (client, answer["message"])
        if "request_id" in answer:
            assert answer["request_id"], client
        if "host_id" in answer:
            assert answer["host_id"] == "live.aliyuncs.com", client
