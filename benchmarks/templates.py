"""Markup in templates, at what cost: the records table's rows (100 a page, the largest page
most people use) rendered by the template `records/_rows.html`, and a 7-day chart (168 bars,
100 config changes) by `incidents/_chart.html`, each beside the same markup built by Python
f-strings as the dashboard did until 2026-12 (kept here as the peers). Alternating, in one
process, DEBUG off (the cached template loader), English and Chinese.

    .venv/bin/python benchmarks/templates.py
"""

from __future__ import annotations

import datetime as dt
import html
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    DEBUG="false",
    SECRET_KEY="bench-" + "k" * 50,
    SECURE_SSL_REDIRECT="false",
    ALLOWED_HOSTS="testserver",
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django  # noqa: E402

django.setup()

from django import template  # noqa: E402
from django.conf import settings  # noqa: E402
from django.template import engines  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone, translation  # noqa: E402
from django.utils.html import format_html_join  # noqa: E402
from django.utils.safestring import mark_safe  # noqa: E402
from django.utils.translation import gettext  # noqa: E402

from benchmarks._bootstrap import summary  # noqa: E402
from dashboard.archive.models import ArchivedRecord  # noqa: E402
from dashboard.audit.models import AuditEntry  # noqa: E402
from dashboard.domains.models import Domain  # noqa: E402
from dashboard.domains.templatetags.dashboard import failure_name, percent  # noqa: E402
from dashboard.incidents.drawing import HEIGHT, WIDTH, _counter, _local, _url, _what  # noqa: E402
from dashboard.incidents.selectors import Bucket, Chart, Marker  # noqa: E402
from dashboard.records.views import _row  # noqa: E402

ROWS, REPEAT = 100, 200


def records() -> list[ArchivedRecord]:
    start = timezone.now().replace(microsecond=0)
    content = (
        '{"domain":"live.example-shop.com","app":"live","stream":"room-%d","uri":"live/room/'
        '2026-12-04/12-00-00.m3u8","duration":3600.5,"start_time":1764849600,"stop_time":'
        '1764853200,"push_args":"token=abc&expire=1764860000"}'
    )
    return [
        ArchivedRecord(
            pk=i + 1,
            domain_name="live.example-shop.com",
            app_name="live",
            stream_name=f"room-{i}",
            notify_type="file_created",
            notify_url="https://hooks.example-shop.com/live/record?source=aliyun&v=2",
            notify_content=content % i,
            notify_result="failed" if i % 3 == 0 else "success",
            notify_response="<html><body>502 Bad Gateway</body></html>" if i % 3 == 0 else "ok",
            notify_header="Content-Type: application/json\r\nUser-Agent: Live",
            description="HTTP 502 Bad Gateway" if i % 3 == 0 else "success",
            failure_class="http" if i % 3 == 0 else "",
            http_status=502 if i % 3 == 0 else None,
            notify_time=start - dt.timedelta(seconds=37 * i),
        )
        for i in range(ROWS)
    ]


_e = html.escape


