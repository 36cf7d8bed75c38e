from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "dashboard.records"
    label = "records"
