"""The missing-callback check for 1,000 ingest domains against the throttled sandbox: how close
to DescribeLiveStreamsPublishList's 3 QPS does a pass get?

Each domain costs one call a pass (its pushes since the last check fit one page), so the floor
is N / 3 seconds; the client paces itself at 90% of the documented limit. The state is a
steady one: every domain was last checked an hour ago, its archive holds the stream callbacks
of that hour (all but the publish_done the sandbox loses, ~4%), and the pass flags those.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from _bootstrap import setup

N = int(os.environ.get("N", "1000"))
PER_HOUR = 20  # callbacks an hour: 10 pushes


def main() -> None:
    setup("pushes", throttle=True)
    from django.utils import timezone

    from dashboard.archive.models import ArchivedRecord, HarvestCursor, PushedSession
    from dashboard.archive.pushes import pushes_check
    from dashboard.archive.store import archive_row, records_insert
    from dashboard.domains.models import Domain, StreamNotifyConfig
    from dashboard.live import NotifyRecord
    from dashboard.sandbox import app as sandbox_app
    from dashboard.sandbox import traffic
    from dashboard.sandbox.models import SandboxDomain, SandboxStreamConfig

    now = timezone.now().replace(microsecond=0)
    last_check = now - dt.timedelta(hours=1)
    PushedSession.objects.all().delete()
    ArchivedRecord.objects.all().delete()
    Domain.objects.all().delete()
    SandboxDomain.objects.all().delete()
    names = [f"push{i:04d}.bench.example.com" for i in range(N)]
    SandboxDomain.objects.bulk_create(
        SandboxDomain(
            name=name,
            domain_type="liveEdge",
            created=now - dt.timedelta(days=30),
            modified=now,
            records_per_hour=PER_HOUR,
            records_generated_until=now + dt.timedelta(days=3650),  # the plan, not records
        )
        for name in names
    )
    SandboxStreamConfig.objects.bulk_create(
        SandboxStreamConfig(domain=d, notify_url=f"https://hooks.example.com/{d.name}")
        for d in SandboxDomain.objects.all()
    )
    Domain.objects.bulk_create(
        Domain(name=name, domain_type=Domain.Type.INGEST, status=Domain.Status.ONLINE)
        for name in names
    )
    domains = list(Domain.objects.all())
    StreamNotifyConfig.objects.bulk_create(
        StreamNotifyConfig(domain=d, notify_url=f"https://hooks.example.com/{d.name}")
        for d in domains
    )
    HarvestCursor.objects.bulk_create(
        HarvestCursor(
            domain=d,
            harvested_until=now,
            planned_until=now,
            backfilled=True,
            pushes_checked_until=last_check,
        )
        for d in domains
    )
    # the archive: every stream callback the sandbox sent in the hour (as the harvester
    # would have stored them), so each domain's check reads and matches real rows
    rows = []
    for domain in domains:
        for push in traffic.push_sessions(domain.name, PER_HOUR / 2, last_check, now):
            if push.blip:  # in the push history only
                continue
            events = [("publish", push.began)] + (
                [] if push.done_lost else [("publish_done", push.ended)]
            )
            for kind, when in events:
                if last_check - dt.timedelta(hours=1) <= when < now:
                    record = NotifyRecord(
                        app_name=push.app,
                        domain_name=domain.name,
                        stream_name=push.stream,
                        notify_type=kind,
                        notify_url=f"https://hooks.example.com/{domain.name}",
                        notify_content="{}",
                        notify_header="",
                        notify_response="ok",
                        notify_result="success",
                        notify_time=when,
                        description="success",
                    )
                    rows.append(archive_row(domain, record, now))
    for offset in range(0, len(rows), 5000):
        records_insert(rows[offset : offset + 5000])
    sandbox_app.throttle.reset()
    t0 = time.perf_counter()
    report = pushes_check()
    elapsed = time.perf_counter() - t0
    floor = report.calls / 3
    flagged = PushedSession.objects.exclude(missing="").count()
    print(
        f"checked {len(report.domains)} of {N} ingest domains ({len(report.failed)} failed): "
        f"{report.calls} calls, {PushedSession.objects.count():,} pushes, {flagged:,} with "
        f"callbacks missing, {len(rows):,} archived callbacks, in {elapsed:.1f} s"
    )
    print(
        f"  {report.calls / elapsed:.2f} push-history calls/s; documented limit 3/s;"
        f" floor {floor:.1f} s"
    )
    print(
        f"  efficiency {floor / elapsed:.0%} of the limit;"
        f" sandbox throttled {sandbox_app.throttle.throttled} requests"
    )


if __name__ == "__main__":
    main()
