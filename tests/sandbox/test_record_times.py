"""The sandbox writes each record's NotifyTime in SQL (yyyy-MM-ddTHH:mm:ssZ, UTC), on SQLite —
its default — and on PostgreSQL alike: the same text api.format_time writes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db.models import DateTimeField, Value

from dashboard.contract import api
from dashboard.domains.models import Team
from dashboard.sandbox.operations import _ApiTime
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

MOMENTS = [
    dt.datetime(2026, 11, 26, 10, 0, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 26, 23, 59, 59, 999_999, tzinfo=dt.UTC),  # never rounded up
    # 23:30 UTC the day before:
    dt.datetime(2026, 3, 1, 7, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")),
    dt.datetime(1999, 12, 31, 23, 0, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles")),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_the_database_writes_a_records_time_as_the_api_does(moment):
    Team.objects.create(name="t")  # a row to annotate, on the dashboard's own database
    written = (
        Team.objects.annotate(at=_ApiTime(Value(moment, output_field=DateTimeField())))
        .values_list("at", flat=True)
        .get()
    )
    assert written == api.format_time(moment)
