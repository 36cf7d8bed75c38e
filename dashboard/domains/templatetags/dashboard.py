"""Small template filters for the dashboard's pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django import template
from django.utils import dateformat, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext

from dashboard.contract.urlsafety import readable_host
from dashboard.invisible import invisible_marked, invisible_named

register = template.Library()

# A failure rate above this is "bad" (red); any failure at all is a warning. Defined once.
FAILURE_RATE_BAD = 0.10


@register.filter
def url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


@register.filter
def written_as(name: str) -> str:
    """A domain's name as people write it, when Live carries it in IDNA form (xn--…): shown
    beside it, never instead of it (a look-alike letter would not show)."""
    return readable_host(name)


@register.filter
def sort_toggle(current: str | None, field: str) -> str:
    """The sort value a column header links to: ascending first, then descending."""
    return f"-{field}" if (current or "name") == field else field


@register.filter
def percent(value: float | None) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else "—"


@register.filter
def rate_class(value: float | None) -> str:
    """The badge class of a failure rate: good (none), warn (some), bad (over the threshold)."""
    if not isinstance(value, int | float):
        return "muted"
    if value > FAILURE_RATE_BAD:
        return "bad"
    return "warn" if value else "good"


@register.filter
def fingerprint(value: str) -> str:
    return value[:8] if value else ""


@register.filter
def attr(obj, name: str):
    """An attribute by name, for templates that loop over a ConfigKind's fields."""
    return getattr(obj, name, "")


@register.filter
def get(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.filter
def failure_name(value: str) -> str:
    """A failure class in the reader's language ("timeout" -> "Timeout")."""
    from dashboard.archive.models import failure_name as name

    return name(value)


@register.filter
def since(moment) -> str:
    """How long ago `moment` was, for "… ago" sentences: Django's timesince, except that under
    a minute is "less than a minute" (timesince says "0 minutes")."""
    if moment is None:
        return ""
    if timezone.now() - moment < dt.timedelta(minutes=1):
        return gettext("less than a minute")
    return timesince(moment)


@register.filter
def window_moment(moment, other_end=None) -> str:
    """An end of a records window, in the reader's zone: to the minute, as it is typed, or to
    the second when either end has seconds (a link's exact window: 21:20 – 21:20 said
    nothing, and 21:20 – 21:20:01 read as a minute)."""
    if not moment:
        return ""
    seconds = moment.second or (other_end is not None and getattr(other_end, "second", 0))
    return dateformat.format(timezone.localtime(moment), "Y-m-d H:i:s" if seconds else "Y-m-d H:i")


@register.filter
def later_time(moment, since) -> str:
    """A moment shown beside an earlier one (a session's end beside its start): its time of
    day, with its date when that is another day in the reader's zone — "08:23:47 → 00:53:10"
    read as ending before it began."""
    if not moment:
        return ""
    moment = timezone.localtime(moment)
    same_day = since and timezone.localtime(since).date() == moment.date()
    return dateformat.format(moment, "H:i:s" if same_day else "Y-m-d H:i:s")


@register.filter(is_safe=True)
def shown(value) -> str:
    """Text from pushers, receivers and people, escaped, with the characters that draw
    nothing shown as what they are (`U+202E`, in a box whose tooltip names it): a right-to-left
    override made `live<RLO>1-tset` read as "livetest-1" and a receiver's `<RLO>ok` as "ko",
    and a zero-width space makes two streams look the same. The Copy buttons copy the real
    character (static/js/app.js reads the box's data-char)."""
    return invisible_marked(value)


@register.filter
def shown_plain(value) -> str:
    """`shown` where no markup can go (a page's <title>, an attribute): `[U+202E]`."""
    return invisible_named(value)
