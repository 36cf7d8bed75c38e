"""Incidents: failures grouped by cause, kept up to date as records are archived."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "dashboard.incidents"
    label = "incidents"

    def ready(self):
        from dashboard.archive.signals import records_recounted, records_settled

        from .derive import incidents_rebuild, incidents_settle

        records_settled.connect(incidents_settle, dispatch_uid="incidents.settle")
        records_recounted.connect(
            lambda sender, domain, **kwargs: incidents_rebuild(domain),
            dispatch_uid="incidents.recount",
            weak=False,
        )
