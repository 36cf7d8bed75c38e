"""Redelivery: bulk runs, and every attempt to send an archived callback again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.archive.models import ArchivedRecord
from dashboard.domains.models import Domain
from dashboard.said import said


class RedeliveryRun(models.Model):
    """ "Resend N failed callbacks": a domain's failed records in a window, as the explorer's
    filters chose them, sent by the background worker at a limited rate."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="redelivery_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # the explorer's filters (JSON-safe), and the newest record id when the run was made:
    # records archived later do not join the run
    filters = models.JSONField(default=dict)
    query = models.CharField(max_length=2000, blank=True)  # the explorer's query string
    max_record_id = models.BigIntegerField()
    skip_redelivered = models.BooleanField(default=True)
    rate_per_second = models.FloatField()
    total = models.PositiveIntegerField(default=0)
    sent_ok = models.PositiveIntegerField(default=0)
    sent_failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)  # in English
    message_said = models.JSONField(null=True, blank=True)  # dashboard.said: for readers
    # The task working on the run now ("": none — between two slices, or stopped). A task
    # that finds another's mark, or no RUNNING state, stops: one executor per run.
    executor = models.CharField(max_length=36, blank=True)
    # When a receiver asked to wait (429/503 with Retry-After): the next slice's time.
    resume_at = models.DateTimeField(null=True, blank=True)

    ACTIVE_STATES = ("queued", "running", "paused")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # one unfinished run per domain: two at once would send the same records twice
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(state__in=("queued", "running", "paused")),
                name="redelivery_one_active_run_per_domain",
            )
        ]

    @property
    def done_count(self) -> int:
        return self.sent_ok + self.sent_failed + self.skipped

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, int(100 * self.done_count / self.total)) if self.total else 0

    @property
    def message_text(self) -> str:
        """Why the run waits, paused or stopped, in the reader's language."""
        return said(self.message_said, self.message)

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class RedeliveryAttempt(models.Model):
    """One send of one archived record: who, when, where to, and what the receiver said."""

    class Outcome(models.TextChoices):
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Not sent (refused)")
        SKIPPED = "skipped", _("Skipped (already redelivered)")
        WAIT = "wait", _("The receiver asked to wait (sent again later)")
        UNKNOWN = "unknown", _("Unknown (the worker stopped while sending)")

    # No database constraint: on PostgreSQL the records are partitioned by day and a foreign
    # key would have to name the partition key too. An attempt lives exactly as long as its
    # record: the retention purge removes both (archive/partitions.py).
    record = models.ForeignKey(
        ArchivedRecord, on_delete=models.CASCADE, related_name="redeliveries", db_constraint=False
    )
    run = models.ForeignKey(
        RedeliveryRun, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    target_url = models.CharField(max_length=1024, blank=True)
    signed = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    response = models.TextField(blank=True)  # the first 4 KB
    error = models.CharField(max_length=500, blank=True)  # in English
    error_said = models.JSONField(null=True, blank=True)  # dashboard.said: for readers

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # a run sends a record at most once, whatever happens to its worker
            models.UniqueConstraint(fields=["run", "record"], name="redelivery_once_per_run")
        ]
        indexes = [models.Index(fields=["record", "-created_at"], name="redelivery_by_record")]

    @property
    def ok(self) -> bool:
        return self.outcome == self.Outcome.DELIVERED

    @property
    def error_text(self) -> str:
        """Why it was not delivered, in the reader's language."""
        return said(self.error_said, self.error)
