"""The callback archive: every domain's delivery records, kept past the API's 7 days."""

from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "dashboard.archive"
    label = "archive"

    def ready(self):
        from .pushes import pushes_settle
        from .signals import records_settled

        records_settled.connect(pushes_settle, dispatch_uid="archive.pushes_settle")
