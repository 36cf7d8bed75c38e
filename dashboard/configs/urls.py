from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.configs_home, name="configs"),
    re_path(r"^export\.(?P<fmt>yaml|json)$", views.configs_export, name="configs_export"),
    path("plan/", views.configs_plan, name="configs_plan"),
    path("bulk/", views.configs_bulk, name="configs_bulk"),
    path("runs/<int:pk>/", views.config_run, name="config_run"),
    path("runs/<int:pk>/action/", views.config_run_action, name="config_run_action"),
]
