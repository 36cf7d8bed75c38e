"""Trend charts: bars equal a direct count of the archive, in the reader's zone; every config
change (drift included) is a marker matching its audit entry; restoring a change's *before*
goes through the same checks and audit as any edit, conflicts included."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
import zoneinfo

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dashboard.archive.models import ArchivedRecord
from dashboard.audit.models import AuditEntry
from dashboard.audit.selectors import CONFIG_ACTIONS
from dashboard.domains.models import Domain
from dashboard.domains.services import domain_refresh
from dashboard.incidents.drawing import chart_drawing
from dashboard.incidents.selectors import PERIODS, domain_chart
from dashboard.sandbox.models import SandboxRecordConfig
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, archive

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("scope", ["domain", "all domains"])
@pytest.mark.parametrize("period", list(PERIODS))
def test_bars_equal_a_direct_count_of_the_archive(archived, period, scope):
    domain = Domain.objects.get(name=TEAM_DOMAIN) if scope == "domain" else None
    with timezone.override(SHANGHAI):
        chart = domain_chart(domain=domain, period=period)
    records = ArchivedRecord.objects.all()
    if domain is not None:
        records = records.filter(domain=domain)
    else:
        assert records.exclude(domain__name=TEAM_DOMAIN).exists()  # more than one domain
    assert sum(b.total for b in chart.buckets) > 0
    for bucket in chart.buckets:
        inside = records.filter(notify_time__gte=bucket.start, notify_time__lt=bucket.end)
        if bucket is chart.buckets[0]:
            # the first bar starts on a whole hour (or day): it holds whole hours only
            inside = inside.filter(notify_time__gte=chart.start)
        assert bucket.total == inside.count()
        assert bucket.failed == inside.exclude(notify_result="success").count()
        assert sum(bucket.classes.values()) == bucket.failed
    if PERIODS[period][1] >= dt.timedelta(days=1):
        # day bars begin at midnight where the reader is, not at midnight UTC
        starts = {b.start.astimezone(SHANGHAI).time() for b in chart.buckets}
        assert starts == {dt.time(0, 0)}


def edit_record(client, notify_url: str, **extra):
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    return client.post(url, {"notify_url": notify_url, "version": version, **extra})


def config_changes(domain):
    return AuditEntry.objects.filter(
        domain=domain,
        kind__in=["record", "snapshot"],
        action__in=CONFIG_ACTIONS,
        outcome=AuditEntry.Outcome.SUCCESS,
    )


def test_each_config_change_is_a_marker_that_says_who_changed_what(client, lead, archived):
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    client.force_login(lead)
    before_url = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
    assert edit_record(client, "https://new-hooks.example.com/cb").status_code == 302
    # A change made outside the dashboard, found by a refresh: drift, also a marker.
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(
        notify_url="https://console-edit.example.com/cb"
    )
    domain_refresh(domain=domain)
    # A refused change is no change: no marker.
    assert edit_record(client, "http://127.0.0.1/cb").status_code == 400

    response = client.get(f"/domains/{TEAM_DOMAIN}/?period=24h")
    chart = response.context["chart"]
    expected = list(config_changes(domain).filter(created_at__gte=chart.start).order_by("pk"))
    assert [m.entry.pk for m in chart.markers] == [e.pk for e in expected]
    assert [e.action for e in expected] == ["update", "drift"]

    body = response.content.decode()
    svg = body[body.index('<svg viewBox="-8 0 1016 180"') : body.index("</svg>")]
    update, drift = expected
    marker = re.search(rf'data-entry="{update.pk}"><title>([^<]*)</title>', svg)
    assert marker, "the update's marker is on the chart"
    assert "lead: Recording callback · Update" in marker.group(1)
    assert f"{before_url} → https://new-hooks.example.com/cb" in marker.group(1)
    # where on the time axis: the last hour of a 24-hour chart is its right-most 1/24th
    x = float(re.search(rf'data-entry="{update.pk}">.*?<line x1="([\d.]+)"', svg, re.S).group(1))
    assert 1000 - 1000 / 24 <= x <= 1000
    # the list under the chart: each change, its audit entry, and a way back
    item = body[body.index(f'id="change-{drift.pk}"') :]
    item = item[: item.index("</li>")]
    assert "https://new-hooks.example.com/cb → https://console-edit.example.com/cb" in item
    assert f"/audit/?entry={drift.pk}#audit-{drift.pk}" in item
    assert f"?restore={drift.pk}" in item
    audit = client.get(f"/audit/?entry={drift.pk}")
    assert [e.pk for e in audit.context["page"].object_list] == [drift.pk]


def test_markers_leave_out_other_domains_and_the_overview_shows_all(client, lead, archived):
    client.force_login(lead)
    edit_record(client, "https://new-hooks.example.com/cb")
    other = Domain.objects.exclude(Q(name=TEAM_DOMAIN) | Q(domain_type="play")).first()
    assert client.get(f"/domains/{other.name}/?period=24h").context["chart"].markers == []
    overview = client.get("/records/overview/?period=24h")
    assert [m.entry.domain_name for m in overview.context["chart"].markers] == [TEAM_DOMAIN]


def test_upstream_text_on_markers_and_changes_is_escaped(client, lead, archived):
    """The chart's markup is built in Python: a URL that drifted in from the Live API with
    markup in it shows as text on the domain page and the overview, never as markup."""
    hostile = 'https://x.example.com/cb?a="><script>alert(1)</script>&b=<img src=x>'
    SandboxRecordConfig.objects.filter(domain__name=TEAM_DOMAIN).update(notify_url=hostile)
    domain_refresh(domain=Domain.objects.get(name=TEAM_DOMAIN))
    client.force_login(lead)
    for path in (f"/domains/{TEAM_DOMAIN}/?period=24h", "/records/overview/?period=24h"):
        body = client.get(path).content.decode()
        assert 'class="marker"' in body, path
        assert "<script>alert(1)" not in body and "<img src=x>" not in body, path
        # in the marker's title and in the list of changes, as text
        assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2, path


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_chart_numbers_read_as_intcomma_writes_them(language):
    """The chart formats its numbers without intcomma's per-number lookups: the same text."""
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.utils import translation

    from dashboard.incidents.drawing import _counter

    with translation.override(language):
        count = _counter()
        for n in (0, 7, 999, 1000, 1234, 98765, 1234567, 10**9 + 1):
            assert count(n) == intcomma(n), (language, n)


