"""Archived delivery records, their names (for substring search), the harvest cursor of each
domain, and the rollups (per domain by hour and by day, per domain by hour without types or
classes, all domains by hour)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from dashboard.domains.models import Domain


class FailureClass(models.TextChoices):
    """Why a delivery failed, parsed once at harvest (archive/classify.py)."""

    TIMEOUT = "timeout", _("Timeout")
    REFUSED = "refused", _("Connection refused")
    DNS = "dns", _("DNS")
    TLS = "tls", _("TLS")
    HTTP_4XX = "http_4xx", _("HTTP 4xx")
    HTTP_5XX = "http_5xx", _("HTTP 5xx")
    SIGNATURE = "signature", _("Signature rejected")
    OTHER = "other", _("Other")


def failure_name(failure_class: str, http_status: int | None = None) -> str:
    """What a failure is called, in the reader's language: "HTTP 404" for an HTTP class with
    its status, else the class's name ("Timeout", "超时"). The one naming function: record
    rows, chips, incidents and alerts all use it."""
    if http_status and failure_class in (FailureClass.HTTP_4XX, FailureClass.HTTP_5XX):
        return f"HTTP {http_status}"
    try:
        return str(FailureClass(failure_class).label)
    except ValueError:
        return failure_class


class ArchivedRecord(models.Model):
    """One delivery record as DescribeLiveRecordNotifyRecords returned it, plus what the
    explorer filters on. Records carry no id upstream: `fingerprint` is derived from the
    record's own fields (its time among them), and the database refuses a second copy.

    On PostgreSQL the table is partitioned by day of `notify_time` (archive/partitions.py,
    migration 0010): its primary key is (id, notify_time) there and the uniqueness rule
    (fingerprint, notify_time), because PostgreSQL wants the partition key in both; `id` stays
    unique on its own (one identity sequence for every partition)."""

    fingerprint = models.UUIDField()
    # Indexed by arch_domain_time and arch_domain_failed (both lead with the domain): an index
    # on the column alone would only slow the inserts. No foreign-key constraint in the
    # database: its check (a locking read of the domain per record, at commit) cost 7% of the
    # archive's insert rate. Domains are never deleted while they have records — they are
    # marked gone — and a delete through the ORM is still refused (PROTECT); each record
    # keeps its domain's name besides.
    domain = models.ForeignKey(
        Domain,
        on_delete=models.PROTECT,
        related_name="archived_records",
        db_index=False,
        db_constraint=False,
    )
    domain_name = models.CharField(max_length=253)
    app_name = models.CharField(max_length=256)
    stream_name = models.CharField(max_length=256)
    notify_type = models.CharField(max_length=40)
    notify_result = models.CharField(max_length=8)  # success / failed
    notify_time = models.DateTimeField()
    notify_url = models.TextField()
    notify_content = models.TextField()
    notify_header = models.TextField()
    notify_response = models.TextField()
    description = models.TextField()
    storage_type = models.CharField(max_length=8)
    http_status = models.PositiveSmallIntegerField(null=True)
    failure_class = models.CharField(max_length=16, choices=FailureClass.choices, blank=True)
    receiver_host = models.CharField(max_length=253)
    harvested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "notify_time"], name="arch_record_once")
        ]
        indexes = [
            # a domain's page, newest first; and its failures
            models.Index(fields=["domain", "-notify_time", "-id"], name="arch_domain_time"),
            # a domain's failures: partial, so the (many more) successes cost it nothing
            models.Index(
                fields=["domain", "-notify_time", "-id"],
                name="arch_domain_failed",
                condition=models.Q(notify_result="failed"),
            ),
            # every domain in a window (retention purge, cross-domain pages)
            models.Index(fields=["-notify_time", "-id"], name="arch_time"),
            # the records of the names a substring search found in ArchivedName: the page's
            # ids and the result/class counts read from the index alone
            models.Index(
                fields=["stream_name", "-notify_time", "-id", "notify_result", "failure_class"],
                name="arch_stream_time",
            ),
            models.Index(
                fields=["app_name", "-notify_time", "-id", "notify_result", "failure_class"],
                name="arch_app_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.domain_name} {self.app_name}/{self.stream_name} {self.notify_time:%F %T}"

    @property
    def succeeded(self) -> bool:
        return self.notify_result == "success"


# ArchivedName.last_seen may lag a name's newest record by up to this much (it is rewritten at
# most once a NAME_SLACK per name): the purge keeps names, and a search looks at names, that
# much longer.
NAME_SLACK = dt.timedelta(days=1)


class ArchivedName(models.Model):
    """Each app and stream name a domain's archived records carry, once.

    "Any part of a name, in any case" is answered here first — a few thousand names, with
    trigram indexes on PostgreSQL (migration 0004) — and then the records of those exact
    names through an ordinary index: milliseconds, where a trigram search of millions of
    records took a hundred. Written in the transaction that archives the records, so no
    record is ever without its name; `last_seen` (the newest record's time) lets the
    retention purge drop names with no records left."""

    class Field(models.TextChoices):
        APP = "app"
        STREAM = "stream"

    # No foreign-key check in the database on the tables the harvest writes by the thousand
    # (see ArchivedRecord.domain): the ORM still cascades a delete.
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="archived_names", db_constraint=False
    )
    field = models.CharField(max_length=8, choices=Field.choices)
    name = models.CharField(max_length=256)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "field", "name"], name="archived_name_once_per_domain"
            )
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.field} {self.name}"


class NameDailyRollup(models.Model):
    """Deliveries per app or stream name × domain × UTC day × result × failure class: what a
    search by any part of a name counts over whole days — the names found (ArchivedName), then
    their rows here — instead of every matching record in every day's partition. Written in
    the transaction that archives the records (archive/rollups.py)."""

    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    field = models.CharField(max_length=8, choices=ArchivedName.Field.choices)
    name = models.CharField(max_length=256)
    day = models.DateField()
    notify_result = models.CharField(max_length=8)
    failure_class = models.CharField(max_length=16, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["field", "name", "day", "domain", "notify_result", "failure_class"],
                name="name_rollup_one_row_per_cell",
            )
        ]
        # A name's days with what a search counts, from the index alone (PostgreSQL; SQLite
        # keys it on the three fields). The retention's purge by day reads the table through.
        indexes = [
            models.Index(
                fields=["field", "name", "day"],
                include=["domain", "notify_result", "failure_class", "count"],
                name="name_rollup_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} {self.name} {self.day}: {self.count}"


class ArchivedPushParam(models.Model):
    """A business parameter a team put in its push URL (`order_id=42`), as the callbacks carry
    it — stream callbacks in `usrargs`, recording files in `push_args` and `callback_*` — once
    per domain, app, stream and value, with when it was first and last seen. A search by it
    reads this exact index, then the records of those streams around those times. Written in
    the transaction that archives the records (archive/store.py)."""

    # no foreign-key check in the database: one a row cost the harvest more than the row
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="push_params", db_constraint=False
    )
    key = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    app_name = models.CharField(max_length=256)
    stream_name = models.CharField(max_length=256)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "value", "domain", "app_name", "stream_name"],
                name="push_param_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} ({self.app_name}/{self.stream_name})"


class HarvestCursorQuerySet(models.QuerySet):
    def held(self, domain: Domain) -> HarvestCursor:
        """In a transaction: the domain's cursor (made if it has none), locked until the
        transaction ends — what every writer of a domain's derived state holds first (the
        harvest settling a range, a rebuild, a person reopening an incident)."""
        self.get_or_create(domain=domain)
        return self.select_for_update().get(domain=domain)


class HarvestCursor(models.Model):
    """How far a domain's records are archived: `harvested_until` — every record before it is
    in the archive, and the incidents have been derived from them, in time order — and how far
    its windows are planned (`planned_until`)."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="harvest")
    harvested_until = models.DateTimeField(null=True)  # complete and derived up to here
    planned_until = models.DateTimeField(null=True)  # windows exist up to here
    backfilled = models.BooleanField(default=False)  # its first 7 days are archived
    next_run_at = models.DateTimeField(db_index=True, null=True)  # when to plan its next window
    last_run_at = models.DateTimeField(null=True)
    last_records = models.PositiveIntegerField(default=0)  # new records of its last window
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True)
    # ingest domains: Live's push history is checked against the archive up to here
    pushes_checked_until = models.DateTimeField(null=True)

    objects = HarvestCursorQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.domain_id} until {self.harvested_until}"


