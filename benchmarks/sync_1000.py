"""Sync 1,000 domains against the throttled sandbox: how close to the QPS limit?

The sandbox enforces the documented limits; the client paces itself at 90% of them. Syncing
N domains needs N DescribeLiveRecordNotifyConfig + N DescribeLiveSnapshotNotifyConfig calls,
which share the "describe config" budget of 50 QPS, so the floor is 2N / 50 seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from _bootstrap import setup

N = int(os.environ.get("N", "1000"))


def main() -> None:
    setup("sync", throttle=True)
    from django.utils import timezone

    from dashboard.domains.models import Domain
    from dashboard.domains.sync import domains_sync_all
    from dashboard.sandbox import app as sandbox_app
    from dashboard.sandbox.models import SandboxDomain, SandboxRecordConfig

    Domain.objects.all().delete()
    SandboxDomain.objects.all().delete()
    now = timezone.now()
    SandboxDomain.objects.bulk_create(
        SandboxDomain(
            name=f"live{i:04d}.bench.example.com", created=now - dt.timedelta(days=30), modified=now
        )
        for i in range(N)
    )
    SandboxRecordConfig.objects.bulk_create(
        SandboxRecordConfig(domain=d, notify_url=f"https://hooks.example.com/{d.name}")
        for d in SandboxDomain.objects.all()[: N // 2]
    )
    sandbox_app.throttle.reset()
    t0 = time.perf_counter()
    report = domains_sync_all()
    elapsed = time.perf_counter() - t0
    calls = 2 * report.refreshed
    floor = 2 * N / 50
    print(
        f"synced {report.refreshed} of {N} domains ({len(report.failed)} failed) in {elapsed:.1f} s"
    )
    print(
        f"  {calls / elapsed:.1f} describe-config calls/s; documented limit 50/s;"
        f" floor {floor:.1f} s"
    )
    print(
        f"  efficiency {floor / elapsed:.0%} of the limit;"
        f" sandbox throttled {sandbox_app.throttle.throttled} requests"
    )


if __name__ == "__main__":
    main()
