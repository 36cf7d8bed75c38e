from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "dashboard.ops"
    label = "ops"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deployment checks
        from .sqlite import connect
        from .tracing import start

        connect()  # on SQLite, icontains and iexact fold the case of every letter

        start()  # only with OTEL_* set; imports nothing otherwise
