"""`python manage.py harvest_records`: copy delivery records into the archive.

One pass over every domain that is due (the first one backfills the whole 7-day window);
`--follow` keeps going until stopped; `--status` prints how fresh the archive is.
"""

from __future__ import annotations

import signal
import sys
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from dashboard.archive.harvest import WindowHarvest, harvest_pass, iter_follow
from dashboard.archive.models import HarvestCursor, HarvestWindow
from dashboard.archive.selectors import archive_freshness


class Command(BaseCommand):
    help = "Harvest callback delivery records from the Live API into the archive."

    def add_arguments(self, parser):
        parser.add_argument("--follow", action="store_true", help="keep harvesting until stopped")
        parser.add_argument("--status", action="store_true", help="show how fresh the archive is")
        parser.add_argument(
            "--idle", type=float, default=5.0, help="seconds to wait when nothing is due (--follow)"
        )

    def handle(self, *args, follow=False, status=False, idle=5.0, **options):
        if status:
            return self.status()
        tty = sys.stdout.isatty()
        verbosity = options["verbosity"]

        def progress(outcome: WindowHarvest) -> None:
            if verbosity == 0:
                return
            mark = self.style.ERROR("✗") if outcome.error else self.style.SUCCESS("✓")
            line = (
                f"{mark} {outcome.domain} {outcome.start:%m-%d %H:%M}–{outcome.end:%H:%M} UTC: "
                f"{outcome.fetched:,} fetched, {outcome.inserted:,} new"
                + (f" — {outcome.error}" if outcome.error else "")
            )
            if tty or outcome.inserted or outcome.error or verbosity > 1:
                self.stdout.write(line)

        if not follow:
            started = time.monotonic()
            report = harvest_pass(progress=progress)
            self.stdout.write(
                f"{len(report.domains)} domains, {len(report.windows)} windows, "
                f"{report.fetched:,} records fetched, {report.inserted:,} new, "
                f"{len(report.failed)} windows failed in {time.monotonic() - started:.1f}s"
            )
            return None
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            for report in iter_follow(interval=idle, stop=lambda: bool(stopping), sleep=time.sleep):
                for outcome in report.windows:
                    progress(outcome)
        except KeyboardInterrupt:
            pass
        return None

    def status(self) -> None:
        now = timezone.now()
        fresh = archive_freshness(now=now)
        self.stdout.write(f"archived records: oldest {fresh.oldest}, newest {fresh.newest}")
        if fresh.lag is not None:
            self.stdout.write(f"harvest lag: {fresh.lag.total_seconds():.0f} s")
        else:
            self.stdout.write(f"harvest lag: not yet complete ({len(fresh.pending)} pending)")
        busy = set(
            HarvestWindow.objects.filter(lease_until__gt=now).values_list("domain_id", flat=True)
        )
        for cursor in HarvestCursor.objects.select_related("domain").order_by("domain__name"):
            until = cursor.harvested_until.isoformat() if cursor.harvested_until else "never"
            state = cursor.last_error or ("harvesting" if cursor.domain_id in busy else "ok")
            self.stdout.write(f"  {cursor.domain.name:<32} until {until}  {state}")
