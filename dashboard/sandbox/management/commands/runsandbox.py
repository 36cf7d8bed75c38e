"""Serve the Live API sandbox on its own: `python manage.py runsandbox [ADDR:PORT]`."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dashboard.sandbox import app
from dashboard.sandbox.faults import parse_spec
from dashboard.sandbox.server import make_server


class Command(BaseCommand):
    help = "Serve the ApsaraVideo Live API sandbox (default 127.0.0.1:9100)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:9100")
        parser.add_argument(
            "--faults", default=None, help="fault spec, e.g. error=0.2,throttle=0.1"
        )
        parser.add_argument("--no-throttle", action="store_true", help="switch the QPS limits off")
        parser.add_argument("--no-seed", action="store_true", help="do not seed the demo account")

    def handle(self, *args, addrport, faults, no_throttle, no_seed, **options):
        host, _, port_text = addrport.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        try:
            port = int(port_text)
        except ValueError:
            raise CommandError(f"{addrport!r} is not ADDR:PORT") from None
        if faults is not None:
            try:
                parse_spec(faults)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            app.faults.configure(faults)
        if no_throttle:
            app.throttle.enabled = False
        call_command("migrate", database="sandbox", verbosity=0)
        if not no_seed:
            call_command("sandbox_seed", verbosity=options["verbosity"])
        server = make_server(host, port)
        self.stdout.write(
            f"Live API sandbox on http://{host}:{server.server_port}/ "
            f"(AccessKeyId {settings.LIVE_SANDBOX_ACCESS_KEY_ID!r}; "
            f"throttling {'on' if app.throttle.enabled else 'off'})"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
