"""One character that a database cannot store never stops the archive.

Repro: a record with U+0000 in one field made PostgreSQL's COPY refuse the whole batch; the
harvester exited, that domain's cursor never moved again and the domains after it were never
harvested (SQLite stored the same record). Now every text from upstream is made storable (a NUL
becomes U+FFFD, same length), and a failure of one domain is said on that domain while the
pass goes on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dashboard.archive.models import ArchivedRecord, HarvestCursor
from dashboard.domains.models import Domain
from tests.conftest import (
    ALL_DATABASES,
    OTHER_DOMAIN,
    TEAM_DOMAIN,
    add_record,
    harvest_now,
    process_env,
)

ROOT = Path(__file__).resolve().parents[2]
NUL = "\x00"
TEXT_FIELDS = {
    "app_name": f"live{NUL}app",
    "stream_name": f"room{NUL}1",
    "notify_type": f"file_created{NUL}",
    "notify_url": f"https://hooks.example.net/cb?x={NUL}",
    "notify_content": f'{{"domain": "x{NUL}y"}}',
    "notify_header": f'{{"Content-Type": "application/json{NUL}"}}',
    "notify_response": f"HTTP/1.1 500{NUL}",
    "description": f"timeout{NUL}",
    "storage_type": f"oss{NUL}",
}


def with_nul_in_every_text_column(domain: str = TEAM_DOMAIN):
    add_record(domain_name=domain, notify_result="failed", **TEXT_FIELDS)
    add_record(domain_name=OTHER_DOMAIN, stream_name="after-the-bad-one")


def assert_stored_visibly():
    stored = ArchivedRecord.objects.get(stream_name="room\ufffd1")
    for field, sent in TEXT_FIELDS.items():
        value = getattr(stored, field)
        wanted = sent.replace(NUL, "\ufffd")
        # the same text, the NUL replaced where it was (same length); fields the archive
        # keeps shorter are cut as always
        assert value == wanted[: len(value)] and NUL not in value, field
    cursor = HarvestCursor.objects.get(domain__name=TEAM_DOMAIN)
    assert cursor.last_error == ""
    assert ArchivedRecord.objects.filter(stream_name="after-the-bad-one").exists()
    return stored


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_nul_in_every_text_column_is_stored_visibly_and_shown(archived, client, viewer):
    with_nul_in_every_text_column()
    report = harvest_now()
    assert not report.failed, [d.error for d in report.failed]
    stored = assert_stored_visibly()
    client.force_login(viewer)
    page = client.get(f"/records/{stored.pk}/")
    assert page.status_code == 200 and "room\ufffd1" in page.content.decode()
    found = client.get("/records/?stream=room&window=24h")
    assert found.status_code == 200 and "room\ufffd1" in found.content.decode()
    export = client.get("/records/export.csv?stream=room&window=24h")
    assert "\ufffd" in b"".join(export.streaming_content).decode("utf-8-sig")


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_harvester_process_archives_it_and_every_domain_after_it(synced):
    with_nul_in_every_text_column()
    HarvestCursor.objects.update(next_run_at=None)
    done = subprocess.run(
        [sys.executable, "manage.py", "harvest_records"],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_stored_visibly()
    streaming = Domain.objects.filter(domain_type="liveVideo", gone_at__isnull=True)
    assert (
        HarvestCursor.objects.filter(
            domain__in=streaming, harvested_until__isnull=False, last_error=""
        ).count()
        == streaming.count()
    )


def test_a_lone_surrogate_in_a_page_does_not_lose_the_page():
    """orjson refuses JSON with a lone surrogate escape; the page is read all the same."""
    from dashboard.live import LiveClient
    from dashboard.live.ratelimit import SlotLimiter

    page = (
        b'{"RequestId":"R","PageNum":1,"PageSize":20,"TotalNum":1,"TotalPage":1,'
        b'"CallbackList":[{"DomainName":"d","AppName":"a","StreamName":"s\\ud800x",'
        b'"NotifyType":"file_created","NotifyUrl":"u","NotifyContent":"{}",'
        b'"NotifyResult":"success","NotifyTime":"2026-12-01T00:00:00Z"}]}'
    )

    def answer(request):
        return httpx.Response(200, content=page)

    from django.core.cache import cache

    client = LiveClient(
        endpoint="http://live.test",
        access_key_id="k",
        access_key_secret="s",
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        limiter=SlotLimiter(cache),
    )
    import datetime as dt

    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    result = client.describe_notify_records(
        "d", start=now - dt.timedelta(hours=2), end=now, now=now
    )
    (record,) = result.records
    assert record.stream_name == "s\ufffdx"
    record.stream_name.encode("utf-8")  # valid text, storable anywhere
