"""The session engine (SESSION_ENGINE): Django's database sessions, each row knowing its user."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        try:
            row.user_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            row.user_id = None
        return row


def sessions_end(*, user_id: int) -> int:
    """End every session of one person; returns how many there were."""
    from .models import UserSession

    return UserSession.objects.filter(user_id=user_id).delete()[0]
