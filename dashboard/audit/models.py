"""The audit log: who changed what, when, and what the Live API said. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from dashboard.said import say


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only.")

    def delete(self):
        raise TypeError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One thing a person (or the sync) did, with its outcome. Written only by
    `dashboard.audit.services.audit_entry_create`."""

    class Kind(models.TextChoices):
        RECORD = "record", _("Recording callback")
        SNAPSHOT = "snapshot", _("Snapshot callback")
        STREAM = "stream", _("Stream callback")
        DOMAIN = "domain", _("Domain")
        PERSON = "person", _("Person")
        INCIDENT = "incident", _("Incident")
        ALERT = "alert", _("Alert rule")
        REDELIVERY = "redelivery", _("Redelivery")
        ADMIN = "admin", _("Admin site")
        SSO = "sso", _("Directory groups")
        TOKEN = "token", _("Access token")

    class Action(models.TextChoices):
        ADD = "add", _("Add")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        REVEAL = "reveal", _("Reveal key")
        DRIFT = "drift", _("Drift")
        GONE = "gone", _("Gone upstream")
        TEST = "test", _("Test callback")
        ROLE = "role", _("Role and teams")
        ACKNOWLEDGE = "acknowledge", _("Acknowledge")
        RESOLVE = "resolve", _("Resolve")
        MUTE = "mute", _("Mute")
        REOPEN = "reopen", _("Reopen")
        NOTE = "note", _("Note")
        RESEND = "resend", _("Resend")
        PASSWORD = "password", _("Password changed")
        SIGN_OUT = "signout", _("Signed out everywhere")
        SIGN_IN = "signin", _("Signed in (single sign-on)")
        RELEASE = "release", _("Directory login released")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")
        CONFLICT = "conflict", _("Conflict")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, blank=True)
    domain = models.ForeignKey("domains.Domain", null=True, blank=True, on_delete=models.SET_NULL)
    # The domain's name; for entries about no one domain, what they are about ("team:Sports"
    # for a team's alert rule) or empty.
    domain_name = models.CharField(max_length=253, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    # Our own messages are English templates (marked with gettext_noop) and their parameters,
    # translated when read; messages from the Live API are kept as Alibaba Cloud sent them.
    error_message = models.TextField(blank=True)
    error_params = models.JSONField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # The bulk change this entry is part of ("config-run:12"), if any.
    batch = models.CharField(max_length=40, blank=True, db_index=True)
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks"
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "domains_auditentry"  # its home before the audit app existed
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        who = self.actor_name or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.domain_name}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are append-only.")

    @property
    def config_run_id(self) -> int | None:
        """The config run (configs as code) this entry is part of, if any."""
        prefix, _sep, number = self.batch.partition(":")
        return int(number) if prefix == "config-run" and number.isdecimal() else None

    @property
    def is_person(self) -> bool:
        return self.kind == self.Kind.PERSON

    @property
    def restorable(self) -> bool:
        """A successful change of a callback config with a state before it: its "before" can
        be restored (rollback)."""
        return (
            self.kind in (self.Kind.RECORD, self.Kind.SNAPSHOT, self.Kind.STREAM)
            and self.action
            in (self.Action.ADD, self.Action.UPDATE, self.Action.DELETE, self.Action.DRIFT)
            and self.outcome == self.Outcome.SUCCESS
            and isinstance(self.before, dict)
            and bool(self.before)
            and self.domain_id is not None
        )

    @property
    def message(self) -> str:
        """The entry's message in the reader's language."""
        return say(self.error_message, self.error_params)

    def message_in(self, language: str) -> str:
        with translation.override(language):
            return self.message