def test_viewers_see_markers_but_no_restore_and_no_audit_link(client, viewer, lead, archived):
    client.force_login(lead)
    edit_record(client, "https://new-hooks.example.com/cb")
    client.force_login(viewer)
    body = client.get(f"/domains/{TEAM_DOMAIN}/?period=24h").content.decode()
    assert 'class="marker"' in body
    assert "?restore=" not in body and "/audit/?entry=" not in body


def test_unknown_periods_fall_back_to_seven_days(client, viewer, archived):
    client.force_login(viewer)
    for period in ("", "1y", "<script>", "7d"):
        response = client.get(f"/domains/{TEAM_DOMAIN}/", {"period": period})
        assert response.status_code == 200 and response.context["chart"].period == "7d"


# --- rollback -------------------------------------------------------------------------------


@pytest.fixture
def changed(client, editor, archived):
    """The editor moved the recording callback from its first URL to a second one."""
    client.force_login(editor)
    first = SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url
    edit_record(client, "https://second.example.com/cb", need_status_notify="on")
    entry = config_changes(Domain.objects.get(name=TEAM_DOMAIN)).latest("pk")
    return {"first": first, "entry": entry}


def test_restore_opens_the_form_with_the_values_before_the_change(client, changed):
    entry = changed["entry"]
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = client.get(url, {"restore": entry.pk})
    form = response.context["form"]
    assert form.initial["notify_url"] == changed["first"]
    assert form.initial["rollback_of"] == entry.pk
    body = response.content.decode()
    assert f"Restoring the configuration from before entry #{entry.pk}" in body

    saved = client.post(
        url,
        {
            "notify_url": form.initial["notify_url"],
            "need_status_notify": "on" if form.initial.get("need_status_notify") else "",
            "version": form.initial["version"],
            "rollback_of": entry.pk,
        },
    )
    assert saved.status_code == 302
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == changed["first"]
    rollback = AuditEntry.objects.latest("pk")
    assert rollback.rollback_of_id == entry.pk and rollback.actor_name == "editor"
    assert rollback.after["notify_url"] == changed["first"]
    page = client.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert f"rollback of entry #{entry.pk}" in page


def test_a_restore_that_meets_a_newer_change_gets_the_conflict_view(client, lead, changed):
    entry = changed["entry"]
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    form = client.get(url, {"restore": entry.pk}).context["form"]
    # Meanwhile a lead changes it again.
    from django.test import Client

    other = Client()
    other.force_login(lead)
    assert edit_record(other, "https://third.example.com/cb").status_code == 302
    latest = AuditEntry.objects.latest("pk").pk

    response = client.post(
        url,
        {
            "notify_url": form.initial["notify_url"],
            "version": form.initial["version"],
            "rollback_of": entry.pk,
        },
    )
    body = response.content.decode()
    assert response.status_code == 409 and "https://third.example.com/cb" in body
    assert f"Restoring the configuration from before entry #{entry.pk}" in body  # kept
    assert SandboxRecordConfig.objects.get(domain__name=TEAM_DOMAIN).notify_url == (
        "https://third.example.com/cb"
    )
    # Nothing saved; the attempt is on record as a conflict, marked as the rollback it was.
    (attempt,) = AuditEntry.objects.filter(pk__gt=latest)
    assert attempt.outcome == "conflict" and attempt.rollback_of_id == entry.pk


