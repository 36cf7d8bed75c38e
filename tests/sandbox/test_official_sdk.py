"""The official SDK (alibabacloud-live20161101) against `manage.py runsandbox`, unchanged.

Both signature versions: the SDK's default V3 (ACS3-HMAC-SHA256) and `signature_algorithm='v2'`
(RPC v1, HMAC-SHA1). Errors must arrive as the SDK reports them (code, status code, request id).
"""

from __future__ import annotations

import datetime as dt

import pytest
from alibabacloud_live20161101 import models as live
from alibabacloud_live20161101.client import Client
from alibabacloud_tea_openapi import exceptions as sdk_errors
from alibabacloud_tea_openapi.utils_models import Config

from tests.sandbox.servers import sandbox_process


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as port:
        yield port


def sdk(port: int, algorithm: str | None, *, secret: str = "sandbox-secret") -> Client:
    config = Config(
        access_key_id="sandbox",
        access_key_secret=secret,
        endpoint=f"127.0.0.1:{port}",
        protocol="http",
        region_id="cn-shanghai",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return Client(config)


ALGORITHMS = [
    pytest.param(None, id="v3-acs3-hmac-sha256"),
    pytest.param("v2", id="rpc-v1-hmac-sha1"),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_all_ten_operations(sandbox_server, algorithm):
    client = sdk(sandbox_server, algorithm)
    domain = "cdn.webinar-hub.com" if algorithm else "live.newsroom.example.org"  # unconfigured

    domains = client.describe_live_user_domains(
        live.DescribeLiveUserDomainsRequest(page_size=50)
    ).body
    names = [d.domain_name for d in domains.domains.page_data]
    assert (
        domain in names
        and isinstance(domains.total_count, int)
        and domains.total_count == len(names)
    )
    assert domains.request_id

    client.add_live_record_notify_config(
        live.AddLiveRecordNotifyConfigRequest(
            domain_name=domain, notify_url="https://hooks.example.com/rec", need_status_notify=True
        )
    )
    client.update_live_record_notify_config(
        live.UpdateLiveRecordNotifyConfigRequest(
            domain_name=domain,
            notify_url="https://hooks.example.com/rec2",
            notify_req_auth=True,
            notify_auth_key="abcdefghijklmnop1234",
        )
    )
    record = client.describe_live_record_notify_config(
        live.DescribeLiveRecordNotifyConfigRequest(domain_name=domain)
    ).body.live_record_notify_config
    assert record.notify_url == "https://hooks.example.com/rec2"
    assert record.need_status_notify is True and record.notify_req_auth is True
    assert record.notify_auth_key == "abcdefghijklmnop1234"

    client.add_live_snapshot_notify_config(
        live.AddLiveSnapshotNotifyConfigRequest(
            domain_name=domain, notify_url="https://hooks.example.com/snap"
        )
    )
    client.update_live_snapshot_notify_config(
        live.UpdateLiveSnapshotNotifyConfigRequest(
            domain_name=domain,
            notify_url="https://hooks.example.com/snap2",
            notify_req_auth="yes",
            notify_auth_key="SnapKey0123456789",
        )
    )
    snap = client.describe_live_snapshot_notify_config(
        live.DescribeLiveSnapshotNotifyConfigRequest(domain_name=domain)
    ).body
    assert (snap.notify_url, snap.notify_req_auth, snap.notify_auth_key) == (
        "https://hooks.example.com/snap2",
        "yes",
        "SnapKey0123456789",
    )

    now = dt.datetime.now(dt.UTC)
    records = client.describe_live_record_notify_records(
        live.DescribeLiveRecordNotifyRecordsRequest(
            domain_name="live.example-shop.com",
            start_time=(now - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            end_time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            page_number=2,
            page_size=100,
        )
    ).body
    assert records.page_num == 2 and records.page_size == 100
    assert isinstance(records.total_num, int) and records.total_num >= 300
    assert records.total_page == -(-records.total_num // 100)
    assert len(records.callback_list) == 100
    item = records.callback_list[0]
    assert item.notify_result in {"success", "failed"} and item.notify_time.endswith("Z")

    client.delete_live_snapshot_notify_config(
        live.DeleteLiveSnapshotNotifyConfigRequest(domain_name=domain)
    )
    client.delete_live_record_notify_config(
        live.DeleteLiveRecordNotifyConfigRequest(domain_name=domain)
    )
    with pytest.raises(sdk_errors.ClientException) as info:
        client.describe_live_record_notify_config(
            live.DescribeLiveRecordNotifyConfigRequest(domain_name=domain)
        )
    assert info.value.code == "InvalidConfig.NotFound" and info.value.status_code == 404
    assert info.value.request_id


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_four_stream_callback_operations(sandbox_server, algorithm):
    """Set / Describe / Delete a stream callback on an ingest domain and read its delivery
    records, as the SDK's own models read them; the documented refusals as the SDK reports
    them."""
    client = sdk(sandbox_server, algorithm)
    domain = "push.edu-streams.cn" if algorithm else "ingest.sportsnow.tv"
    key = "K" * 40 + "1234"  # 44 characters: longer than a recording key may be
    client.set_live_streams_notify_url_config(
        live.SetLiveStreamsNotifyUrlConfigRequest(
            domain_name=domain,
            notify_url="https://hooks.example.com/stream",
            exception_notify_url="https://hooks.example.com/stream-exception",
            notify_req_auth="yes",
            notify_auth_key=key,
        )
    )
    config = client.describe_live_streams_notify_url_config(
        live.DescribeLiveStreamsNotifyUrlConfigRequest(domain_name=domain)
    ).body
    assert config.request_id
    stream = config.live_streams_notify_config
    assert (stream.domain_name, stream.notify_url, stream.exception_notify_url) == (
        domain,
        "https://hooks.example.com/stream",
        "https://hooks.example.com/stream-exception",
    )
    assert (stream.notify_req_auth, stream.notify_auth_key) == ("yes", key)

    for bad in (
        {"notify_url": "http://127.0.0.1/x"},  # not safe
        {"notify_url": "https://hooks.example.com/s", "notify_req_auth": "yes"},  # no key
        {"notify_url": "https://hooks.example.com/s", "notify_auth_key": "short"},
        {"notify_url": "https://hooks.example.com/s", "notify_auth_key": "k" * 65},
    ):
        with pytest.raises(sdk_errors.ClientException) as info:
            client.set_live_streams_notify_url_config(
                live.SetLiveStreamsNotifyUrlConfigRequest(domain_name=domain, **bad)
            )
        assert (info.value.code, info.value.status_code) == ("InvalidParam", 400), bad
        assert "Parameter invalid." in info.value.message and info.value.request_id
    # a streaming domain takes no stream callback
    with pytest.raises(sdk_errors.ClientException) as info:
        client.set_live_streams_notify_url_config(
            live.SetLiveStreamsNotifyUrlConfigRequest(
                domain_name="live.example-shop.com", notify_url="https://hooks.example.com/s"
            )
        )
    assert (info.value.code, info.value.status_code) == ("IllegalOperation", 403)

    now = dt.datetime.now(dt.UTC)
    window = {
        "start_time": (now - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    records = client.describe_live_streams_notify_records(
        live.DescribeLiveStreamsNotifyRecordsRequest(
            domain_name="push.example-shop.com", page_size=50, **window
        )
    ).body
    assert records.page_num == 1 and records.page_size == 50 and records.total_num >= 100
    items = records.notify_records_info.live_stream_notify_records_info
    assert len(items) == 50
    assert {i.notify_type for i in items} <= {"publish", "publish_done"}
    assert all(
        i.domain_name == "push.example-shop.com" and i.notify_time.endswith("Z") for i in items
    )
    failed = client.describe_live_streams_notify_records(
        live.DescribeLiveStreamsNotifyRecordsRequest(
            domain_name="push.example-shop.com", status="failed", **window
        )
    ).body
    assert failed.page_size == 20 and failed.total_num < records.total_num
    assert {
        i.notify_result for i in failed.notify_records_info.live_stream_notify_records_info
    } == {"failed"}
    with pytest.raises(sdk_errors.ClientException) as info:
        client.describe_live_streams_notify_records(
            live.DescribeLiveStreamsNotifyRecordsRequest(
                domain_name="push.example-shop.com", page_size=501, **window
            )
        )
    assert info.value.code == "MalformedParams"

    client.delete_live_streams_notify_url_config(
        live.DeleteLiveStreamsNotifyUrlConfigRequest(domain_name=domain)
    )
    gone = client.describe_live_streams_notify_url_config(
        live.DescribeLiveStreamsNotifyUrlConfigRequest(domain_name=domain)
    ).body
    assert gone.live_streams_notify_config is None and gone.request_id


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_push_history_is_the_ground_truth_of_the_stream_callbacks(sandbox_server, algorithm):
    """DescribeLiveStreamsPublishList through the SDK: 30 days of push sessions, oldest first,
    the same asked of the ingest or the streaming domain; the documented limits refused."""
    client = sdk(sandbox_server, algorithm)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"

    def history(domain, **kwargs):
        return client.describe_live_streams_publish_list(
            live.DescribeLiveStreamsPublishListRequest(domain_name=domain, **kwargs)
        ).body

    month = history(
        "push.example-shop.com",
        start_time=(now - dt.timedelta(days=30)).strftime(fmt),
        end_time=now.strftime(fmt),
        page_size=3000,
    )
    items = month.publish_info.live_stream_publish_info
    assert month.total_num == len(items) > 500 and month.request_id  # one a hour or more
    assert [i.publish_time for i in items] == sorted(i.publish_time for i in items)
    assert {i.publish_domain for i in items} == {"push.example-shop.com"}
    # the streaming domain it feeds answers with the same sessions
    day = {
        "start_time": (now - dt.timedelta(hours=30)).strftime(fmt),
        "end_time": (now - dt.timedelta(hours=6)).strftime(fmt),
    }
    fed = history("live.example-shop.com", **day).publish_info.live_stream_publish_info
    pushed = history("push.example-shop.com", **day).publish_info.live_stream_publish_info
    assert [(i.stream_name, i.publish_time) for i in fed] == [
        (i.stream_name, i.publish_time) for i in pushed
    ]
    # every push lasts, but an encoder's first connection dropped within its first second (a
    # "blip", 1 in 100 pushes: listed beside its push with the same PublishTime, and stopped
    # then). The test failed whenever one fell in the day asked for.
    lasting = {(i.stream_name, i.publish_time) for i in pushed if i.stop_time > i.publish_time}
    blips = [i for i in pushed if not i.stop_time > i.publish_time]
    assert lasting and all(i.stop_time == i.publish_time for i in blips)
    assert all((i.stream_name, i.publish_time) in lasting for i in blips)
    one = pushed[0]
    strict = history(
        "push.example-shop.com", stream_name=one.stream_name, query_type="strict", **day
    ).publish_info.live_stream_publish_info
    assert strict and {i.stream_name for i in strict} == {one.stream_name}
    for bad in (
        {"start_time": (now - dt.timedelta(days=31)).strftime(fmt), "end_time": now.strftime(fmt)},
        {**day, "page_size": 3001},
    ):
        with pytest.raises(sdk_errors.ClientException) as info:
            history("push.example-shop.com", **bad)
        assert info.value.code == "MalformedParams" and info.value.status_code == 400


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_domains_mapping_reads_through_the_sdk_both_ways(sandbox_server, algorithm):
    """DescribeLiveDomainMapping through the SDK's own model of its answer: an ingest domain
    names the streaming domain it feeds (vhost), that one its ingest domain (publish); a
    domain fed by none has no mapping; an unknown one is not found."""
    client = sdk(sandbox_server, algorithm)

    def mapping(domain):
        body = client.describe_live_domain_mapping(
            live.DescribeLiveDomainMappingRequest(domain_name=domain)
        ).body
        assert body.request_id
        models = body.live_domain_models.live_domain_model if body.live_domain_models else []
        return [(m.domain_name, m.type) for m in models or []]

    assert mapping("push.example-shop.com") == [("live.example-shop.com", "vhost")]
    assert mapping("live.example-shop.com") == [("push.example-shop.com", "publish")]
    assert mapping("live.fitclass.cn") == []
    with pytest.raises(sdk_errors.ClientException) as info:
        mapping("no-such.example.com")
    assert info.value.code == "InvalidDomain.NotFound"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_errors_arrive_as_the_sdk_reports_them(sandbox_server, algorithm):
    client = sdk(sandbox_server, algorithm)
    with pytest.raises(sdk_errors.ClientException) as info:
        client.add_live_record_notify_config(
            live.AddLiveRecordNotifyConfigRequest(
                domain_name="live.example-shop.com", notify_url="http://127.0.0.1/x"
            )
        )
    assert info.value.code == "InvalidNotifyUrl.Unsafe" and info.value.status_code == 400
    assert len(info.value.request_id) == 36

    with pytest.raises(sdk_errors.ClientException) as info:
        sdk(sandbox_server, algorithm, secret="wrong").describe_live_user_domains(
            live.DescribeLiveUserDomainsRequest()
        )
    assert info.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_domains_filter_by_resource_group_and_tags(sandbox_server, algorithm):
    client = sdk(sandbox_server, algorithm)

    def names(**filters) -> set[str]:
        request = live.DescribeLiveUserDomainsRequest(page_size=50, **filters)
        return {
            d.domain_name for d in client.describe_live_user_domains(request).body.domains.page_data
        }

    assert names(resource_group_id="rg-acfmshop00001") == {
        "live.example-shop.com",
        "push.example-shop.com",
    }
    tag = live.DescribeLiveUserDomainsRequestTag
    assert names(tag=[tag(key="team", value="sports")]) == {
        "stream.sportsnow.tv",
        "pull.gamearena.net",
    }
    # Every pair must match; a key alone matches any value.
    assert names(tag=[tag(key="team", value="sports"), tag(key="env", value="prod")]) == {
        "stream.sportsnow.tv"
    }
    assert len(names(tag=[tag(key="env")])) == 7
    assert names(tag=[tag(key="team", value="nobody")]) == set()


def test_rpc_v1_answers_xml_by_default_and_the_old_sdk_reads_it(sandbox_server):
    from xml.etree import ElementTree

    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest

    client = AcsClient("sandbox", "sandbox-secret", "cn-shanghai", auto_retry=False)

    def request(action, accept="XML", **params):
        common = CommonRequest(
            domain=f"127.0.0.1:{sandbox_server}", version="2016-11-01", action_name=action
        )
        common.set_protocol_type("http")
        common.set_method("POST")
        common.set_accept_format(accept)
        for name, value in params.items():
            common.add_query_param(name, value)
        return client.get_response(common)

    status, headers, body = request("DescribeLiveUserDomains", PageSize="50")
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(body)
    assert root.tag == "DescribeLiveUserDomainsResponse"
    items = root.findall("./Domains/PageData")
    assert len(items) == int(root.findtext("TotalCount")) == 11  # an array repeats its element
    assert {i.findtext("LiveDomainType") for i in items} == {"liveVideo", "liveEdge"}

    status, _, body = request("DescribeLiveRecordNotifyConfig", DomainName="live.example-shop.com")
    config = ElementTree.fromstring(body).find("LiveRecordNotifyConfig")
    assert config.findtext("NeedStatusNotify") == "true"  # booleans as true/false

    # The old SDK's own JSON path still works: it asks for JSON explicitly.
    json_request = CommonRequest(
        domain=f"127.0.0.1:{sandbox_server}",
        version="2016-11-01",
        action_name="DescribeLiveUserDomains",
    )
    json_request.set_protocol_type("http")
    json_request.set_method("POST")
    assert b'"TotalCount"' in client.do_action_with_exception(json_request)


def test_v3_with_a_form_body_is_verified_through_its_body_hash(sandbox_server):
    """The SDK puts some operations' parameters in a form body: V3 then signs the query string
    only and covers the body with x-acs-content-sha256."""
    from alibabacloud_tea_openapi import utils_models as models
    from alibabacloud_tea_openapi.client import Client as OpenApiClient
    from darabonba.runtime import RuntimeOptions

    client = OpenApiClient(
        Config(
            access_key_id="sandbox",
            access_key_secret="sandbox-secret",
            endpoint=f"127.0.0.1:{sandbox_server}",
            protocol="http",
        )
    )
    params = models.Params(
        action="DescribeLiveSnapshotNotifyConfig",
        version="2016-11-01",
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    answer = client.call_api(
        params,
        models.OpenApiRequest(body={"DomainName": "live.example-shop.com"}),
        RuntimeOptions(),
    )
    assert answer["body"]["NotifyUrl"] == "https://hooks.example-shop.com/live/snapshot"
