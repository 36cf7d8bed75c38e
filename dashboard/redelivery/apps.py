from django.apps import AppConfig


class RedeliveryConfig(AppConfig):
    name = "dashboard.redelivery"
    label = "redelivery"
    verbose_name = "Redelivery"
