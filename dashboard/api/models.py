"""Personal access tokens for the API: hashed at rest, expiring, revocable; read-only unless
made to plan and apply config changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccessToken(models.Model):
    """A token acts as its person, with their role and teams as they are at each request."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # shown, to tell tokens apart: "lcd_3f9c0a71"
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the whole token
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Read-only unless made to plan and apply config changes (configs as code, /api/v1/configs/)
    may_change_configs = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
