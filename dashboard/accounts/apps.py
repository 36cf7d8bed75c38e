from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "dashboard.accounts"
    label = "accounts"

    def ready(self):
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, dispatch_uid="dashboard.accounts.ensure_roles")
