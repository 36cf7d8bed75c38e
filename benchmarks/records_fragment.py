"""The dashboard's own time for a records results fragment (app minus upstream).

Renders /records/ as an htmx fragment through Django's test client, with the sandbox
in-process, and reads the Server-Timing header the view sets. Also counts upstream calls and
SQL queries per view, for 100 and 500 rows.
"""

from __future__ import annotations

import os
import re
import statistics

from _bootstrap import setup

REPEAT = 40


def main() -> None:
    # Production-like: DEBUG off (no query log, no debug context).
    os.environ.update(
        DEBUG="false",
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
    )
    setup("fragment", sandbox_db="deep-sandbox.sqlite3")
    from django.core.management import call_command

    call_command("sandbox_seed", big_domain_records=200_000, verbosity=0)
    call_command("sync_domains", verbosity=0)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dashboard.sandbox import app as sandbox_app

    user, _ = User.objects.get_or_create(username="bench")
    client = Client()
    client.force_login(user)
    for size in (100, 500):
        app_ms, upstream_ms, queries = [], [], []
        for i in range(REPEAT):
            sandbox_app.stats.reset()
            url = (  # the Live API path: the archive has its own benchmark (archive.py)
                "/records/?source=live&domain=live.example-shop.com&window=7d"
                f"&size={size}&page={1 + i % 5}"
            )
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, headers={"HX-Request": "true"})
            rows = response.content.count(b'<tbody class="record">')
            assert response.status_code == 200 and rows == size, (response.status_code, rows)
            assert sandbox_app.stats.calls == {"DescribeLiveRecordNotifyRecords": 1}
            upstream, app = (
                float(x) for x in re.findall(r"dur=([\d.]+)", response["Server-Timing"])
            )
            app_ms.append(app - upstream)
            upstream_ms.append(upstream)
            queries.append(len(ctx.captured_queries))
        print(
            f"{size}-row fragment: dashboard's own time median {statistics.median(app_ms):.1f} ms "
            f"(p90 {sorted(app_ms)[int(REPEAT * 0.9)]:.1f} ms); upstream median "
            f"{statistics.median(upstream_ms):.1f} ms; 1 upstream call; SQL queries per view "
            f"{min(queries)}–{max(queries)}"
        )


if __name__ == "__main__":
    main()
