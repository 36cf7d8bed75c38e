"""The records explorer: filters, bad input, the 7-day edges, paging, errors, escaping."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from dashboard.sandbox import app as sandbox_app
from dashboard.sandbox.models import SandboxNotifyRecord
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, add_record

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
HX = {"HX-Request": "true"}


@pytest.fixture
def browse(client, viewer, synced):
    client.force_login(viewer)
    return client


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_page_without_domain_invites_a_choice(browse):
    response = browse.get("/records/")
    assert response.status_code == 200 and "Choose a domain" in response.content.decode()


def test_results_show_the_upstream_total_and_rows(browse):
    response = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    result = response.context["result"]
    assert response.status_code == 200
    assert result.total_num == SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).count()
    assert len(response.context["rows"]) == 20
    assert "Server-Timing" in response and response["Server-Timing"].startswith("upstream;dur=")


def test_status_filter_only_failed(browse):
    response = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&status=failed&size=500")
    rows = response.context["rows"]
    assert rows and all(r["record"].notify_result == "failed" for r in rows)
    assert (
        response.context["result"].total_num
        == SandboxNotifyRecord.objects.filter(
            domain_name=TEAM_DOMAIN, notify_result="failed"
        ).count()
    )


def test_app_and_stream_filters(browse):
    sample = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).first()
    response = browse.get(
        f"/records/?domain={TEAM_DOMAIN}&window=7d&app={sample.app_name}&stream={sample.stream_name}&size=500"
    )
    rows = response.context["rows"]
    assert rows and all(
        (r["record"].app_name, r["record"].stream_name) == (sample.app_name, sample.stream_name)
        for r in rows
    )


def test_window_presets_narrow_the_results(browse):
    week = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d").context["result"].total_num
    hour = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h").context["result"].total_num
    assert week > hour


def test_custom_window_inside_the_last_7_days(browse):
    now = timezone.now()
    start, end = now - dt.timedelta(days=2), now - dt.timedelta(days=1)
    response = browse.get(
        f"/records/?domain={TEAM_DOMAIN}&window=custom&start={local(start)}&end={local(end)}&size=500"
    )
    assert response.status_code == 200
    for row in response.context["rows"]:
        assert (
            start - dt.timedelta(minutes=1)
            <= row["record"].notify_time
            <= end + dt.timedelta(minutes=1)
        )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("window=custom&start={days8}&end={now}", "7 days"),
        ("window=custom&start={now}&end={hour_ago}", "end must be after the start"),
        ("window=custom&start={hour_ago}", "Enter the end"),
        ("window=custom", "Enter the start"),
        ("window=forever", "Select a valid choice"),
        ("status=maybe", "Select a valid choice"),
        ("size=7", "Select a valid choice"),
        ("page=0", "greater than or equal to 1"),
        ("page=100001", "less than or equal to 100000"),
        ("page=abc", "Enter a whole number"),
        ("start=yesterday&window=custom&end={now}", "Enter a valid date/time"),
    ],
)
def test_bad_input_is_400_with_the_forms_message(browse, query, message):
    now = timezone.now()
    query = query.format(
        now=local(now),
        hour_ago=local(now - dt.timedelta(hours=1)),
        days8=local(now - dt.timedelta(days=8)),
    )
    response = browse.get(f"/records/?domain={TEAM_DOMAIN}&{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_unknown_domain_is_400(browse):
    response = browse.get("/records/?domain=nope.example.com")
    assert (
        response.status_code == 400
        and "There is no domain called nope.example.com" in response.content.decode()
    )


def test_start_at_the_7_day_edge_is_accepted(browse):
    start = timezone.now() - dt.timedelta(days=7) + dt.timedelta(minutes=2)
    end = timezone.now()
    response = browse.get(
        f"/records/?domain={TEAM_DOMAIN}&window=custom&start={local(start)}&end={local(end)}"
    )
    assert response.status_code == 200


def test_paging_forward_and_deep_pages(browse):
    first = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20")
    total_page = first.context["result"].total_page
    assert total_page > 2
    assert (
        f'href="?domain={TEAM_DOMAIN}&amp;window=7d&amp;size=20&amp;page=2"'
        in first.content.decode()
    )
    second = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20&page=2", headers=HX)
    body = second.content.decode()
    assert "<html" not in body and "Page 2 of" in body
    first_times = {r["record"].notify_time for r in first.context["rows"]}
    assert min(first_times) >= max(r["record"].notify_time for r in second.context["rows"])
    last = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20&page={total_page}")
    assert last.status_code == 200 and last.context["rows"]
    beyond = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=7d&size=20&page={total_page + 5}")
    # Past the end: the last page, never "page 99999 of 12".
    assert beyond.status_code == 200 and beyond.context["rows"]
    assert f"Page {total_page} of {total_page}" in beyond.content.decode()


def test_upstream_error_state_with_retry_never_500(browse):
    sandbox_app.faults.configure("DescribeLiveRecordNotifyRecords:error=1")
    response = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=24h", headers=HX)
    body = response.content.decode()
    assert response.status_code == 502
    assert "The Live API could not answer" in body and "RequestId" in body and "Retry" in body


def test_hostile_upstream_text_is_escaped(browse):
    hostile = "<script>alert('x')</script>"
    add_record(
        stream_name="<b>s</b>",
        notify_url="https://hooks.example-shop.com/live/record",
        notify_content=hostile,
        notify_header='{"X":"<img src=x onerror=alert(1)>"}',
        notify_response=hostile,
        notify_result="failed",
        notify_time=timezone.now() - dt.timedelta(seconds=5),
        description="<i>bad</i>",
    )
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h").content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>s</b>" not in body


def test_notify_content_is_pretty_printed_when_it_parses(browse):
    add_record(
        stream_name="pretty",
        notify_content='7月26日 16:14{"domain":"al.xxxx.com","stream":"livestream01"}',
        notify_time=timezone.now() - dt.timedelta(seconds=3),
    )
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h&stream=pretty").content.decode()
    assert "{\n  &quot;domain&quot;: &quot;al.xxxx.com&quot;," in body


def test_one_upstream_call_per_page_view(browse):
    sandbox_app.stats.reset()
    browse.get(f"/records/?domain={TEAM_DOMAIN}&window=24h&size=100")
    assert sandbox_app.stats.calls == {"DescribeLiveRecordNotifyRecords": 1}


def test_export_streams_every_matching_record_as_csv(browse):
    response = browse.get(f"/records/export.csv?domain={TEAM_DOMAIN}&window=7d&status=failed")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    expected = SandboxNotifyRecord.objects.filter(
        domain_name=TEAM_DOMAIN, notify_result="failed"
    ).count()
    assert rows[0][0] == "notify_time_utc" and len(rows) - 1 == expected
    assert all(row[5] == "failed" for row in rows[1:])


def test_export_is_capped(browse, monkeypatch):
    monkeypatch.setattr("dashboard.records.views.EXPORT_CAP", 10)
    response = browse.get(f"/records/export.csv?domain={TEAM_DOMAIN}&window=7d")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    # The cap is said outside the data: in the file name and a header, never as a CSV row.
    assert len(rows) == 11 and not any(row[0].startswith("#") for row in rows)
    total = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).count()
    assert f"-first-10-of-{total}.csv" in response["Content-Disposition"]
    assert response["X-Export-Rows"] == "10"


def test_failure_overview_rows_fill_in(browse):
    page = browse.get("/records/overview/").content.decode()
    assert 'hx-trigger="load"' in page and "Loading" in page
    row = browse.get(f"/records/overview/{TEAM_DOMAIN}/")
    stats = row.context["stats"]
    total = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN).count()
    failed = SandboxNotifyRecord.objects.filter(
        domain_name=TEAM_DOMAIN, notify_result="failed"
    ).count()
    assert stats.total_7d == total and stats.failed_7d == failed
    assert "window=24h&amp;status=failed" in row.content.decode()
    sandbox_app.stats.reset()
    browse.get(f"/records/overview/{TEAM_DOMAIN}/")
    assert sandbox_app.stats.calls == {}  # cached briefly


def test_times_show_in_the_users_time_zone_with_utc_on_hover(browse):
    when = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=30)
    add_record(
        stream_name="tz-check",
        notify_time=when,
    )
    browse.cookies["tz"] = "Asia%2FShanghai"  # as the browser's script stores it
    body = browse.get(f"/records/?domain={TEAM_DOMAIN}&window=1h&stream=tz-check").content.decode()
    shanghai = when.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    utc = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f'title="{utc} UTC">{shanghai}</time>' in body
    assert "Times are shown in Asia/Shanghai (UTC+08:00)." in body


def test_a_custom_window_is_read_in_the_users_zone(browse):
    browse.cookies["tz"] = "Asia%2FShanghai"
    local_start = (timezone.now() + dt.timedelta(hours=8) - dt.timedelta(hours=3)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    local_end = (timezone.now() + dt.timedelta(hours=8) - dt.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    response = browse.get(
        f"/records/?domain={TEAM_DOMAIN}&window=custom&start={local_start}&end={local_end}"
    )
    assert response.status_code == 200, response.content.decode()[:500]
    start = response.context["filters"]["start"].astimezone(dt.UTC)
    expected = dt.datetime.strptime(local_start, "%Y-%m-%dT%H:%M").replace(
        tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    assert start == expected.astimezone(dt.UTC)


def test_domain_list_loads_the_24h_failure_rate_per_row(browse):
    page = browse.get("/domains/").content.decode()
    assert f'hx-get="/records/rate/{TEAM_DOMAIN}/"' in page and 'hx-trigger="revealed"' in page
    # No record right on the 24-hour edge, so the second the view counts from cannot matter.
    edge = timezone.now() - dt.timedelta(hours=24)
    SandboxNotifyRecord.objects.filter(
        notify_time__range=(edge - dt.timedelta(minutes=1), edge + dt.timedelta(minutes=1))
    ).delete()
    badge = browse.get(f"/records/rate/{TEAM_DOMAIN}/").content.decode()
    # Counted after the request: the sandbox generates records that "happened" meanwhile.
    since = timezone.now().replace(microsecond=0) - dt.timedelta(hours=24)
    rows = SandboxNotifyRecord.objects.filter(domain_name=TEAM_DOMAIN, notify_time__gte=since)
    total, failed = rows.count(), rows.filter(notify_result="failed").count()
    assert f"{failed} of {total} callbacks failed" in badge
    assert f"{failed / total * 100:.1f}%" in badge
