"""The harvest reads a page's records straight into the archive's rows (`archive_rows`, no
NotifyRecord built): what it stores must be exactly what reading each record the ordinary way
(`NotifyRecord.from_item`, then `archive_row`) gives — the same fingerprints above all, or the
overlap of the next harvest would store every record a second time."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.archive.models import ArchivedRecord
from dashboard.archive.store import ArchiveRow, archive_row, archive_rows
from dashboard.domains.models import Domain
from dashboard.live.types import NotifyRecordsPage

DOMAIN = Domain(pk=7, name="play.example.com")
NOW = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", "success", "failed", "HTTP/1.1 503", "time\x00out", "https://hooks.example.net/cb"]
)
values = texts | st.integers() | st.floats(allow_nan=False) | st.none() | st.booleans()
times = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
) | st.sampled_from(
    ["", "2026-12-05 08:00:00", "2026-13-01T00:00:00Z", "2026-12-05T08:00:00+08:00", "0"]
)
TEXT_FIELDS = (  # the API's record fields besides NotifyTime
    "AppName",
    "DomainName",
    "StreamName",
    "NotifyType",
    "NotifyUrl",
    "NotifyContent",
    "NotifyHeader",
    "NotifyResponse",
    "NotifyResult",
    "Description",
    "StorageType",
)
items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={name: values for name in TEXT_FIELDS} | {"NotifyTime": times | values},
    ),
    max_size=8,
)


@given(items)
@settings(max_examples=300, deadline=None)
def test_a_page_read_straight_into_rows_equals_reading_each_record(page_items):
    page = NotifyRecordsPage.from_body({"CallbackList": page_items})
    read = [archive_row(DOMAIN, r, NOW) for r in page.records if r.notify_time]
    assert archive_rows(DOMAIN, page.items, NOW) == read


def test_the_fingerprint_is_the_one_records_were_stored_under():
    """A record's fingerprint never changes from one release to the next (the archive keeps
    90 days of them: a new one would store the overlap again)."""
    item = {
        "AppName": "live",
        "DomainName": "play.example.com",
        "StreamName": "room-1",
        "NotifyType": "record_started",
        "NotifyUrl": "https://hooks.example.net/cb",
        "NotifyContent": '{"stream": "room-1"}',
        "NotifyHeader": "",
        "NotifyResponse": "ok",
        "NotifyResult": "success",
        "NotifyTime": "2026-12-05T08:00:00Z",
        "Description": "success",
        "StorageType": "oss",
    }
    (row,) = archive_rows(DOMAIN, [item], NOW)
    assert str(row.fingerprint) == "6b226379-4427-6d25-6fc9-7536efa0bec8"
    assert row.notify_time == dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
    assert (row.domain_id, row.receiver_host, row.failure_class) == (7, "hooks.example.net", "")


def test_a_row_has_every_column_of_the_records_table_in_its_order():
    """The COPY writes a row as it is: a column added to the table must be added to the row."""
    columns = [f.attname for f in ArchivedRecord._meta.concrete_fields if not f.primary_key]
    assert list(ArchiveRow._fields) == columns
