"""Permissions from roles, in one query a request.

A person's permissions are those of their roles — the groups Viewer, Editor and Lead, whose
permissions roles.ROLE_PERMISSIONS lists (and `ensure_roles` writes into the database for the
admin to show). Django's own backend reads them with two queries a request (the person's own
permissions, their groups' permissions), and the role shown in the header took a third: under
load these round trips were a tenth of every page's time. Here the group names are read once
and cached on the user for the request. Superusers have every permission (Django's own rule).
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from .roles import ROLE_PERMISSIONS, role_names


class RoleBackend(ModelBackend):
    def get_user_permissions(self, user_obj, obj=None):
        return set()  # permissions come with roles only (the admin is for superusers)

    def get_group_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return {
            f"{app_label}.{codename}"
            for role in role_names(user_obj)
            for app_label, codename in ROLE_PERMISSIONS.get(role, ())
        }

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_role_perm_cache"):
            if user_obj.is_superuser:
                from django.contrib.auth.models import Permission

                perms = {
                    f"{ct}.{name}"
                    for ct, name in Permission.objects.values_list(
                        "content_type__app_label", "codename"
                    )
                }
            else:
                perms = self.get_group_permissions(user_obj)
            user_obj._role_perm_cache = perms
        return user_obj._role_perm_cache
