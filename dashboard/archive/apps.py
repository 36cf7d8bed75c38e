"""The callback archive: every domain's delivery records, kept past the API's 7 days."""

from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "dashboard.archive"
    label = "archive"
