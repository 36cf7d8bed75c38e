"""Django's admin, for administrators (superusers) only.

Leads manage people on /people/ and domains through the dashboard, where the role rules and the
audit log apply. The admin bypasses both, so a lead who could reach it could reset the
superuser's password or make themself one; it is closed to everyone but superusers, and what
they change there is written to the audit log too (see dashboard.audit.signals).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class SuperuserAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_superuser


class SuperuserAdminConfig(AdminConfig):
    default_site = "dashboard.adminsite.SuperuserAdminSite"
