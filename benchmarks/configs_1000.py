"""Configs as code at 1,000 domains against the throttled sandbox: how close to the Live API's
limits do a plan and an apply get?

The document moves every domain's recording callback to a new URL (an export names both kinds
of each domain: `snapshot: null` where there is none). Planning reads each config once —
DescribeLiveRecordNotifyConfig (50 QPS documented) and DescribeLiveSnapshotNotifyConfig (30):
floor N / 30 s, the snapshot reads being the slower budget. Applying saves each
through the edit form's path — a Describe under the version claim, then the Update (30 QPS):
floor N / 30 s. The client paces itself at 90% of each documented limit. The sandbox runs
as its own process (`runsandbox`, throttled), reached over HTTP as the real API would be: in
the benchmark's own process its work would share one interpreter with the dashboard's.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

from _bootstrap import setup

N = int(os.environ.get("N", "1000"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = _free_port()
    os.environ["LIVE_API_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "sandbox"
    os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "sandbox-secret"
    setup("configs", throttle=True)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from dashboard.accounts.roles import LEAD, ensure_roles
    from dashboard.configs.models import ConfigRun
    from dashboard.domains.models import Domain, RecordNotifyConfig
    from dashboard.sandbox.models import SandboxDomain, SandboxRecordConfig

    now = timezone.now().replace(microsecond=0)
    ConfigRun.objects.all().delete()
    Domain.objects.all().delete()
    SandboxDomain.objects.all().delete()
    names = [f"live{i:04d}.bench.example.com" for i in range(N)]
    SandboxDomain.objects.bulk_create(
        SandboxDomain(
            name=name,
            domain_type="liveVideo",
            created=now - dt.timedelta(days=30),
            modified=now,
            records_per_hour=0,
            records_generated_until=now + dt.timedelta(days=3650),
        )
        for name in names
    )
    SandboxRecordConfig.objects.bulk_create(
        SandboxRecordConfig(domain=d, notify_url=f"https://hooks.example.com/{d.name}/v1")
        for d in SandboxDomain.objects.all()
    )
    Domain.objects.bulk_create(
        Domain(
            name=name,
            domain_type=Domain.Type.STREAMING,
            status=Domain.Status.ONLINE,
            last_synced_at=now,
        )
        for name in names
    )
    RecordNotifyConfig.objects.bulk_create(
        RecordNotifyConfig(domain=d, notify_url=f"https://hooks.example.com/{d.name}/v1")
        for d in Domain.objects.all()
    )
    ensure_roles()
    from django.contrib.auth.models import Group

    lead, _ = get_user_model().objects.get_or_create(username="bench-lead")
    lead.groups.set([Group.objects.get(name=LEAD)])

    sandbox = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", f"127.0.0.1:{port}", "--no-seed"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env={**os.environ, "LIVE_SANDBOX_THROTTLE": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        measure(lead, N)
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def measure(lead, n: int) -> None:
    from dashboard.configs.document import dump, export_document, parse
    from dashboard.configs.models import ConfigRun
    from dashboard.configs.services import run_apply, run_create, run_plan, run_start

    text = dump(export_document()).replace(".com/v1", ".com/v2")
    wanted = parse(text)
    run = run_create(actor=lead, wanted=wanted, source=ConfigRun.Source.DOCUMENT)
    t0 = time.perf_counter()
    run = run_plan(run.pk)
    planned = time.perf_counter() - t0
    updates = run.changes.filter(action="update").count()
    reads = {kind: run.changes.filter(kind=kind).count() for kind in ("record", "snapshot")}
    floor = max(reads["record"] / 50, reads["snapshot"] / 30)
    print(
        f"plan: {n} domains, {reads['record']} recording + {reads['snapshot']} snapshot "
        f"Describes, {updates} updates, in {planned:.1f} s — floor {floor:.1f} s at the "
        f"documented 50 and 30 QPS: {floor / planned:.0%} of the limits"
    )
    assert run_start(run)
    t0 = time.perf_counter()
    run = run_apply(run.pk)
    applied = time.perf_counter() - t0
    done = run.changes.filter(outcome="applied").count()
    print(
        f"apply: {done} of {updates} applied in {applied:.1f} s — "
        f"{done / applied:.1f} Update/s of 30 documented (floor {done / 30:.1f} s): "
        f"{(done / 30) / applied:.0%} of the limit"
    )


if __name__ == "__main__":
    main()
