from django.apps import AppConfig


class ConfigsConfig(AppConfig):
    name = "dashboard.configs"
    label = "configs"
    verbose_name = "Configs as code"
