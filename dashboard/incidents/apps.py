"""Incidents: failures grouped by cause, kept up to date as records are archived."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "dashboard.incidents"
    label = "incidents"

    def ready(self):
        from dashboard.archive.signals import records_archived

        from .services import incidents_track

        records_archived.connect(incidents_track, dispatch_uid="incidents.track")
