from django.urls import path

from . import views

urlpatterns = [
    path("", views.run_list, name="redelivery_runs"),
    path("new/", views.run_new, name="redelivery_new"),
    path("record/<int:pk>/", views.record_resend, name="record_resend"),
    path("<int:pk>/", views.run_detail, name="redelivery_run"),
    path("<int:pk>/action/", views.run_action, name="redelivery_action"),
]
