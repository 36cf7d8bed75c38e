"""The records filter set, once: what the records list, its counts, an export and a redelivery
run mean by "these filters", and how a background job keeps them.

A filter set is a dict: `start` and `end` (aware datetimes; the window, end excluded), and any
of `domain_id`, `status`, `type`, `failure`, `http`, `receiver` (one column's exact value; the
receiver is its host), `app`, `stream`, `name` (any part of a name, any case; in quotes,
`"cam1"`, that name exactly: not `cam10`), `q` (text in
the URL, content or response) and `param` (a push parameter, `key=value`: the callbacks of
the streams that carried it, around when they did); `archived_upto` (a record's number: the
records archived up to it only — a page after the first, read as the archive was at the
first)."""

from __future__ import annotations

import datetime as dt

# Filters that are one column's exact value: the records and every rollup holding the column
# answer them alike.
EXACT = {
    "domain_id": "domain_id",
    "status": "notify_result",
    "type": "notify_type",
    "failure": "failure_class",
    "http": "http_status",
    "receiver": "receiver_host",
}
# Filters only the records themselves can answer (no rollup has the column).
RECORD_ONLY = ("name", "app", "stream", "http", "receiver", "q", "param")
# What a background job keeps (an export file, a redelivery run).
KEPT = (
    "domain",
    "domain_id",
    "name",
    "app",
    "stream",
    "status",
    "type",
    "failure",
    "http",
    "receiver",
    "q",
    "param",
)


# "cam1" or “cam1” (as a Chinese input method types quotes): that name, not cam10 or cam11
_QUOTES = (('"', '"'), ("\u201c", "\u201d"))


def quoted(part: str) -> str | None:
    """The name inside quotes, when an app or stream filter is one exact name; else None."""
    for left, right in _QUOTES:
        if len(part) > 2 and part.startswith(left) and part.endswith(right):
            return part[1:-1]
    return None


def exactly(name: str) -> str:
    """The filter value that finds `name` alone (what `quoted` reads back)."""
    return f'"{name}"'


def exact(filters: dict, names=tuple(EXACT)) -> dict:
    """The `names` among the exact filters that are set, as field lookups."""
    return {EXACT[name]: filters[name] for name in names if filters.get(name)}


def frozen(filters: dict, keep=KEPT) -> dict:
    """The filters as a job keeps them: JSON-safe, the window absolute (UTC)."""
    kept = {name: filters[name] for name in keep if filters.get(name)}
    kept["start"] = filters["start"].astimezone(dt.UTC).isoformat()
    kept["end"] = filters["end"].astimezone(dt.UTC).isoformat()
    return kept


def thawed(kept: dict) -> dict:
    """What `frozen` kept, as filters again."""
    return {
        **kept,
        "start": dt.datetime.fromisoformat(kept["start"]),
        "end": dt.datetime.fromisoformat(kept["end"]),
    }
