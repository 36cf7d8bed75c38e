from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "dashboard.domains"
    label = "domains"
