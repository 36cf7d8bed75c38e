"""`python manage.py sync_domains`: refresh every domain and both its configs, with progress."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from dashboard.domains.sync import SYNC_WORKERS, domains_sync_all
from dashboard.failures import UpstreamError


class Command(BaseCommand):
    help = "Sync domains and their callback configs from the Live API."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=SYNC_WORKERS)

    def handle(self, *args, workers, **options):
        started = time.monotonic()
        tty = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            if options["verbosity"] == 0:
                return
            width = 30
            filled = int(width * done / total) if total else width
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} domains"
            if tty or done == total:
                self.stdout.write(line, ending="\n" if done == total else "")
                self.stdout.flush()

        try:
            report = domains_sync_all(progress=progress, workers=workers)
        except UpstreamError as error:
            raise CommandError(f"Sync failed: {error}") from error
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{report.domains_seen} domains upstream ({report.created} new, {report.gone} gone); "
            f"{report.refreshed} domains refreshed ({report.ingest_domains} of them ingest), "
            f"{report.drifted} drifted, "
            f"{len(report.failed)} failed in {elapsed:.1f}s"
        )
        for name, message in report.failed:
            self.stderr.write(f"  {name}: {message}")
