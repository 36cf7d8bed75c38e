from django.urls import path

from . import views

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("new/", views.alert_edit, name="alert_new"),
    path("mute-domain/", views.domain_mute, name="alert_domain_mute"),
    path("<int:pk>/", views.alert_detail, name="alert_detail"),
    path("<int:pk>/edit/", views.alert_edit, name="alert_edit"),
    path("<int:pk>/mute/", views.alert_mute, name="alert_mute"),
    path("<int:pk>/test/", views.alert_test, name="alert_test"),
    path("<int:pk>/delete/", views.alert_delete, name="alert_delete"),
]
