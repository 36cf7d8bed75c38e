"""Seed the sandbox's demo account once (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.sandbox.traffic import seed_demo_account


class Command(BaseCommand):
    help = "Create the sandbox's demo account (domains, callbacks, 7 days of records) if absent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--big-domain-records",
            type=int,
            default=settings.LIVE_SANDBOX["BIG_DOMAIN_RECORDS"],
            help="records in the window for the largest demo domain",
        )

    def handle(self, *args, big_domain_records, **options):
        def progress(name, done, total):
            if options["verbosity"] > 1 or (
                total >= 50_000 and (done % 50_000 == 0 or done == total)
            ):
                self.stdout.write(f"  {name}: {done:,}/{total:,} records")

        if seed_demo_account(
            big_domain_records=big_domain_records,
            rate_scale=settings.LIVE_SANDBOX["RATE_SCALE"],
            progress=progress,
        ):
            self.stdout.write(self.style.SUCCESS("Sandbox demo account seeded."))
        else:
            self.stdout.write("Sandbox demo account already present.")
