"""Who may do what with alert rules: leads any rule; editors rules about their teams'
domains (one of their domains, or one of their teams); everyone with a role reads them."""

from __future__ import annotations

from django.db.models import QuerySet

from dashboard.domains.models import Team
from dashboard.domains.permissions import can_edit_domain

from .models import AlertRule


def can_watch_all(user) -> bool:
    return user.is_authenticated and user.has_perm("domains.edit_any_callbacks")


def editable_teams(user) -> QuerySet[Team]:
    if can_watch_all(user):
        return Team.objects.all()
    if not user.has_perm("domains.edit_team_callbacks"):
        return Team.objects.none()
    return Team.objects.filter(pk__in=user.teams.values("pk"))


def can_create_rules(user) -> bool:
    return can_watch_all(user) or editable_teams(user).exists()


def can_edit_rule(user, rule: AlertRule) -> bool:
    if can_watch_all(user):
        return True
    if rule.scope == AlertRule.Scope.DOMAIN and rule.domain_id:
        return can_edit_domain(user, rule.domain)
    if rule.scope == AlertRule.Scope.TEAM and rule.team_id:
        return editable_teams(user).filter(pk=rule.team_id).exists()
    return False
