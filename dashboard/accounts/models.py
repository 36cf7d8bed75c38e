"""Sign-in throttling state, shared by every process through the database."""

from __future__ import annotations

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


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
