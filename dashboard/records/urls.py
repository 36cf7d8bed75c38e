from django.urls import path

from . import views

urlpatterns = [
    path("", views.records_view, name="records"),
    path("<int:pk>/", views.record_detail, name="record_detail"),
    path("export.csv", views.records_export, name="records_export"),
    path("overview/", views.overview, name="records_overview"),
]
