from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dashboard.ops"
    label = "ops"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks
        from .tracing import start

        start()  # only with OTEL_* set; imports nothing otherwise
