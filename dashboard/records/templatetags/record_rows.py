"""The records table's rows, built in Python.

A page shows up to 100 deliveries, each two table rows with a dozen fields of upstream text;
the template language spent ~25 ms on them (a variable lookup, a localisation and an escape
per field), more than the archive's queries. The markup is what the template wrote; every
upstream value goes through `html.escape`, as the template's autoescaping did."""

from __future__ import annotations

import html

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()

_e = html.escape


@register.simple_tag
def record_rows(rows: list[dict], filters: dict) -> str:
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