def test_a_key_cannot_be_restored_from_its_fingerprint_and_the_form_says_so(client, lead, archived):
    client.force_login(lead)
    edit_record(
        client,
        "https://signed.example.com/cb",
        notify_req_auth="on",
        notify_auth_key="an-old-key-0123456789",
    )
    edit_record(client, "https://unsigned.example.com/cb")
    entry = config_changes(Domain.objects.get(name=TEAM_DOMAIN)).latest("pk")
    assert entry.before["auth_key"] == "set"
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    response = client.get(url, {"restore": entry.pk})
    body = response.content.decode()
    assert "The auth key cannot be restored from its fingerprint" in body
    assert "an-old-key" not in body
    assert response.context["form"].initial["notify_req_auth"] is True


def test_restore_of_another_domains_entry_or_nonsense_is_an_ordinary_edit(client, lead, changed):
    url = reverse("config_edit", kwargs={"name": "play.edu-streams.cn", "kind": "record"})
    client.force_login(lead)
    for value in (changed["entry"].pk, "abc", "-1", "99999999999999999999999"):
        response = client.get(url, {"restore": value})
        assert response.status_code == 200 and "rollback_of" not in response.context["form"].initial


def test_the_bar_of_the_period_going_on_now_says_it_is_not_over(client, viewer, archived):
    """The last bar ends now, part way through its six hours (or its day): it is drawn faded,
    its title says so and the legend explains it; the bars before it are whole."""
    import re

    from tests.conftest import archive

    # a delivery a moment ago: the period going on now has a bar (however early in it we are)
    archive(Domain.objects.get(name=TEAM_DOMAIN), ("success", timezone.now()))
    client.force_login(viewer)
    for path in ("/records/overview/?period=7d", f"/domains/{TEAM_DOMAIN}/?period=30d"):
        body = client.get(path).content.decode()
        bars = re.findall(
            r'<a href="/records/\?[^"]*"( class="partial")?><title>([^<]*)</title>', body
        )
        assert len(bars) > 2
        *whole, (last_class, last_title) = bars
        assert last_class and last_title.endswith("(so far: this period is not over)")
        assert not any(cls or "so far" in title for cls, title in whole)
        assert '<span class="key partial"></span> so far (the period going on now)' in body


@pytest.mark.parametrize(("period", "label"), [("24h", r"\d\d:00"), ("7d", r"\d\d-\d\d \d\d:00")])
def test_the_times_under_a_chart_are_those_of_the_bars_above_them(
    client, viewer, archived, period, label
):
    """The bars are of equal width, so the times under the axis stand a quarter, a half and
    three quarters of the way through the bars: each is the start of the bar there — a whole
    hour, where a quarter of the time span gave 23:06 — and the last is now. In New York."""
    client.cookies["tz"] = "America/New_York"
    client.force_login(viewer)
    before = timezone.now()
    body = client.get(f"/records/overview/?period={period}").content.decode()
    after = timezone.now()
    axis = re.search(r'<div class="chart-axis[^"]*"[^>]*>(.*?)</div>', body, re.S).group(1)
    ticks = re.findall(r"<span>([^<]*)</span>", axis)
    assert len(ticks) == 5
    assert all(re.fullmatch(label, tick) for tick in ticks[:4]), ticks
    fmt = "%H:%M" if period == "24h" else "%m-%d %H:%M"

    def expected(now):
        chart = domain_chart(domain=None, period=period, now=now)
        n = len(chart.buckets)
        starts = [chart.buckets[round(i * n / 4)].start for i in range(4)]
        return [timezone.localtime(t).strftime(fmt) for t in [*starts, now]]

    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        # the page was drawn between the two moments (a minute may turn meanwhile)
        assert ticks in (expected(before), expected(after))


@pytest.fixture
def zone_only_python_knows(tmp_path):
    """A zone Python reads and the database does not: a browser's zone name comes from its own
    time zone data, the dashboard reads it from the system's (or the `tzdata` package), and
    PostgreSQL from its own files, perhaps on another host — the three need not agree
    (`Asia/Calcutta`, which Chrome reports in India, is a legacy name some systems leave out)."""
    folder = tmp_path / "zones" / "Test"
    folder.mkdir(parents=True)
    nepal = importlib.resources.files("tzdata.zoneinfo").joinpath("Asia/Kathmandu")
    (folder / "Nepal").write_bytes(nepal.read_bytes())  # UTC+05:45: days begin at 18:15 UTC
    zoneinfo.reset_tzpath(to=[str(tmp_path / "zones"), *zoneinfo.TZPATH])
    zoneinfo.ZoneInfo.clear_cache()
    yield zoneinfo.ZoneInfo("Test/Nepal")
    zoneinfo.reset_tzpath()
    zoneinfo.ZoneInfo.clear_cache()


