"""The one vocabulary of time spans: "1h", "24h", "7d"… mean the same length everywhere — the
records' time windows, the charts' periods, the failure totals' columns — and read the same."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)

SPANS = {
    "1h": HOUR,
    "6h": 6 * HOUR,
    "24h": DAY,
    "3d": 3 * DAY,
    "7d": 7 * DAY,
    "30d": 30 * DAY,
    "90d": 90 * DAY,
}
LABELS = {
    "1h": _("Last hour"),
    "6h": _("Last 6 hours"),
    "24h": _("Last 24 hours"),
    "3d": _("Last 3 days"),
    "7d": _("Last 7 days"),
    "30d": _("Last 30 days"),
    "90d": _("Last 90 days"),
}
# A chart's period and the width of one of its bars.
CHART_STEPS = {"24h": HOUR, "7d": 6 * HOUR, "30d": DAY, "90d": DAY}
# The failure totals beside each domain (the domain list, the failure overview).
TOTALS = ("24h", "7d", "30d")


def spans(names) -> dict[str, dt.timedelta]:
    return {name: SPANS[name] for name in names}


def totals_end(now: dt.datetime) -> dt.datetime:
    """Where the failure totals' periods end: whole hours, the current one included (it
    counts as far as it is harvested)."""
    return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) + HOUR


def local_iso(moment: dt.datetime, timespec: str = "minutes") -> str:
    """A moment in the reader's zone, with its offset (`2026-12-05T18:00-05:00`, or with
    `timespec="seconds"` to the second): what the records page's custom window reads, exact
    even in the hour a clock goes back."""
    return timezone.localtime(moment).isoformat(timespec=timespec)


def totals_window(period: str, now: dt.datetime) -> str:
    """The records page's window (a query string's part) of what a failure total of `period`
    counted: at 22:40, "24h" is from 23:00 yesterday, and a link to "Last 24 hours" opened 18
    callbacks more than the number it was on."""
    return f"window=custom&start={quote(local_iso(totals_end(now) - SPANS[period]))}"
