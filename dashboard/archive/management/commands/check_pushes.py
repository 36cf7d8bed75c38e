"""`python manage.py check_pushes`: Live's push history against the archive — the stream
callbacks that never came (archive/pushes.py).

One pass over every ingest domain whose archive moved on since its last check; `--follow`
keeps going until stopped, a pass every `--every` seconds.
"""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand
from django.db import connections

from dashboard.archive.pushes import DomainCheck, pushes_check


class Command(BaseCommand):
    help = "Check Live's push history against the archive: flag the callbacks that never came."

    def add_arguments(self, parser):
        parser.add_argument("--follow", action="store_true", help="keep checking until stopped")
        parser.add_argument(
            "--every", type=float, default=60.0, help="seconds between passes (--follow)"
        )

    def handle(self, *args, follow=False, every=60.0, **options):
        verbosity = options["verbosity"]

        def progress(outcome: DomainCheck) -> None:
            if verbosity == 0 and not outcome.error:
                return
            mark = self.style.ERROR("✗") if outcome.error else self.style.SUCCESS("✓")
            self.stdout.write(
                f"{mark} {outcome.domain} {outcome.start:%m-%d %H:%M}–{outcome.end:%m-%d %H:%M} "
                f"UTC: {outcome.pushes:,} pushes, {outcome.missing:,} callbacks missing"
                + (f" — {outcome.error}" if outcome.error else "")
            )

        stopping = []
        if follow:
            signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            started = time.monotonic()
            try:
                report = pushes_check(progress=progress)
            except Exception:  # noqa: BLE001 - a follower that exits checks nothing again
                if not follow:
                    raise
                self.stderr.write("push check: the pass failed; trying again")
            else:
                if verbosity:
                    self.stdout.write(
                        f"{len(report.domains)} domains, {report.calls} calls, "
                        f"{report.missing:,} callbacks missing, {len(report.failed)} failed "
                        f"in {time.monotonic() - started:.1f}s"
                    )
            if not follow:
                return
            connections.close_all()  # between passes: a restarted database is met afresh
            deadline = time.monotonic() + every
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
            if stopping:
                return
