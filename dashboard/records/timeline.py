"""One stream's timeline: every archived callback of an app/stream on one family of domains —
an ingest domain and the streaming domain it feeds (DescribeLiveDomainMapping, read by the
sync) — across both families of callbacks, in time order, grouped into push sessions, with
what is missing marked. The same names on unrelated domains are other streams: a stream name
is not unique in an account (`live/test`), and one domain's publish closing another's session
made anomalies of nothing. When the names are found on several families and no domain is
named, the page asks which.

A session is what one push of the stream caused: the ingest domain's `publish`, the streaming
domain's `record_started`, pauses and resumes, each recording file, snapshots, and the
`publish_done`. Live says nothing that ties them together (no session id, STREAM-CALLBACKS.md
§3.2), so they are grouped by time: a session opens at a `publish` and closes at its
`publish_done`; recording callbacks up to FILE_TRAIL after the close still belong to it (the
file is written after the push ends); recording callbacks with no push around them form
sessions of their own, split where nothing arrived for GAP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

from dashboard.archive.models import ArchivedRecord
from dashboard.archive.pushes import SAME_PUSH, SHORT_PUSH
from dashboard.archive.selectors import stream_domains
from dashboard.domains.selectors import domain_families, domain_family
from dashboard.redelivery.selectors import latest_attempts

# The recording file can trail publish_done by minutes (a 180 s interruption wait, then the
# upload): its callbacks up to this long after the close still belong to the session.
FILE_TRAIL = dt.timedelta(minutes=10)
# Recording callbacks further apart than this, with no publish around them, are two sessions.
GAP = dt.timedelta(minutes=30)
# A session whose publish is younger than this may still be pushing: no publish_done is not
# (yet) an anomaly.
LIVE_GRACE = dt.timedelta(hours=3)
# At most this many callbacks are read for one timeline (about 30 days of a busy stream).
LIMIT = 5_000
# App and stream names as the archive keeps them.
NAME_MAX = ArchivedRecord._meta.get_field("stream_name").max_length


class Event(NamedTuple):
    """One callback as the sessions are made of it (a page's rows are read whole)."""

    pk: int
    notify_type: str
    notify_time: dt.datetime
    notify_result: str
    domain_name: str


NO_DONE = _("No publish_done: the push ended without a callback, or its callback was lost.")
NO_FILE = _("Recording started, but no recording file callback came.")
FILE_FAILED = _("A recording file callback failed and was never redelivered.")
NOT_RECORDED = _("Pushed, but no record_started although this stream is recorded.")
NEVER_CALLED = _(
    "Live's push history has this push, but the archive has no publish callback for it: the "
    "callback never came."
)


@dataclass
class Session:
    events: list[Event] = field(default_factory=list)
    published: dt.datetime | None = None  # the publish, when one opened it
    done: dt.datetime | None = None  # the publish_done, when one closed it
    anomalies: list[str] = field(default_factory=list)

    @property
    def start(self) -> dt.datetime:
        return self.published or self.events[0].notify_time

    @property
    def end(self) -> dt.datetime:
        return self.done or (self.events[-1].notify_time if self.events else self.published)

    @property
    def snapshots(self) -> int:
        return sum("snapshot" in e.notify_type for e in self.events)

    @property
    def files(self) -> int:
        return sum(e.notify_type == "file_created" for e in self.events)

    @property
    def failed(self) -> int:
        return sum(e.notify_result != "success" for e in self.events)

    def has(self, notify_type: str) -> bool:
        return any(e.notify_type == notify_type for e in self.events)


@dataclass
class Timeline:
    app: str
    stream: str
    sessions: list[Session]  # newest first
    total: int
    capped: bool  # more than LIMIT callbacks: the oldest were left out
    domains: list[str]
    # the families of domains whose archive holds these names, and the one shown (None: the
    # names are on one family at most, shown whole)
    families: list[list[str]] = field(default_factory=list)
    family: list[str] | None = None

    @property
    def anomalies(self) -> int:
        return sum(len(s.anomalies) for s in self.sessions)

    @property
    def choose(self) -> bool:
        """The names are on several unrelated families and none was named: which one?"""
        return self.family is None and len(self.families) > 1

    @property
    def elsewhere(self) -> list[list[str]]:
        """The other families with a stream of these names."""
        shown = set(self.family or ())
        return [f for f in self.families if not shown & set(f)]


def _group(records: list[Event]) -> list[Session]:
    sessions: list[Session] = []
    current: Session | None = None
    for record in records:
        kind, when = record.notify_type, record.notify_time
        if kind == "publish":
            current = Session(published=when)
            sessions.append(current)
        elif kind == "publish_done":
            if current is None or current.done is not None or current.published is None:
                current = Session()  # its publish is before the window (or was never sent)
                sessions.append(current)
            current.done = when
        elif (
            current is None
            or (current.done is not None and when - current.done > FILE_TRAIL)
            or (current.published is None and when - current.end > GAP)
        ):
            current = Session()
            sessions.append(current)
        current.events.append(record)
    return sessions


def _mark(session: Session, *, now: dt.datetime, recorded: bool, redelivered: dict) -> None:
    if session.published and not session.done and now - session.published > LIVE_GRACE:
        session.anomalies.append(NO_DONE)
    closed = session.done is not None and now - session.done > FILE_TRAIL
    if session.has("record_started") and not session.files and closed:
        session.anomalies.append(NO_FILE)
    for event in session.events:
        if event.notify_type == "file_created" and event.notify_result != "success":
            attempt = redelivered.get(event.pk)
            if attempt is None or not attempt.ok:
                session.anomalies.append(FILE_FAILED)
                break
    if session.published and recorded and not session.has("record_started"):
        session.anomalies.append(NOT_RECORDED)


def names_problem(app: str, stream: str) -> str:
    """Why `app` and `stream`, as given to the timeline by query (the page's or the API's),
    name no stream (a message in the request's language), or "" when they do."""
    if not app.strip() or not stream.strip():
        return str(_("Name the app and the stream (app=…&stream=…)."))
    if len(app) > NAME_MAX or len(stream) > NAME_MAX or "\x00" in app + stream:
        return str(_("An app or stream name is at most 256 characters, without NUL."))
    return ""


def stream_timeline(
    *,
    app: str,
    stream: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    domain: str = "",
) -> Timeline:
    """The timeline of `app`/`stream` over [start, end) on `domain`'s family (none named: on
    the one family that has these names; several: no sessions, `choose`), newest first."""
    families = domain_families(stream_domains(app=app, stream=stream))
    family = domain_family(domain) if domain else None
    if family is None and len(families) > 1:
        return Timeline(app, stream, [], 0, False, [], families=families)
    rows = ArchivedRecord.objects.filter(
        stream_name=stream, app_name=app, notify_time__gte=start, notify_time__lt=end
    )
    if family is not None:
        rows = rows.filter(domain_name__in=family)
    rows = rows.values_list("pk", *Event._fields[1:])  # a page's own rows: read whole later
    newest = [Event(*row) for row in rows.order_by("-notify_time", "-id")[: LIMIT + 1]]
    capped = len(newest) > LIMIT
    records = newest[:LIMIT][::-1]  # oldest first, for grouping
    redelivered = latest_attempts(
        record_ids=[r.pk for r in records if r.notify_result != "success"]
    )
    sessions = _group(records)
    # "this stream is recorded": recording callbacks came for it in this window
    recorded = any(r.notify_type == "record_started" for r in records)
    for session in sessions:
        _mark(session, now=now, recorded=recorded, redelivered=redelivered)
    return Timeline(
        app=app,
        stream=stream,
        sessions=sessions[::-1],
        total=len(records),
        capped=capped,
        domains=sorted({r.domain_name for r in records}),
        families=families,
        family=family,
    )


def pushes_compare(timeline: Timeline, pushes) -> int:
    """Put each push of Live's push history (as archive/pushes.py checked it: only pushes the
    archive is complete for) that has no publish callback in the archive into the timeline as
    a session of its own, marked; returns how many."""
    published = sorted(s.published for s in timeline.sessions if s.published)
    missing = 0
    for push in pushes:
        began = push.publish_time
        if began is None:
            continue
        if push.stop_time is not None and push.stop_time - began < SHORT_PUSH:
            continue
        if any(abs(when - began) <= SAME_PUSH for when in published):
            continue
        timeline.sessions.append(
            Session(published=began, done=push.stop_time, anomalies=[NEVER_CALLED])
        )
        missing += 1
    timeline.sessions.sort(key=lambda s: s.start, reverse=True)
    return missing


def page_rows(events: list[Event]) -> dict[int, ArchivedRecord]:
    """The whole records of some callbacks (those a page shows), by id, in one query."""
    if not events:
        return {}
    times = [e.notify_time for e in events]
    return ArchivedRecord.objects.filter(
        notify_time__gte=min(times),
        notify_time__lte=max(times),  # their days' partitions only
    ).in_bulk([e.pk for e in events])
