from django.contrib import admin

from .models import Domain, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["members"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "domain_type", "status", "team", "last_synced_at", "gone_at"]
    list_filter = ["domain_type", "status", "team"]
    search_fields = ["name"]
    fields = [
        "name",
        "domain_type",
        "status",
        "region",
        "description",
        "team",
        "last_synced_at",
        "gone_at",
    ]
    readonly_fields = [
        "name",
        "domain_type",
        "status",
        "region",
        "description",
        "last_synced_at",
        "gone_at",
    ]

    def has_add_permission(self, request):
        return False  # domains come from the Live API

    def has_delete_permission(self, request, obj=None):
        return False
