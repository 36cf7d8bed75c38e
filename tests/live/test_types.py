"""Reading the Live API's records: what a page's items become, whatever shape a field has."""

from __future__ import annotations

import datetime as dt

from dashboard.live.types import NotifyRecord, NotifyRecordsPage


def test_a_record_reads_every_field_by_its_own_name():
    item = {
        "AppName": "live",
        "DomainName": "live.example.com",
        "StreamName": "Studio-3",
        "NotifyType": "record_file_created",
        "NotifyUrl": "https://hooks.example.com/cb",
        "NotifyContent": '{"uri":"a.flv"}',
        "NotifyHeader": '{"Content-Type":"application/json"}',
        "NotifyResponse": "HTTP 500",
        "NotifyResult": "failed",
        "NotifyTime": "2026-11-26T10:00:05Z",
        "Description": "timeout",
        "StorageType": "oss",
    }
    record = NotifyRecord.from_item(item)
    assert record == NotifyRecord(
        app_name="live",
        domain_name="live.example.com",
        stream_name="Studio-3",
        notify_type="record_file_created",
        notify_url="https://hooks.example.com/cb",
        notify_content='{"uri":"a.flv"}',
        notify_header='{"Content-Type":"application/json"}',
        notify_response="HTTP 500",
        notify_result="failed",
        notify_time=dt.datetime(2026, 11, 26, 10, 0, 5, tzinfo=dt.UTC),
        description="timeout",
        storage_type="oss",
    )


def test_missing_null_and_non_text_fields_become_text_and_a_bad_time_none():
    record = NotifyRecord.from_item(
        {"AppName": None, "StreamName": 42, "NotifyResponse": 3.5, "NotifyTime": "yesterday"}
    )
    assert record.app_name == "" and record.domain_name == "" and record.storage_type == ""
    assert record.stream_name == "42" and record.notify_response == "3.5"
    assert record.notify_time is None


def test_a_page_reads_its_totals_and_an_absent_list_as_empty():
    page = NotifyRecordsPage.from_body(
        {"PageNum": 2, "PageSize": 500, "TotalNum": 501, "TotalPage": 2, "RequestId": "RID"}
    )
    assert (page.records, page.page_number, page.total_page, page.request_id) == ([], 2, 2, "RID")


def test_a_record_read_from_an_item_is_frozen_and_equal_to_one_built_directly():
    import dataclasses

    import pytest

    record = NotifyRecord.from_item({"AppName": "live", "NotifyTime": "2026-11-26T10:00:05Z"})
    assert dataclasses.asdict(record) == dataclasses.asdict(
        NotifyRecord(
            "live",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            dt.datetime(2026, 11, 26, 10, 0, 5, tzinfo=dt.UTC),
            "",
            "",
        )
    )
    assert hash(record) == hash(dataclasses.replace(record))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.app_name = "changed"
