"""Keep the sandbox's tables in the "sandbox" database and everything else out of it."""

from __future__ import annotations

SANDBOX_ALIAS = "sandbox"


class SandboxRouter:
    def db_for_read(self, model, **hints):
        return SANDBOX_ALIAS if model._meta.app_label == "sandbox" else None

    def db_for_write(self, model, **hints):
        return SANDBOX_ALIAS if model._meta.app_label == "sandbox" else None

    def allow_relation(self, obj1, obj2, **hints):
        if (obj1._meta.app_label == "sandbox") != (obj2._meta.app_label == "sandbox"):
            return False
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label == "sandbox":
            return db == SANDBOX_ALIAS
        return db != SANDBOX_ALIAS
