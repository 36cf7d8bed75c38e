from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "dashboard.sandbox"
    label = "sandbox"
    verbose_name = "Live API sandbox"
