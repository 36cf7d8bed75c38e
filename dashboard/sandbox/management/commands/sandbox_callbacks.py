"""`python manage.py sandbox_callbacks DOMAIN [--fail PERCENT] [--cause TEXT] [--rate N]`:
receiver faults for the sandbox's callback traffic.

From now on, DOMAIN's generated callbacks fail PERCENT of the time (0 to 100), each failure
saying TEXT (e.g. "HTTP 503 Service Unavailable", "timeout"; empty: the demo's mix), at N
callbacks per hour. Without options it prints the domain's current traffic settings. Used to
show, and test, incidents and alerts: `--fail 100 --cause "HTTP 503"` breaks a receiver,
`--fail 0` mends it, `--rate 0` silences the domain.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.sandbox.models import SandboxDomain
from dashboard.sandbox.routers import SANDBOX_ALIAS
from dashboard.sandbox.traffic import top_up


class Command(BaseCommand):
    help = "Make a sandbox domain's callbacks fail (or succeed, or stop) from now on."

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--fail", type=int, help="percent of callbacks that fail (0-100)")
        parser.add_argument("--cause", help="what each failure says (empty: the demo's mix)")
        parser.add_argument("--rate", type=int, help="callbacks per hour")

    def handle(self, *args, domain, fail=None, cause=None, rate=None, **options):
        found = SandboxDomain.objects.using(SANDBOX_ALIAS).filter(name=domain).first()
        if found is None:
            raise CommandError(f"the sandbox has no domain called {domain}")
        if fail is not None and not 0 <= fail <= 100:
            raise CommandError("--fail is a percentage from 0 to 100")
        if rate is not None and rate < 0:
            raise CommandError("--rate must not be negative")
        now = timezone.now()
        # What "happened" until now happened under the old settings.
        top_up(found, now)
        changes = {}
        if fail is not None:
            changes["failure_percent"] = fail
        if cause is not None:
            changes["failure_cause"] = cause[:200]
        if rate is not None:
            changes["records_per_hour"] = rate
        if changes:
            changes["records_generated_until"] = now
            SandboxDomain.objects.using(SANDBOX_ALIAS).filter(pk=found.pk).update(**changes)
            found.refresh_from_db()
        self.stdout.write(
            f"{found.name}: {found.records_per_hour} callbacks/hour, "
            f"{found.failure_percent}% failing"
            + (f" with “{found.failure_cause}”" if found.failure_cause else "")
        )