class PushedSession(models.Model):
    """One push of a stream to an ingest domain, as Live's push history tells it
    (DescribeLiveStreamsPublishList), and which of the stream callbacks it should have caused
    the archive does not hold (`missing`: "publish", "publish_done", or both, space-separated;
    empty when none is missing or none was expected). Written by archive/pushes.py."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="pushes")
    app_name = models.CharField(max_length=255)
    stream_name = models.CharField(max_length=255)
    publish_time = models.DateTimeField()
    stop_time = models.DateTimeField(null=True)  # still pushing when last checked
    client_addr = models.CharField(max_length=64, blank=True)
    missing = models.CharField(max_length=32, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "app_name", "stream_name", "publish_time"],
                name="pushed_session_once",
            )
        ]
        indexes = [
            models.Index(fields=["stream_name", "app_name", "publish_time"], name="push_stream"),
            models.Index(
                fields=["publish_time", "domain"],
                name="push_missing",
                condition=~models.Q(missing=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.app_name}/{self.stream_name} at {self.publish_time}"

    @property
    def missing_types(self) -> list[str]:
        return self.missing.split()


class HarvestWindow(models.Model):
    """One stretch of a domain's time to harvest: the unit of the harvester's work.

    Windows are planned back to back (`start` of one is `end` of the one before; a window
    re-reads `overlap` seconds before its start, for records that appear late). A harvester
    leases one (SKIP LOCKED), pages it renewing the lease before every write, stores its records,
    then marks it stored; the domain's cursor moves over the stored windows that follow it
    without a gap, and a window is deleted once the cursor has passed it. A harvester that
    dies leaves its window pending: its lease runs out and another takes it from the top.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        STORED = "stored"

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="harvest_windows")
    start = models.DateTimeField()
    end = models.DateTimeField()
    overlap = models.PositiveIntegerField(default=0)  # seconds re-read before `start`
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    not_before = models.DateTimeField(null=True)  # after an error: not retried before this

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "start"], name="harvest_window_once")
        ]
        indexes = [models.Index(fields=["state", "start"], name="harvest_window_due")]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.start:%F %T}–{self.end:%F %T} {self.state}"


