"""`python manage.py rebuild_rollups --since 2026-11-01 [--until ...] [--domain NAME]`:
recount the hourly rollups of a time range from the archived records, and each domain's
incidents from all of its records (`--no-incidents` to leave them); pushes flagged for a
callback that never came whose callback the archive does hold lose the flag.

Rollups and incidents are kept up to date as records are archived; this is for repairs (after
restoring records from a backup, or deleting some by hand). Safe while harvesters run: each
domain is recounted while holding its harvest cursor, and a domain being harvested is
reported as busy. Incidents keep what people did to them (acknowledged, muted, notes).
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from dashboard.archive.models import PushedSession
from dashboard.archive.pushes import flags_recheck
from dashboard.archive.rollups import rollups_rebuild
from dashboard.archive.signals import records_recounted
from dashboard.domains.models import Domain


def _moment(text: str, option: str) -> dt.datetime:
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"{option}: expected a date or a date and time, got {text!r}")
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


class Command(BaseCommand):
    help = "Recount the rollups of a time range, and the incidents, from the archived records."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="start (UTC unless it says otherwise)")
        parser.add_argument("--until", help="end (default: now)")
        parser.add_argument("--domain", action="append", help="only this domain (repeatable)")
        parser.add_argument("--no-incidents", action="store_true", help="recount the rollups only")

    def handle(self, *args, since, until=None, domain=None, no_incidents=False, **options):
        start = _moment(since, "--since")
        end = _moment(until, "--until") if until else timezone.now()
        if end <= start:
            raise CommandError("--until must be after --since")
        domains = Domain.objects.order_by("name")
        if domain:
            domains = domains.filter(name__in=domain)
            missing = set(domain) - set(domains.values_list("name", flat=True))
            if missing:
                raise CommandError(f"no streaming domain called {', '.join(sorted(missing))}")
        written, busy = rollups_rebuild(start=start, end=end, domains=list(domains))
        self.stdout.write(f"{written:,} rollup cells rewritten from {start:%Y-%m-%d %H:%M} UTC")
        if not no_incidents:
            for each in domains:
                if each.name in busy:
                    continue
                for _receiver, counts in records_recounted.send(sender=Domain, domain=each):
                    said = ", ".join(f"{n} {what}" for what, n in counts.items())
                    self.stdout.write(f"{each.name}: incidents recounted ({said})")
        flagged = PushedSession.objects.exclude(missing="")
        for each in domains.filter(pk__in=flagged.values("domain_id")):
            taken = flags_recheck(each, flagged.filter(domain=each))
            if taken:
                pushes = "push whose callbacks are" if taken == 1 else "pushes whose callbacks are"
                self.stdout.write(f"{each.name}: {taken} flagged {pushes} archived after all")
        if busy:
            self.stderr.write(
                "being harvested right now, run again for: " + ", ".join(sorted(busy))
            )