@pytest.mark.parametrize(
    "path", ["/records/overview/?period=30d", f"/domains/{TEAM_DOMAIN}/?period=90d"]
)
def test_day_bars_in_a_zone_the_database_does_not_know(
    client, viewer, archived, zone_only_python_knows, path
):
    """The day bars were summed by the database in the reader's zone, by its name: a zone it
    did not know was a 500 on PostgreSQL. And Nepal's days (UTC+05:45) begin at 18:15 UTC,
    inside an hour the archive counts whole: the bars counted 18:00–18:15 in the wrong day.
    Now each day's bar runs from its first whole hour, 00:45, its title says so, and it
    equals a direct count of the archive."""
    client.cookies["tz"] = "Test%2FNepal"
    client.force_login(viewer)
    page = client.get(path)
    assert page.status_code == 200
    assert "Test/Nepal (UTC+05:45)" in page.content.decode()
    chart = page.context["chart"]
    records = ArchivedRecord.objects.all()
    if path.startswith("/domains/"):
        records = records.filter(domain__name=TEAM_DOMAIN)
    assert sum(b.total for b in chart.buckets) > 0
    body = page.content.decode()
    for bucket in chart.buckets:
        begins = bucket.start.astimezone(zone_only_python_knows)
        assert begins.time() == dt.time(0, 45)
        if bucket.total:
            ends = bucket.end.astimezone(zone_only_python_knows)  # the last: now
            # its bar's title, with the end's date: the next day's (the last's: today's)
            end = f"{ends:%H:%M}" if ends.date() == begins.date() else f"{ends:%Y-%m-%d %H:%M}"
            assert f"{begins:%Y-%m-%d %H:%M} – {end}: " in body
        inside = records.filter(notify_time__gte=bucket.start, notify_time__lt=bucket.end)
        assert bucket.total == inside.count()
        assert bucket.failed == inside.exclude(notify_result="success").count()


@pytest.mark.parametrize(
    ("zone", "period", "now"),
    [
        # the hour New York's clocks go back (01:00 comes twice) and the 6-hour bar that
        # begins at the second 01:00; a last bar that ends part way through a minute
        ("America/New_York", "24h", dt.datetime(2026, 11, 1, 12, 0, 40, tzinfo=dt.UTC)),
        ("America/New_York", "7d", dt.datetime(2026, 11, 3, 12, 0, 40, tzinfo=dt.UTC)),
        ("Asia/Kathmandu", "30d", dt.datetime(2026, 11, 3, 12, 0, 40, tzinfo=dt.UTC)),
        # Havana's clocks go back at 01:00 on 1 November: that midnight comes twice
        ("America/Havana", "7d", dt.datetime(2026, 11, 2, 12, 0, 40, tzinfo=dt.UTC)),
        ("America/Havana", "30d", dt.datetime(2026, 11, 3, 12, 0, 40, tzinfo=dt.UTC)),
    ],
)
def test_each_bar_links_to_the_callbacks_it_counts(client, viewer, synced, zone, period, now):
    """A bar's link opens the records of its period: as many as the bar counts (its failures
    when it has some). The links gave local times to the minute with no offset: the first
    01:00 bar of the night New York's clocks go back opened both 01:00 hours, twice its
    count, and the last bar left out the seconds of its last minute."""
    domain = Domain.objects.create(name="bars.example.com", domain_type="liveVideo")
    every = PERIODS[period][0] / 300
    moments = [now - every * i - dt.timedelta(seconds=13) for i in range(300)]
    archive(domain, *((("failed" if i % 3 else "success"), m) for i, m in enumerate(moments)))
    archive(domain, ("failed", now - dt.timedelta(seconds=20)))  # in the last bar's last minute
    client.cookies["tz"] = zone.replace("/", "%2F")
    client.force_login(viewer)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        chart = domain_chart(domain=domain, period=period, now=now)
        bars = chart_drawing(chart, domain=domain).bars
    assert len(bars) > 3
    for bar, bucket in zip(bars, [b for b in chart.buckets if b.total], strict=True):
        page = client.get(bar.href)
        assert page.status_code == 200, bar.href
        expected = bucket.failed if bucket.failed else bucket.total
        assert page.context["total"] == expected, (bar.title, bar.href)