class HourlyRollup(models.Model):
    """Deliveries per domain × hour × NotifyType × result × failure class, kept up to date as
    records are archived (incrementally: each new record adds one), so charts and overviews
    cost O(hours), not O(records)."""

    # (the unique constraint leads with the domain; on PostgreSQL a covering index on
    # (domain, hour) INCLUDE (result, class, count) — migration 0007 — answers a domain's
    # chart from the index alone)
    domain = models.ForeignKey(
        Domain,
        on_delete=models.CASCADE,
        related_name="rollups",
        db_index=False,
        db_constraint=False,
    )
    hour = models.DateTimeField()
    notify_type = models.CharField(max_length=40)
    notify_result = models.CharField(max_length=8)
    failure_class = models.CharField(max_length=16, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "hour", "notify_type", "notify_result", "failure_class"],
                name="rollup_one_row_per_cell",
            )
        ]
        indexes = [
            models.Index(fields=["hour", "domain"], name="rollup_hour_domain"),
            # A domain's chart from the index alone: its rows in (domain, hour) order with what
            # the chart sums (PostgreSQL; SQLite keys the index on the first two).
            models.Index(
                fields=["domain", "hour"],
                include=["notify_result", "failure_class", "count"],
                name="rollup_domain_hour_cover",
            ),
        ]


class DomainHourlyTotal(models.Model):
    """Deliveries and failures per domain × hour — one row, whatever the types and classes:
    the failure overview's and domain list's 24 h / 7 d / 30 d columns read a few thousand of
    these for 200 domains instead of tens of thousands of hourly rollup cells."""

    domain = models.ForeignKey(
        Domain,
        on_delete=models.CASCADE,
        related_name="hourly_totals",
        db_index=False,
        db_constraint=False,
    )
    hour = models.DateTimeField()
    deliveries = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # hour first: "every domain over these hours" is one range of the index
            models.UniqueConstraint(fields=["hour", "domain"], name="domain_hourly_total_once")
        ]
        indexes = [
            # a page of domains' days (the sparklines: 7 × 24 rows of each, in the reader's
            # days) from the index alone on PostgreSQL
            models.Index(
                fields=["domain", "hour"],
                include=["deliveries", "failed"],
                name="domain_hourly_total_by_domain",
            ),
            # every domain's last 24 hours (the failure overview's order) read from the index
            # alone on PostgreSQL (an index-only scan; elsewhere a plain index on the hour)
            models.Index(
                fields=["hour"],
                include=["domain", "deliveries", "failed"],
                name="domain_hourly_total_cover",
            ),
        ]


class TotalHourlyRollup(models.Model):
    """Deliveries of every domain together per hour × result × failure class: the failure
    overview's all-domains chart reads a few hundred rows instead of summing the hourly rollups
    of every domain (hundreds of thousands for 200 domains over a week)."""

    hour = models.DateTimeField()
    notify_result = models.CharField(max_length=8)
    failure_class = models.CharField(max_length=16, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "notify_result", "failure_class"],
                name="total_rollup_one_row_per_cell",
            )
        ]


class DailyRollup(models.Model):
    """Deliveries per domain × UTC day × result × failure class: the hourly rollups folded
    once more, so 7- and 30-day totals of every domain read thousands of rows, not millions."""

    domain = models.ForeignKey(
        Domain,
        on_delete=models.CASCADE,
        related_name="daily_rollups",
        db_constraint=False,
        db_index=False,  # the unique key and the covering index begin with it
    )
    day = models.DateField()
    notify_result = models.CharField(max_length=8)
    failure_class = models.CharField(max_length=16, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "day", "notify_result", "failure_class"],
                name="daily_rollup_one_row_per_cell",
            )
        ]
        indexes = [
            models.Index(fields=["day", "domain"], name="daily_rollup_day_domain"),
            # a page of domains' 7- and 30-day totals and sparklines from the index alone on
            # PostgreSQL (their closed days' rows never change again)
            models.Index(
                fields=["domain", "day"],
                include=["notify_result", "count"],
                name="daily_rollup_domain_cover",
            ),
        ]
