"""Fixed signing vectors (pinned date and nonce), cross-checked with the official SDK's signer."""

import datetime as dt

import httpx
from alibabacloud_tea_openapi.utils import Utils as SdkUtils

from dashboard.contract import signing
from dashboard.live.client import SIGNED_HEADERS, LiveClient

PINNED = dt.datetime(2026, 11, 23, 8, 30, 0, tzinfo=dt.UTC)


def pinned_client() -> LiveClient:
    return LiveClient(
        endpoint="https://live.aliyuncs.com",
        access_key_id="LTAI5tTestKeyId",
        access_key_secret="testSecret123",
        http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))),
        utcnow=lambda: PINNED,
        nonce=lambda: "3156853299f313e23d1673dc12e1703d",
    )


PARAMS = {
    "DomainName": "live.example.com",
    "NotifyUrl": "https://hooks.example.com/cb?a=1 2&b=*~",
    "NeedStatusNotify": "true",
}

EXPECTED_CANONICAL = "\n".join(
    [
        "POST",
        "/",
        "DomainName=live.example.com&NeedStatusNotify=true"
        "&NotifyUrl=https%3A%2F%2Fhooks.example.com%2Fcb%3Fa%3D1%202%26b%3D%2A~",
        "accept:application/json",
        "host:live.aliyuncs.com",
        "user-agent:live-callback-dashboard/0.1 (httpx)",
        "x-acs-action:UpdateLiveRecordNotifyConfig",
        "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-acs-date:2026-11-23T08:30:00Z",
        "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d",
        "x-acs-version:2016-11-01",
        "",
        "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]
)
PINNED_STRING_TO_SIGN = (
    "ACS3-HMAC-SHA256\n03f4424fe8e4f7ae6c0c2d3529819aaee0499ec5649e9da2377eb6440d74724d"
)
PINNED_SIGNATURE = "91c81cde4ceb5d2d752c6fe8eff8b66824585110d84d38cf5e0d6d3456b308cc"
PINNED_V1_SIGNATURE = "AtlnGKPogIR12UASKPRTTFLiOfE="


def test_canonical_request_is_exactly_as_documented():
    client = pinned_client()
    headers, query = client.sign("UpdateLiveRecordNotifyConfig", PARAMS)
    canonical = signing.canonical_request_v3(
        method="POST", params=query, headers=headers, signed_headers=SIGNED_HEADERS
    )
    assert canonical == EXPECTED_CANONICAL


def test_signature_matches_pinned_vector_and_the_official_sdk():
    client = pinned_client()
    headers, query = client.sign("UpdateLiveRecordNotifyConfig", PARAMS)
    string_to_sign = signing.string_to_sign_v3(EXPECTED_CANONICAL)
    assert string_to_sign.startswith("ACS3-HMAC-SHA256\n")
    assert string_to_sign == PINNED_STRING_TO_SIGN
    assert headers["authorization"] == (
        "ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,SignedHeaders="
        + ";".join(SIGNED_HEADERS)
        + ",Signature="
        + PINNED_SIGNATURE
    )

    # The official SDK's own signer, fed the same request, produces the same header.
    class Req:
        pathname = "/"
        method = "POST"

    req = Req()
    req.query = dict(query)
    req.headers = {k: v for k, v in headers.items() if k != "authorization"}
    sdk = SdkUtils.get_authorization(
        req, "ACS3-HMAC-SHA256", signing.EMPTY_SHA256, "LTAI5tTestKeyId", "testSecret123"
    )
    assert sdk == headers["authorization"]


def test_rpc_v1_signature_matches_the_official_sdk():
    params = {
        "Action": "DescribeLiveUserDomains",
        "Format": "json",
        "Version": "2016-11-01",
        "AccessKeyId": "LTAI5tTestKeyId",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": "f00d",
        "Timestamp": "2026-11-23T08:30:00Z",
        "DomainName": "live example.com*",
    }
    ours = signing.signature_v1("testSecret123", signing.string_to_sign_v1("POST", params))
    assert ours == SdkUtils.get_rpcsignature(params, "POST", "testSecret123")
    assert ours == PINNED_V1_SIGNATURE