def python_rows(rows: list[dict], filters: dict) -> str:
    """One <tbody> per record: the summary row, then its details (content, response,
    header, the permalink) folded in a <details>. The domain column is left out when the
    filters name one domain (as the table's head does)."""
    show_domain = not filters.get("domain")
    words = {
        key: _e(gettext(text))
        for key, text in (
            ("time", "Time"),
            ("domain", "Domain"),
            ("stream", "App / stream"),
            ("type", "Type"),
            ("result", "Result"),
            ("url", "Notify URL"),
            ("desc", "Description"),
            ("details", "Details"),
            ("copy", "Copy"),
            ("success", "success"),
            ("failed", "failed"),
            ("own_page", "Open this record's own page"),
        )
    }
    parts = []
    for n, row in enumerate(rows, start=1):
        r = row["record"]
        when = ""
        if row["local"]:
            when = (
                f'<time datetime="{_e(row["iso"])}" title="{_e(row["utc"])} UTC">'
                f"{_e(row['local'])}</time>"
            )
            if row["permalink"]:
                when = f'<a href="{_e(row["permalink"])}">{when}</a>'
        result = f'<span class="badge {row["result_class"]}">'
        result += words["success"] if r.notify_result == "success" else words["failed"]
        result += "</span>"
        if row["failure"]:
            result += f' <span class="small">{_e(str(row["failure"]))}</span>'
        if row.get("redelivery"):
            result += render_to_string("redelivery/_badge.html", {"attempt": row["redelivery"]})
        cells = [_td(words["time"], when)]
        if show_domain:
            cells.append(_td(words["domain"], _e(r.domain_name), ' class="small"'))
        cells += [
            _td(words["stream"], f"{_e(r.app_name)} / {_e(r.stream_name)}"),
            _td(words["type"], f'<span class="badge type">{_e(r.notify_type)}</span>'),
            _td(words["result"], result),
            _td(words["url"], _e(r.notify_url), ' class="mono small break wide"'),
            _td(words["desc"], _e(r.description), ' class="small wide"'),
        ]
        own_page = (
            f'<p><a href="{_e(row["permalink"])}">{words["own_page"]} →</a></p>'
            if row["permalink"]
            else ""
        )
        mark = f' data-record="{r.pk}"' if row["permalink"] else ""
        parts.append(
            f'    <tbody class="record"{mark}>\n    <tr>\n' + "".join(cells) + "    </tr>\n"
            '    <tr class="detail"><td colspan="7"><details>'
            f"<summary>{words['details']}</summary>\n"
            '      <div class="detail-grid">\n'
            + _pre("NotifyContent", f"c{n}", row["content"], words["copy"])
            + _pre("NotifyResponse", f"r{n}", r.notify_response or "—", words["copy"])
            + _pre("NotifyHeader", f"h{n}", r.notify_header or "—", words["copy"])
            + f"      </div>{own_page}</details></td></tr>\n    </tbody>"
        )
    return mark_safe("\n".join(parts))  # noqa: S308 - every value through _e


def _td(label: str, content: str, attributes: str = "") -> str:
    """A cell with its column's name (the narrow layout shows it beside the value)."""
    return f'      <td{attributes} data-label="{label}">{content}</td>\n'


def _pre(title: str, anchor: str, text: str, copy: str) -> str:
    return (
        f'        <div><h4>{title} <button type="button" class="copy" '
        f'data-copy-target="{anchor}">{copy}</button></h4>'
        f'<pre id="{anchor}">{_e(text)}</pre></div>\n'
    )


# --- the chart peer: the template tag of before, drawing markup in Python ----------------------

peer = template.Library()
_e = html.escape


