"""Create the demo users lead / support / editor (sandbox upstream and DEBUG only)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts.roles import EDITOR, LEAD, VIEWER, ensure_roles

DEMO_PASSWORD = "live-demo-pass"  # noqa: S105 - documented demo password, sandbox only
DEMO_USERS = [
    ("lead", LEAD, "Lena Lead"),
    ("support", VIEWER, "Sam Support"),
    ("editor", EDITOR, "Eddie Editor"),
]
DEMO_TEAM = "Shop streaming"
DEMO_TEAM_DOMAINS = ["live.example-shop.com", "push.example-shop.com"]


class Command(BaseCommand):
    help = "Create the demo users (only with the sandbox upstream and DEBUG on)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow outside DEBUG (tests)")

    def handle(self, *args, force=False, **options):
        if settings.LIVE_API_ENDPOINT or not (settings.DEBUG or force):
            raise CommandError(
                "Demo users are only created with the sandbox upstream and DEBUG on."
            )
        from dashboard.domains.models import Domain, Team

        ensure_roles()
        User = get_user_model()
        for username, role, full_name in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = False  # the admin is for superusers (createsuperuser)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
        team.members.add(User.objects.get(username="editor"))
        Domain.objects.filter(name__in=DEMO_TEAM_DOMAINS).update(team=team)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo users: lead, support, editor (password {DEMO_PASSWORD!r}); "
                f"editor belongs to team {DEMO_TEAM!r}."
            )
        )
