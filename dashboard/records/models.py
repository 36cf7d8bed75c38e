"""Exports too big to download at once: made by the task worker into a file, with progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Export(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Being written")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    UNFINISHED = ("queued", "running")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # the explorer's query string (for the link back) and its filters with an absolute window
    query = models.CharField(max_length=2000)
    filters = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)  # rows to write (capped)
    written = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)  # inside EXPORT_DIR
    error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the writer's last word (taken, or progress): one silent for long is marked failed
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "state"], name="export_by_user_state")]

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, int(100 * self.written / self.total)) if self.total else 0

    @property
    def unfinished(self) -> bool:
        return self.state in self.UNFINISHED
