"""Configs as code: a plan (what a document would change, domain by domain) and its apply run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ConfigRun(models.Model):
    """One document planned against the live state, then (once confirmed) applied in the
    background, change by change."""

    class State(models.TextChoices):
        PLANNING = "planning", _("Planning")
        PLANNED = "planned", _("Planned")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Applying")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")
        FAILED = "failed", _("Plan failed")

    class Source(models.TextChoices):
        DOCUMENT = "document", _("Document")
        COMMAND = "command", _("Command line")
        BULK = "bulk", _("Bulk change")
        UNDO = "undo", _("Undo")
        API = "api", _("API")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    planned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DOCUMENT)
    title = models.CharField(max_length=200, blank=True)
    # The desired configs, as parsed from the document (never a key in clear: a new key is
    # sealed on its change row).
    desired = models.JSONField(default=dict)
    undo_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undone_by"
    )
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"config run {self.pk}"

    @property
    def batch(self) -> str:
        """How the audit entries of this run name it."""
        return f"config-run:{self.pk}"

    # not finished: planned and paused runs included (they may still change something)
    UNFINISHED = (State.PLANNING, State.PLANNED, State.QUEUED, State.RUNNING, State.PAUSED)

    @property
    def active(self) -> bool:
        return self.state in (self.State.PLANNING, self.State.QUEUED, self.State.RUNNING)


class ConfigChange(models.Model):
    """One (domain, kind) of a plan: what it would do, and once applied what happened."""

    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        UNCHANGED = "unchanged", _("Unchanged")
        REFUSED = "refused", _("Refused")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPLIED = "applied", _("Applied")
        CONFLICT = "conflict", _("Conflict")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not applied")

    run = models.ForeignKey(ConfigRun, on_delete=models.CASCADE, related_name="changes")
    position = models.PositiveIntegerField()
    domain = models.ForeignKey(
        "domains.Domain", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    domain_name = models.CharField(max_length=253)
    kind = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.TextField(blank=True)  # why refused, in English (translated when shown)
    reason_params = models.JSONField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)  # secret-free states (fingerprints only)
    after = models.JSONField(null=True, blank=True)
    values = models.JSONField(null=True, blank=True)  # the fields to send
    new_key = models.TextField(blank=True)  # sealed; "" keeps the current key
    old_key = models.TextField(blank=True)  # sealed; the key before, for undo
    expected_version = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    CHANGING = ("create", "update", "delete")

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="config_change_position")
        ]

    def __str__(self) -> str:
        return f"{self.domain_name} {self.kind} {self.action}"
