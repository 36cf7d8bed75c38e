from django.apps import AppConfig


class ReceiversConfig(AppConfig):
    name = "dashboard.receivers"
    label = "receivers"
