from django.urls import path

from . import views

urlpatterns = [
    path("", views.records_view, name="records"),
    path("export.csv", views.records_export, name="records_export"),
    path("overview/", views.overview, name="records_overview"),
    path("overview/<domain:name>/", views.overview_row, name="records_overview_row"),
    path("rate/<domain:name>/", views.failure_rate_badge, name="records_rate"),
]