def _old_bars(chart, domain, horizon, count) -> str:
    slots = max(len(chart.buckets), 1)
    slot = WIDTH / slots
    peak = max(chart.peak, 1)
    records = reverse("records")
    scope = f"domain={quote(domain.name, safe='/')}&" if domain is not None else ""
    parts = []
    for index, bucket in enumerate(chart.buckets):
        if not bucket.total:
            continue
        success_h = HEIGHT * bucket.success / peak
        failed_h = HEIGHT * bucket.failed / peak
        x, width = round(index * slot + slot * 0.1, 2), round(slot * 0.8, 2)
        href = (
            f"{records}?{scope}window=custom&start={_local(max(bucket.start, horizon))}"
            f"&end={_local(bucket.end)}{'&status=failed' if bucket.failed else ''}"
        )
        title = (
            f"{_local(bucket.start, '%Y-%m-%d %H:%M')} – {_local(bucket.end, '%H:%M')}: "
            + gettext("%(ok)s delivered, %(bad)s failed")
            % {"ok": count(bucket.success), "bad": count(bucket.failed)}
            + "".join(
                f" · {failure_name(name)} {count(n)}"
                for name, n in sorted(bucket.classes.items(), key=lambda item: -item[1])
            )
        )
        success_y = round(HEIGHT - success_h, 2)
        failed_y = round(HEIGHT - success_h - failed_h, 2)
        parts.append(
            f'<a href="{_e(href)}"><title>{_e(title)}</title>\n'
            f'      <rect class="ok" x="{x}" y="{success_y}" width="{width}" '
            f'height="{round(success_h, 2)}"></rect>\n'
            f'      <rect class="bad" x="{x}" y="{failed_y}" width="{width}" '
            f'height="{round(failed_h, 2)}"></rect></a>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _old_markers(chart, domain, urls: dict) -> str:
    span = (chart.end - chart.start).total_seconds() or 1
    parts = []
    for marker in chart.markers:
        entry = marker.entry
        x = round(WIDTH * (marker.at - chart.start).total_seconds() / span, 2)
        href = _url(urls, "domain_detail", entry.domain_name)
        where = "" if domain is not None else f"{entry.domain_name} · "
        parts.append(
            f'<a href="{_e(href)}?period={chart.period}#change-{entry.pk}" class="marker" '
            f'data-entry="{entry.pk}"><title>{_local(marker.at, "%Y-%m-%d %H:%M")} {_e(where)}'
            f"{_e('{}: {} — {} → {}'.format(*_what(entry)))}</title>\n"
            f'      <line x1="{x}" x2="{x}" y1="0" y2="{HEIGHT}"></line>'
            f'<line class="flag" x1="{x}" x2="{x}" y1="0" y2="14"></line></a>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _old_changes(chart, domain, urls: dict, *, can_edit: bool, user_is_lead: bool) -> str:
    audit = reverse("audit")
    audit_words = gettext("audit entry #%(n)s")
    restore_words = _e(gettext("Restore the configuration before this"))
    parts = []
    for marker in chart.markers:
        entry = marker.entry
        who, what, before, after = _what(entry)
        where = ""
        if domain is None:
            page = _url(urls, "domain_detail", entry.domain_name)
            where = (
                f'<a href="{_e(page)}?period={chart.period}#change-{entry.pk}">'
                f"{_e(entry.domain_name)}</a> · "
            )
        links = ""
        if user_is_lead:
            links += (
                f' <a href="{audit}?entry={entry.pk}#audit-{entry.pk}">'
                f"{_e(audit_words % {'n': entry.pk})}</a>"
            )
        if domain is not None and can_edit and entry.restorable:
            form = _url(urls, "config_edit", entry.domain_name, entry.kind)
            links += f' <a class="restore" href="{_e(form)}?restore={entry.pk}">{restore_words}</a>'
        moment = timezone.localtime(entry.created_at)
        parts.append(
            f'<li id="change-{entry.pk}"><time datetime="{moment.isoformat()}">'
            f"{moment:%Y-%m-%d %H:%M}</time> {where}{_e(who)}: {_e(what)} "
            f'<span class="mono break">{_e(before)} → {_e(after)}</span>{links}</li>'
        )
    return mark_safe("".join(parts))  # noqa: S308 - numbers, and text through _e


def _old_rows(chart, count) -> str:
    return format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _local(b.start, "%Y-%m-%d %H:%M"),
                count(b.success),
                count(b.failed),
                percent(b.rate),
            )
            for b in chart.buckets
            if b.total
        ),
    )


