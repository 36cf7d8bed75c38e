"""Incidents derived from the archived records, one record at a time, in time order.

Failures are grouped by domain + receiver host + cause (failure class, and the HTTP status for
HTTP classes). An incident stays open — or acknowledged, or muted — while failures keep
coming; INCIDENT_RESOLVE_AFTER deliveries to the same host after its last failure, of a kind
of callback that failed (recording, snapshot, stream), resolve it on their own, at the time of
the delivery that did. Another kind's deliveries prove nothing: snapshot callbacks delivered
to a host every few seconds resolved the 404s of its recording callbacks' path, the next 404
opened the cause again, and the muted incident came back as a new one, alerting.

The harvest settles a domain's records range by range (the `records_settled` signal, inside
the transaction that moves its cursor): the domain's active incidents are read and locked, the
range's records are folded in from the database oldest first, and what changed is saved. So
the state depends on the records only, never on the order batches arrived in; `incidents_recount`
folds every archived record of a domain from nothing and gives the same, and `incidents_rebuild`
writes that recount back, keeping what people did (acknowledged, muted, resolved, notes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.archive.classify import HTTP_4XX, HTTP_5XX
from dashboard.archive.models import ArchivedRecord, HarvestCursor
from dashboard.archive.selectors import Settled, records_in_time_order
from dashboard.bulk import q, rows_insert
from dashboard.domains.kinds import kind_of_notify_type
from dashboard.domains.models import Domain

from .models import Incident

MAX_STREAMS = 50
MAX_SAMPLES = 10
# What folding records changes on an incident.
FOLDED = (
    "state",
    "first_seen",
    "last_seen",
    "count",
    "streams",
    "sample_ids",
    "kinds",
    "success_streak",
    "resolved_at",
    "resolved_by",
    "updated_at",
)


def incident_key(domain_id: int, host: str, failure_class: str, status: int | None) -> str:
    code = status if failure_class in (HTTP_4XX, HTTP_5XX) and status else ""
    return f"{domain_id}|{host}|{failure_class}|{code}"


class Fold:
    """A domain's incidents as records are folded in, one at a time."""

    def __init__(self, domain: Domain, active: Iterable[Incident] = ()) -> None:
        self.domain = domain
        self.needed = settings.INCIDENT_RESOLVE_AFTER
        self.active: dict[str, Incident] = {}
        self.by_host: dict[str, set[str]] = defaultdict(set)
        self.touched: dict[int, Incident] = {}  # by id(): one key may see several incidents
        for incident in active:
            self._watch(incident)

    def _watch(self, incident: Incident) -> None:
        self.active[incident.key] = incident
        self.by_host[incident.receiver_host].add(incident.key)

    def add(self, record: Settled) -> None:
        if record.notify_result == "success":
            self._delivered(record)
        else:
            self._failed(record)

    def _delivered(self, record: Settled) -> None:
        keys = self.by_host.get(record.receiver_host)
        if not keys:
            return
        kind = kind_of_notify_type(record.notify_type).name
        for key in sorted(keys):
            incident = self.active[key]
            if record.notify_time <= incident.last_seen:
                continue  # a late delivery from before its last failure proves nothing
            if incident.kinds and kind not in incident.kinds:
                continue  # another kind of callback to the host: its own path and handler
            incident.success_streak += 1
            if incident.success_streak >= self.needed:
                # Not audited: the audit log says what people did; a flapping receiver would
                # bury it. The incident says it resolved on its own, and when.
                incident.state = Incident.State.RESOLVED
                incident.resolved_at = record.notify_time
                incident.resolved_by = None
                del self.active[key]
                keys.discard(key)
            self.touched[id(incident)] = incident

    def _failed(self, record: Settled) -> None:
        key = incident_key(
            self.domain.pk, record.receiver_host, record.failure_class, record.http_status
        )
        incident = self.active.get(key)
        when = record.notify_time
        if incident is None:
            http = record.failure_class in (HTTP_4XX, HTTP_5XX)
            incident = _incident(
                self.domain,
                receiver_host=record.receiver_host,
                failure_class=record.failure_class or "other",
                http_status=record.http_status if http else None,
                key=key,
                first_seen=when,
                last_seen=when,
            )
            self._watch(incident)
        if when >= incident.last_seen:
            # a newer failure: the run of deliveries since the last one starts again (a late
            # record older than the last failure leaves the run alone — every delivery it
            # counted came after that failure, so after this one too)
            incident.success_streak = 0
        incident.first_seen = min(incident.first_seen, when)
        incident.last_seen = max(incident.last_seen, when)
        incident.count += 1
        stream = f"{record.app_name}/{record.stream_name}"
        if not incident.streams or incident.streams[0] != stream:  # else: already first
            streams = [stream, *(s for s in incident.streams if s != stream)]
            incident.streams = streams[:MAX_STREAMS]
        samples = [record.id, *(i for i in incident.sample_ids if i != record.id)]
        incident.sample_ids = samples[:MAX_SAMPLES]
        if (kind := kind_of_notify_type(record.notify_type).name) not in incident.kinds:
            incident.kinds = sorted([*incident.kinds, kind])
        if incident.effective_state == Incident.State.OPEN:
            incident.state = Incident.State.OPEN  # a mute that ran out
        self.touched[id(incident)] = incident

    def save(self) -> None:
        """Write what changed in three statements: the incidents that resolved first, so a
        cause's next incident can open, then the new ones, then the rest (whole rows by COPY,
        dashboard/bulk.py; of the ones known, only the folded columns change)."""
        now = timezone.now()
        touched = sorted(self.touched.values(), key=lambda i: (i.key, i.first_seen))
        for incident in touched:
            incident.updated_at = now
        resolved = [i for i in touched if i.pk and i.state == Incident.State.RESOLVED]
        others = [i for i in touched if i.pk and i.state != Incident.State.RESOLVED]
        _write(resolved)
        _write([i for i in touched if not i.pk], new=True)
        _write(others)


