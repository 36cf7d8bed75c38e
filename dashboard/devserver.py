"""`make run`: prepare everything and serve the dashboard with its background processes.

Migrates both databases, seeds the sandbox (first run only), creates the demo users (sandbox
+ DEBUG only), syncs domains, then runs beside `runserver`: the task worker, and (sandbox +
DEBUG) the demo's callback receiver, which the demo domains' callback hosts point at. Running
it again keeps the data.
"""

from __future__ import annotations

import os
import subprocess
import sys


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    addr = os.environ.get("ADDR", "127.0.0.1:8000")
    # the alert loop's links point where this server listens
    os.environ.setdefault("DASHBOARD_URL", f"http://{addr}")
    subprocess.run(manage("migrate", "--noinput", "-v", "0"), check=True)
    subprocess.run(manage("migrate", "--database", "sandbox", "--noinput", "-v", "0"), check=True)

    import django

    django.setup()
    from django.conf import settings

    if not settings.LIVE_API_ENDPOINT:
        subprocess.run(manage("sandbox_seed"), check=True)
        if settings.DEBUG:
            # Domains first, so the demo team can own some of them.
            subprocess.run(manage("sync_domains", "-v", "1"), check=False)
            subprocess.run(manage("create_demo_users"), check=True)
    demo = not settings.LIVE_API_ENDPOINT and settings.DEBUG
    if demo:
        from dashboard.receivers.demo import demo_certificates, serve_in_background
        from dashboard.sandbox.demo import DEMO_CALLBACK_HOSTS

        _ca, cert, key = demo_certificates(settings.DEMO_TLS_DIR, DEMO_CALLBACK_HOSTS)
        serve_in_background(settings.DEMO_RECEIVER_ADDR)
        serve_in_background(settings.DEMO_RECEIVER_TLS_ADDR, tls=(cert, key))
    # Without --no-reload the worker watches files too, and says so a second time.
    workers = [
        subprocess.Popen(manage("db_worker", "--queue-name", "*", "--no-reload")),
        # The archive fills itself: the first pass backfills 7 days of every domain.
        subprocess.Popen(manage("harvest_records", "--follow", "-v", "0")),
        # Live's push history against the archive: the stream callbacks that never came.
        subprocess.Popen(manage("check_pushes", "--follow", "-v", "0")),
        # Alert rules are checked every minute; due notifications go out as they come.
        subprocess.Popen(manage("run_alerts", "--follow", "-v", "0")),
    ]
    try:
        print(
            f"\nDashboard: http://{addr}/  (demo users lead / support / editor,"
            " password live-demo-pass)\n"
        )
        return subprocess.call(manage("runserver", addr))
    except KeyboardInterrupt:
        return 0
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()


if __name__ == "__main__":
    sys.exit(main())