@peer.simple_tag(takes_context=True)
def chart_parts(context, chart) -> dict:
    """Bars (delivered below, failed stacked on top) and config-change markers in a
    1000 × 180 box the page scales to its width; the list of changes under it and the
    numbers as a table. On a domain's page (`domain` in the context) links stay on it."""
    domain = context.get("domain")
    # a bar's records: never before the archive's horizon (the records page refuses that)
    horizon = (
        chart.end - dt.timedelta(days=settings.ARCHIVE_RETENTION_DAYS) + dt.timedelta(minutes=1)
    )
    # five times under the axis (HTML, so the text is not stretched with the bars)
    fmt = {"24h": "%H:%M", "7d": "%m-%d %H:%M"}.get(chart.period, "%m-%d")
    urls: dict = {}
    count = _counter()
    ticks = [_local(chart.start + (chart.end - chart.start) * i / 4, fmt) for i in range(5)]
    return {
        "bars": _old_bars(chart, domain, horizon, count),
        "markers": _old_markers(chart, domain, urls),
        "changes": _old_changes(
            chart,
            domain,
            urls,
            can_edit=bool(context.get("can_edit")),
            user_is_lead=bool(context.get("user_is_lead")),
        ),
        "rows": _old_rows(chart, count),
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT,
        "peak": max(chart.peak, 1),
    }


def chart() -> Chart:
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=7)
    buckets = [
        Bucket(
            start + dt.timedelta(hours=h),
            start + dt.timedelta(hours=h + 1),
            success=1000 + 37 * h,
            failed=(h * 13) % 90,
            classes={"http": (h * 13) % 60, "timeout": (h * 13) % 30} if (h * 13) % 90 else {},
        )
        for h in range(168)
    ]
    markers = []
    for n in range(100):
        entry = AuditEntry(
            pk=n + 1,
            actor_name=f"editor{n % 7}",
            domain_name="live.example-shop.com",
            kind="record",
            action="update",
            outcome="success",
            before={"notify_url": f"https://hooks.example-shop.com/live/v{n}"},
            after={"notify_url": f"https://hooks.example-shop.com/live/v{n + 1}"},
        )
        entry.created_at = start + dt.timedelta(minutes=97 * n)
        markers.append(Marker(entry.created_at, entry))
    return Chart("7d", start, end, buckets, markers)


def charts(language: str) -> None:
    django_engine = engines["django"].engine
    django_engine.template_libraries["peer_charts"] = peer
    old = django_engine.from_string((ROOT / "benchmarks" / "peer_chart.html").read_text())
    request = RequestFactory().get(reverse("domain_detail", args=["live.example-shop.com"]))
    context = {
        "chart": chart(),
        "periods": ["24h", "7d", "30d", "90d"],
        "domain": Domain(name="live.example-shop.com"),
        "can_edit": True,
        "user_is_lead": True,
    }
    assert render_to_string("incidents/_chart.html", context, request).count("<rect") == 2 * 168
    assert old.render(template.RequestContext(request, context)).count("<rect") == 2 * 168
    samples: dict[str, list[float]] = {"template": [], "python": []}
    for _ in range(REPEAT // 2):
        for name, render in (
            ("template", lambda: render_to_string("incidents/_chart.html", context, request)),
            ("python", lambda: old.render(template.RequestContext(request, context))),
        ):
            started = time.perf_counter()
            render()
            samples[name].append((time.perf_counter() - started) * 1000)
    for name, times in samples.items():
        print(f"7-day chart, {language}, {name:8}: {summary(times)}")


def main() -> None:
    zone = timezone.get_current_timezone()
    rows = [_row(r, zone) for r in records()]
    filters: dict = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert python_rows(rows, filters).count("<tbody") == ROWS
            assert (
                render_to_string("records/_rows.html", {"rows": rows, "filters": filters}).count(
                    "<tbody"
                )
                == ROWS
            )
            samples: dict[str, list[float]] = {"template": [], "python": []}
            for _ in range(REPEAT):
                for name, render in (
                    (
                        "template",
                        lambda: render_to_string(
                            "records/_rows.html", {"rows": rows, "filters": filters}
                        ),
                    ),
                    ("python", lambda: python_rows(rows, filters)),
                ):
                    started = time.perf_counter()
                    render()
                    samples[name].append((time.perf_counter() - started) * 1000)
            for name, times in samples.items():
                print(f"{ROWS} record rows, {language}, {name:8}: {summary(times)}")
            charts(language)


if __name__ == "__main__":
    main()