_COLUMNS = [f.attname for f in Incident._meta.concrete_fields]
_DOMAIN = Incident._meta.get_field("domain")


def _incident(domain: Domain, **values) -> Incident:
    """A new incident, its values given by position: Model.__init__ by keywords cost a fold
    more than the rest of its work (a backfill opens thousands)."""
    values = {
        "id": None,
        "domain_id": domain.pk,
        "state": Incident.State.OPEN,
        "opened_at": timezone.now(),
        "count": 0,
        "streams": [],
        "sample_ids": [],
        "kinds": [],
        "success_streak": 0,
        "acknowledged_by_id": None,
        "acknowledged_at": None,
        "muted_until": None,
        "resolved_at": None,
        "resolved_by_id": None,
        "updated_at": None,
        **values,
    }
    incident = Incident(*[values.pop(c) for c in _COLUMNS])
    if values:
        raise TypeError(f"not fields of an incident: {sorted(values)}")
    _DOMAIN.set_cached_value(incident, domain)
    return incident


_FOLDED = ", ".join(
    f"{q(c)} = excluded.{q(c)}" for c in (Incident._meta.get_field(n).column for n in FOLDED)
)


def _write(incidents: list[Incident], *, new: bool = False) -> None:
    columns = _COLUMNS[1:] if new else _COLUMNS  # the id first: a new one gets its own
    rows_insert(
        Incident,
        columns,
        [tuple(getattr(i, c) for c in columns) for i in incidents],
        # new ones numbered in the order they began (two of one cause in one write took
        # their numbers in any order)
        order=["key", "first_seen"] if new else ["id"],
        tail="" if new else f"ON CONFLICT (id) DO UPDATE SET {_FOLDED}",
    )


def incidents_settle(
    sender=None,
    *,
    domain: Domain,
    start: dt.datetime | None,
    end: dt.datetime | None,
    late: list = (),
    **kwargs,
) -> None:
    """The records_settled receiver: late records first, then [start, end) oldest first."""
    active = (
        Incident.objects.select_for_update()
        .filter(domain=domain)
        .exclude(state=Incident.State.RESOLVED)
        .order_by("pk")  # one lock order for every writer
    )
    fold = Fold(domain, active)
    for record in late:
        fold.add(record)
    if end is not None and (start is None or end > start):
        for record in records_in_time_order(domain_id=domain.pk, start=start, end=end):
            fold.add(record)
    fold.save()


def incidents_recount(domain: Domain) -> list[Incident]:
    """Every incident the domain's archived records make, folded from nothing (not saved)."""
    fold = Fold(domain)
    for record in records_in_time_order(domain_id=domain.pk):
        fold.add(record)
    return sorted(fold.touched.values(), key=lambda i: (i.first_seen, i.key))


DERIVED = ("last_seen", "count", "streams", "sample_ids", "kinds", "success_streak")


def incidents_rebuild(domain: Domain) -> dict[str, int]:
    """Write the recount back, holding the domain's cursor (no harvest settles meanwhile).
    An incident is the same when its cause and first failure are; what people did to it is
    kept (acknowledged, muted, resolved by hand, notes). Incidents older than the oldest
    archived record are left alone: their records are gone."""
    counts = {"created": 0, "updated": 0, "removed": 0}
    with transaction.atomic():
        HarvestCursor.objects.held(domain)
        oldest = (
            ArchivedRecord.objects.filter(domain=domain)
            .order_by("notify_time")
            .values_list("notify_time", flat=True)
            .first()
        )
        recount = {(i.key, i.first_seen): i for i in incidents_recount(domain)}
        existing = Incident.objects.select_for_update().filter(domain=domain).order_by("pk")
        if oldest is not None:
            existing = existing.filter(first_seen__gte=oldest)
        keep = []
        for incident in existing:
            fresh = recount.pop((incident.key, incident.first_seen), None)
            if fresh is None:
                if _touched_by_people(incident):
                    continue
                incident.delete()
                counts["removed"] += 1
                continue
            for name in DERIVED:
                setattr(incident, name, getattr(fresh, name))
            if fresh.state == Incident.State.RESOLVED:
                if incident.state != Incident.State.RESOLVED:
                    incident.state, incident.resolved_at = fresh.state, fresh.resolved_at
            elif incident.state == Incident.State.RESOLVED and incident.resolved_by_id is None:
                incident.state, incident.resolved_at = Incident.State.OPEN, None  # not yet
            keep.append(incident)
            counts["updated"] += 1
        # resolved ones first, so a cause's next incident can open
        for incident in sorted(
            [*keep, *recount.values()], key=lambda i: i.state != Incident.State.RESOLVED
        ):
            counts["created"] += incident.pk is None
            incident.save()
    return counts


def _touched_by_people(incident: Incident) -> bool:
    return bool(
        incident.acknowledged_by_id
        or incident.resolved_by_id
        or incident.muted_until
        or incident.notes.exists()
    )
