"""Keys a plan carries until it is applied (a new key) or undone (the key before), sealed with
Fernet under a key derived from SECRET_KEY: never in clear in the database, never on a page."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernets() -> list[Fernet]:
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"config-run-keys:{s}".encode()).digest()))
        for s in secrets
    ]


def seal(key: str) -> str:
    return _fernets()[0].encrypt(key.encode()).decode() if key else ""


def unseal(token: str) -> str:
    """The key, or "" when there is none or it cannot be read (SECRET_KEY changed)."""
    if not token:
        return ""
    for fernet in _fernets():
        try:
            return fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            continue
    return ""
