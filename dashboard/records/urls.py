from django.urls import path

from . import views

urlpatterns = [
    path("", views.records_view, name="records"),
    path("<int:pk>/", views.record_detail, name="record_detail"),
    path("export.csv", views.records_export, name="records_export"),
    path("overview/", views.overview, name="records_overview"),
    path("streams/<str:app>/<str:stream>/", views.stream_timeline_view, name="stream_timeline"),
    # the same page for names a path segment cannot carry (a slash): ?app=…&stream=…
    path("streams/", views.stream_timeline_named, name="stream_timeline_named"),
    path("exports/", views.export_list, name="exports"),
    path("exports/new/", views.export_new, name="export_new"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
