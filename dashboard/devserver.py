"""`make run`: prepare everything and serve the dashboard with its background worker.

Migrates both databases, seeds the sandbox (first run only), creates the demo users (sandbox
+ DEBUG only), syncs domains, then runs the task worker beside `runserver`. Running it again
keeps the data.
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
    worker = subprocess.Popen(manage("db_worker", "--queue-name", "default"))
    try:
        print(
            f"\nDashboard: http://{addr}/  (demo users lead / support / editor,"
            " password live-demo-pass)\n"
        )
        return subprocess.call(manage("runserver", addr))
    except KeyboardInterrupt:
        return 0
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    sys.exit(main())
