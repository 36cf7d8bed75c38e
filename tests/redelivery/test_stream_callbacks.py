"""Stream callbacks (publish / publish_done) of ingest domains in the archive and resent:
harvested from DescribeLiveStreamsNotifyRecords, searchable like the others, and redelivered
the way Live sends them — a GET with the parameters in the query, signed with the ingest
domain rather than the receiver's host."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.domains.models import Domain
from dashboard.receivers.signature import verify
from dashboard.redelivery.models import RedeliveryAttempt
from dashboard.sandbox.models import SandboxNotifyRecord, SandboxStreamConfig
from tests.conftest import ALL_DATABASES, archive

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

INGEST = "push.example-shop.com"
KEY = "StreamRedeliveryKey0123456789abcdefghijklmnop"  # 45 characters: a stream key
PARAMS = {
    "action": "publish",
    "ip": "203.0.113.7",
    "id": "room-101",
    "app": INGEST,
    "appname": "live",
    "time": 1764806400,
    "usrargs": "order_id=42&team=shop",
    "node": "cdnvideocenter11.cm3",
    "height": 720,
    "width": 1280,
}


def test_an_ingest_domains_stream_callbacks_are_archived_and_found(client, viewer, archived):
    served = SandboxNotifyRecord.objects.filter(
        domain_name=INGEST,
        notify_time__gte=timezone.now() - dt.timedelta(days=7) + dt.timedelta(minutes=5),
    )
    kept = ArchivedRecord.objects.filter(domain_name=INGEST)
    assert served.count() > 100 and served.count() - 2 <= kept.count() <= served.count() + 2
    assert set(kept.values_list("notify_type", flat=True)) == {"publish", "publish_done"}
    assert kept.filter(notify_result="failed").exists()
    client.force_login(viewer)
    page = client.get(f"/records/?domain={INGEST}&window=7d&type=publish_done&size=100")
    rows = page.context["rows"]
    assert page.status_code == 200 and rows
    assert {r["record"].notify_type for r in rows} == {"publish_done"}
    assert page.context["counts"].total == kept.filter(notify_type="publish_done").count()
    # straight from the Live API too: the explorer asks the stream records operation
    live = client.get(f"/records/?domain={INGEST}&source=live&window=24h&size=20")
    assert live.status_code == 200 and live.context["rows"]
    assert {r["record"].notify_type for r in live.context["rows"]} <= {"publish", "publish_done"}


@pytest.fixture
def stream_target(archived, receiver, synced):
    """The ingest domain belongs to the editor's team; its stream callback now points at the
    local receiver, signed with a key longer than a recording key may be."""
    Domain.objects.filter(name=INGEST).update(team=synced["team"])
    SandboxStreamConfig.objects.filter(domain__name=INGEST).update(
        notify_url=receiver.url("/live/stream?source=aliyun"),
        notify_req_auth=True,
        notify_auth_key=KEY,
    )
    return receiver


def test_a_stream_callback_is_resent_as_a_get_signed_with_the_ingest_domain(
    client, editor, stream_target
):
    domain = Domain.objects.get(name=INGEST)
    when = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    (record,) = archive(
        domain,
        ("failed", when),
        url="https://old-hooks.example.com/live/stream",
        content=json.dumps(PARAMS),
        notify_type="publish",
        stream="room-101",
    )
    client.force_login(editor)
    response = client.post(f"/redelivery/record/{record.id}/", follow=True)
    assert "Redelivered: the receiver answered HTTP 200" in response.content.decode()
    assert stream_target.methods == ["GET"]
    ((path, headers, sent),) = stream_target.received
    url = urlsplit(path)
    assert url.path == "/live/stream" and sent == b""
    query = dict(parse_qsl(url.query))
    assert query == {"source": "aliyun", **{k: str(v) for k, v in PARAMS.items()}}
    assert "Content-Type" not in headers and headers["X-Live-Redelivery"] == str(record.id)
    signed = {
        "timestamp": headers["ALI-LIVE-TIMESTAMP"],
        "signature": headers["ALI-LIVE-SIGNATURE"],
    }
    assert verify(host=INGEST, key=KEY, **signed).valid  # the ingest domain, as Live signs
    assert not verify(host=stream_target.host, key=KEY, **signed).valid  # not the URL's host
    attempt = RedeliveryAttempt.objects.get()
    assert attempt.ok and attempt.signed
    assert attempt.target_url == stream_target.url("/live/stream?source=aliyun")
