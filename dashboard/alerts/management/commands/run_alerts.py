"""`python manage.py run_alerts [--follow]`: check the alert rules and send what is due.

Once: evaluate every rule, then send the notifications that are due. `--follow` is the
scheduled loop `make run` and deployments run: rules every ALERT_EVALUATE_EVERY seconds
(60), due notifications and retries every few seconds in between. Any number of these may run
at once (on several hosts): a rule is evaluated by one of them at a time, each notification
is queued once, and each attempt at sending it is made by one of them (an attempt cut short —
a crash mid-send — is retried, so a receiver may rarely see one twice: X-Alert-Id tells).
"""

from __future__ import annotations

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from dashboard.alerts.services import alerts_evaluate, notifications_deliver
from dashboard.logs import log_context, new_request_id

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Evaluate alert rules and send due notifications (--follow: every minute, forever)."

    def add_arguments(self, parser):
        parser.add_argument("--follow", action="store_true", help="keep going until stopped")
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="seconds between evaluations (default ALERT_EVALUATE_EVERY)",
        )
        parser.add_argument(
            "--tick", type=float, default=5.0, help="seconds between delivery rounds (--follow)"
        )

    def handle(self, *args, follow=False, every=None, tick=5.0, **options):
        every = every or settings.ALERT_EVALUATE_EVERY
        verbosity = options["verbosity"]
        if not follow:
            queued = alerts_evaluate()
            sent = notifications_deliver()
            self.stdout.write(f"{queued} notification(s) queued, {sent} sent")
            return
        stopping: list[bool] = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        next_evaluation = 0.0
        try:
            while not stopping:
                close_old_connections()
                now = time.monotonic()
                if now >= next_evaluation:
                    next_evaluation = now + every
                    queued = self._round("evaluating the rules", alerts_evaluate)
                    if queued and verbosity:
                        self.stdout.write(f"{queued} notification(s) queued")
                sent = self._round("sending", notifications_deliver)
                if sent and verbosity:
                    self.stdout.write(f"{sent} notification(s) sent")
                time.sleep(max(0.05, min(tick, next_evaluation - time.monotonic())))
        except KeyboardInterrupt:
            pass

    def _round(self, what: str, step) -> int:
        """One step of the loop. Whatever goes wrong (the database restarting, a bug) is
        logged and the loop goes on: nothing restarts a loop that has exited."""
        try:
            with log_context(request_id=new_request_id()):  # one id a round, on its lines
                return step()
        except Exception:  # noqa: BLE001 - the loop must outlive any one failure
            logger.exception("run_alerts: %s failed; trying again next round", what)
            connections.close_all()  # a broken connection is opened afresh next round
            return 0
