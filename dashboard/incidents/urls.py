from django.urls import path

from . import views

urlpatterns = [
    path("", views.incident_list, name="incidents"),
    path("<int:pk>/", views.incident_detail, name="incident_detail"),
    path("<int:pk>/action/", views.incident_action, name="incident_action"),
    path("<int:pk>/note/", views.incident_note, name="incident_note"),
]
