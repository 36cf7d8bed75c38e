"""Sign-in throttling state, shared by every process through the database."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _


class SignInThrottle(models.Model):
    """Attempts for one (user name, client address) pair within its cool-off window.

    Incremented atomically *before* the password is checked, so any number of concurrent
    requests and processes evaluate at most LOGIN_MAX_FAILURES guesses per window.
    """

    key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.attempts} until {self.window_ends:%H:%M:%S}"


class UserSession(AbstractBaseSession):
    """A signed-in session, with whose it is: "Sign out everywhere" ends them all (Django's
    own session table cannot tell whose a session is without decoding every one)."""

    user_id = models.IntegerField(null=True, db_index=True)

    @classmethod
    def get_session_store_class(cls):
        from .sessions import SessionStore

        return SessionStore


class SsoIdentity(models.Model):
    """Who a person is at the identity provider: (issuer, subject) never changes, while
    their name and e-mail may. The groups are those of their latest sign-in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"


class GroupMapping(models.Model):
    """A directory group and what its members get here: a role and teams. A person's role is
    the strongest of their groups' roles, their teams the union of their groups' teams."""

    class Role(models.TextChoices):
        NONE = "", _("No role")
        VIEWER = "Viewer", _("Viewer")
        EDITOR = "Editor", _("Editor")
        LEAD = "Lead", _("Lead")

    group = models.CharField(_("directory group"), max_length=255, unique=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, blank=True)
    teams = models.ManyToManyField("domains.Team", blank=True, verbose_name=_("teams"))

    class Meta:
        ordering = ["group"]

    def __str__(self) -> str:
        return self.group
