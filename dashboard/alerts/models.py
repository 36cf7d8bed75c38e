"""Alert rules, what they found (one state per rule and subject), the notifications they
sent, and domains muted for maintenance."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.domains.models import Domain, Team
from dashboard.said import said


class AlertRule(models.Model):
    class Scope(models.TextChoices):
        DOMAIN = "domain", _("One domain")
        TEAM = "team", _("A team's domains")
        ALL = "all", _("All domains")

    class Condition(models.TextChoices):
        FAILURE_RATE = "failure_rate", _("Failure rate above a threshold")
        CONSECUTIVE = "consecutive", _("Consecutive failures to one receiver")
        INCIDENT = "incident", _("A new incident opens")
        SILENCE = "silence", _("No callbacks at all (silence)")
        MISSING = "missing", _("Expected stream callbacks never came")

    class WebhookFormat(models.TextChoices):
        JSON = "json", _("JSON, signed (HMAC-SHA256)")
        DINGTALK = "dingtalk", _("DingTalk robot")
        FEISHU = "feishu", _("Feishu / Lark robot")
        WECOM = "wecom", _("WeCom robot")
        SLACK = "slack", _("Slack-compatible")

    # the formats whose robots may sign: the secret the robot shows is kept with the rule
    ROBOT_SIGNED = frozenset({WebhookFormat.DINGTALK, WebhookFormat.FEISHU})

    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.DOMAIN)
    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    condition = models.CharField(max_length=16, choices=Condition.choices)
    threshold_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    window_minutes = models.PositiveIntegerField(default=15)
    min_deliveries = models.PositiveIntegerField(default=10)
    consecutive = models.PositiveIntegerField(default=5)
    reminder_minutes = models.PositiveIntegerField(default=60)  # 0: no reminders
    emails = models.TextField(blank=True)  # one address per line
    webhook_url = models.CharField(max_length=1024, blank=True)
    webhook_format = models.CharField(
        max_length=8, choices=WebhookFormat.choices, default=WebhookFormat.JSON
    )
    # JSON: the HMAC key receivers verify with (generated); DingTalk: the robot's "SEC…"
    # signing secret, if the robot has one. Never shown to people who cannot edit the rule.
    webhook_secret = models.CharField(max_length=128, blank=True)
    enabled = models.BooleanField(default=True)
    # What its messages are written in, and the zone their times are in: a DingTalk group in
    # Shanghai reads Chinese and Beijing time (a new rule: its maker's, as the page was)
    language = models.CharField(max_length=8, default="en", choices=settings.LANGUAGES)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Where people open the dashboard, for the links in this rule's messages when DASHBOARD_URL
    # is not set: the address the rule was last saved or tested from.
    link_base = models.CharField(max_length=200, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Each save through the editor counts one up; a form sent with an older number was filled in
    # before someone else's save and is not applied unseen (mutes do not count).
    version = models.PositiveIntegerField(default=0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def is_muted(self, now=None) -> bool:
        return bool(self.muted_until and self.muted_until > (now or timezone.now()))

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]


class DomainMute(models.Model):
    """A maintenance window: the domain's alerts are recorded but not sent until `until`."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="alert_mute")
    until = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)


class AlertState(models.Model):
    """Whether a rule is firing for one subject (a domain, a domain's receiver host, or an
    incident), since when, and when it last said so."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    subject = models.CharField(max_length=300)
    domain = models.ForeignKey(Domain, null=True, on_delete=models.CASCADE, related_name="+")
    firing = models.BooleanField(default=False)
    since = models.DateTimeField(null=True)
    last_notified_at = models.DateTimeField(null=True)
    reminders = models.PositiveIntegerField(default=0)
    numbers = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "subject"], name="alert_state_one_per_subject")
        ]

    @property
    def receiver_host(self) -> str:
        """For consecutive-failure subjects (`host:<domain id>:<host>`), the host."""
        return self.subject.split(":", 2)[2] if self.subject.startswith("host:") else ""

    @property
    def incident_id(self) -> int | None:
        if self.subject.startswith("incident:"):
            return int(self.subject.split(":", 1)[1])
        return None


class AlertNotification(models.Model):
    """One message on one channel. `key` is unique: the same event is never queued twice,
    however many evaluators run at once."""

    class Event(models.TextChoices):
        FIRING = "firing", _("Firing")
        REMINDER = "reminder", _("Still firing")
        RECOVERED = "recovered", _("Recovered")
        TEST = "test", _("Test")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up")
        MUTED = "muted", _("Muted (recorded, not sent)")

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="notifications")
    domain = models.ForeignKey(Domain, null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.CharField(max_length=300)
    event = models.CharField(max_length=10, choices=Event.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    key = models.CharField(max_length=400, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A sender holds a notification while it tries it: the claim is stamped when it is taken
    # and outlasts the longest send, and only its holder may record the outcome.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    last_error = models.CharField(max_length=500, blank=True)  # in English
    last_error_said = models.JSONField(null=True, blank=True)  # dashboard.said: for readers
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_notif_due")]

    @property
    def last_error_text(self) -> str:
        """The last error (or how it went out), in the reader's language."""
        return said(self.last_error_said, self.last_error)


class AlertAttempt(models.Model):
    """One try at sending one notification: when, by which worker, and what came of it. The
    rule's history shows these, so a notification sent twice would show twice."""

    notification = models.ForeignKey(
        AlertNotification, on_delete=models.CASCADE, related_name="tries"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    detail = models.CharField(max_length=500, blank=True)  # in English
    detail_said = models.JSONField(null=True, blank=True)  # dashboard.said: for readers
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "number"], name="alert_attempt_once_per_number"
            )
        ]

    @property
    def detail_text(self) -> str:
        return said(self.detail_said, self.detail)
