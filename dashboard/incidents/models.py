"""Incidents: a domain's failures to one receiver host, of one cause, while they last."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.domains.kinds import KINDS
from dashboard.domains.models import Domain


class Incident(models.Model):
    """Failures of one domain to one receiver host with one cause (a 404 storm and a timeout
    storm are two incidents), from the first to the last failure, until resolved."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        MUTED = "muted", _("Muted")
        RESOLVED = "resolved", _("Resolved")

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="incidents")
    receiver_host = models.CharField(max_length=253)
    failure_class = models.CharField(max_length=16)
    http_status = models.PositiveSmallIntegerField(null=True)
    # domain|host|class|status: one unresolved incident per cause (a database rule)
    key = models.CharField(max_length=320)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)  # when the dashboard opened it
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)
    streams = models.JSONField(default=list)  # "app/stream", most recent first, at most 50
    sample_ids = models.JSONField(default=list)  # archived record ids, latest first, at most 10
    # the kinds of callback that failed ("record", "snapshot", "stream"): deliveries of these
    # to the host resolve it, not another kind's (a recording callback's path may 404 while
    # the snapshots' works); empty for incidents from before this was kept: any kind's
    kinds = models.JSONField(default=list)
    success_streak = models.PositiveIntegerField(default=0)  # deliveries to the host since
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~Q(state="resolved"), name="incident_one_active_per_cause"
            )
        ]
        indexes = [models.Index(fields=["state", "-last_seen"], name="incident_state_seen")]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.receiver_host} {self.failure_class} ({self.state})"

    @property
    def kind_labels(self) -> list[str]:
        """The kinds of callback that failed, as the config cards name them."""
        return [str(KINDS[name].label) for name in self.kinds if name in KINDS]

    def state_at(self, now: dt.datetime) -> str:
        """Its state as people see it at `now`: muted until a time that has passed is open again
        (selectors.in_state asks the database the same)."""
        if self.state == self.State.MUTED and self.muted_until and self.muted_until <= now:
            return self.State.OPEN
        return self.state

    @property
    def effective_state(self) -> str:
        return self.state_at(timezone.now())

    @property
    def effective_state_display(self) -> str:
        return str(self.State(self.effective_state).label)

    @property
    def mute_ran_out(self) -> bool:
        return self.state == self.State.MUTED and self.effective_state == self.State.OPEN

    @property
    def cause(self) -> str:
        from dashboard.archive.models import failure_name

        return failure_name(self.failure_class, self.http_status)

    @property
    def is_active(self) -> bool:
        return self.state != self.State.RESOLVED


class IncidentNote(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    author_name = models.CharField(max_length=150)
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
