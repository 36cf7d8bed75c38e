"""The official SDK (alibabacloud-live20161101) against `manage.py runsandbox`, unchanged.

Both signature versions: the SDK's default V3 (ACS3-HMAC-SHA256) and `signature_algorithm='v2'`
(RPC v1, HMAC-SHA1). Errors must arrive as the SDK reports them (code, status code, request id).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alibabacloud_live20161101 import models as live
from alibabacloud_live20161101.client import Client
from alibabacloud_tea_openapi import exceptions as sdk_errors
from alibabacloud_tea_openapi.utils_models import Config

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory):
    port = _free_port()
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    env = {
        **os.environ,
        "DEBUG": "true",
        "SANDBOX_DATABASE_URL": f"sqlite:///{db}",
        "LIVE_SANDBOX_BIG_DOMAIN_RECORDS": "400",
        "LIVE_SANDBOX_RATE_SCALE": "0.02",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{port}", "--no-throttle"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("runsandbox exited: " + (proc.stdout.read() if proc.stdout else ""))
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("runsandbox did not start within 60 s")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


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
