"""Cached upstream state (the Live API stays the source of truth), teams, "Sync all" runs."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _


def _fingerprint(key: str, secret_key: str) -> str:
    secret = hashlib.sha256(f"callback-key-fingerprint:{secret_key}".encode()).digest()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def key_fingerprint(key: str) -> str:
    """A keyed fingerprint of a callback auth key: detects changes, reveals nothing."""
    return _fingerprint(key, settings.SECRET_KEY) if key else ""


def fingerprint_matches(key: str, fingerprint: str) -> bool:
    """Is `fingerprint` the fingerprint of `key`, under SECRET_KEY or one of its fallbacks?

    Fingerprints written before a SECRET_KEY rotation keep matching while the old key is in
    SECRET_KEY_FALLBACKS, so an unchanged config never looks changed outside the dashboard.
    """
    if not key or not fingerprint:
        return not key and not fingerprint
    return any(
        hmac.compare_digest(_fingerprint(key, secret), fingerprint)
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    )


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Domain(models.Model):
    class Type(models.TextChoices):
        STREAMING = "liveVideo", _("Streaming")
        INGEST = "liveEdge", _("Ingest")

    class Status(models.TextChoices):
        ONLINE = "online", _("Online")
        OFFLINE = "offline", _("Offline")
        CONFIGURING = "configuring", _("Configuring")

    name = models.CharField(_("name"), max_length=253, unique=True)
    domain_type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    region = models.CharField(_("region"), max_length=32, blank=True)
    cname = models.CharField(max_length=300, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="domains",
        verbose_name=_("team"),
    )
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    sync_error = models.CharField(max_length=500, blank=True)
    gone_at = models.DateTimeField(
        _("gone since"),
        null=True,
        blank=True,
        help_text=_("Set when the domain no longer appears upstream; it is kept, not deleted."),
    )
    # An ingest domain and the streaming domain it feeds (DescribeLiveDomainMapping, read by
    # the sync): a stream's callbacks of both are one timeline, those of other domains not.
    mapped = models.ManyToManyField("self", symmetrical=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        permissions = [
            ("edit_team_callbacks", "Can edit callback configs of their teams' domains"),
            ("edit_any_callbacks", "Can edit callback configs of every domain"),
            ("sync_all_domains", "Can sync every domain from the Live API"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_streaming(self) -> bool:
        return self.domain_type == self.Type.STREAMING

    def config(self, kind):
        """The cached config of one kind (a ConfigKind or its name), or None."""
        try:
            return getattr(self, f"{kind}_config")
        except ObjectDoesNotExist:
            return None

    @property
    def record_config_or_none(self):
        return self.config("record")

    @property
    def snapshot_config_or_none(self):
        return self.config("snapshot")

    @property
    def stream_config_or_none(self):
        return self.config("stream")

    def version(self, kind) -> int:
        """The version of this domain's config of `kind` (0 until it is first changed)."""
        return (
            ConfigState.objects.filter(domain=self, kind=str(kind))
            .values_list("version", flat=True)
            .first()
            or 0
        )


class ConfigState(models.Model):
    """One config of one domain as saves see it (optimistic concurrency): the version an edit
    form carries, and the short claim a save holds while it talks to the Live API (never a
    database transaction). Made when first needed."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="config_states")
    kind = models.CharField(max_length=16)  # a ConfigKind's name: "record", "snapshot", "stream"
    version = models.PositiveIntegerField(default=0)
    claim = models.CharField(max_length=36, blank=True)
    claim_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "kind"], name="one_state_per_config")
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.kind} v{self.version}"


# The configs as Live holds them, whatever their length: Alibaba Cloud documents no limit for
# the recording and stream URLs (the forms keep to ours), and a URL longer than a column failed
# the whole sync on PostgreSQL. Text, not truncated: a cut URL saved back would be another URL.


class RecordNotifyConfig(models.Model):
    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="record_config")
    notify_url = models.TextField(_("notify URL"))
    on_demand_url = models.TextField(_("on-demand URL"), blank=True)
    need_status_notify = models.BooleanField(_("status notifications"), default=False)
    notify_req_auth = models.BooleanField(_("signed callbacks"), default=False)
    auth_key_fingerprint = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class SnapshotNotifyConfig(models.Model):
    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="snapshot_config")
    notify_url = models.TextField(_("notify URL"))
    notify_req_auth = models.BooleanField(_("signed callbacks"), default=False)
    auth_key_fingerprint = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class StreamNotifyConfig(models.Model):
    """An ingest domain's stream callback: publish / publish_done, and exceptions."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="stream_config")
    notify_url = models.TextField(_("notify URL"))
    exception_notify_url = models.TextField(_("exception URL"), blank=True)
    notify_req_auth = models.BooleanField(_("signed callbacks"), default=False)
    auth_key_fingerprint = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class SyncRun(models.Model):
    """One "Sync all" run, executed by the background worker; its progress is polled."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # the worker's last word (taken, or progress): a run silent for long is marked failed
    reported_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    drifted = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    OPEN = (State.QUEUED, State.RUNNING)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two presses of "Sync all" at once queue one run (domains.services.sync_all_start)
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="queued"), name="one_sync_run_queued"
            )
        ]

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
