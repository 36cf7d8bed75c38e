"""Run by tests/ops/test_replica.py in a process of its own, on a primary and its replica:
`python tests/ops/replica_script.py ACTION [STREAM]` prints one JSON line.

  setup         a viewer, a domain
  archive S     one record on stream S, stored as the harvester stores records
  page S        what a viewer's records page (a GET) shows of stream S, and what a read outside a
                request (the harvester's kind) counts
  overview      the failure overview (the domains ranked by the database): shown, and where
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings_test")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.accounts.roles import VIEWER, ensure_roles  # noqa: E402
from dashboard.archive.models import ArchivedRecord  # noqa: E402
from dashboard.archive.store import archive_row, records_insert  # noqa: E402
from dashboard.domains.models import Domain  # noqa: E402
from dashboard.live import NotifyRecord  # noqa: E402

DOMAIN = "replica.example.com"
action, stream = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
if action == "setup":
    ensure_roles()
    user, _ = User.objects.get_or_create(username="replica-viewer")
    user.groups.set([Group.objects.get(name=VIEWER)])
    Domain.objects.get_or_create(name=DOMAIN, defaults={"domain_type": "liveVideo"})
    print(json.dumps({"ok": True}))
elif action == "archive":
    domain = Domain.objects.get(name=DOMAIN)
    now = timezone.now()
    record = NotifyRecord(
        app_name="live",
        domain_name=DOMAIN,
        stream_name=stream,
        notify_type="record_started",
        notify_url="https://hooks.replica.example.org/cb",
        notify_content="{}",
        notify_header="",
        notify_response="",
        notify_result="success",
        notify_time=now - dt.timedelta(minutes=1),
        description="success",
    )
    stored = records_insert([archive_row(domain, record, now)])
    print(json.dumps({"new": stored.count}))
elif action == "page":
    client = Client()
    client.force_login(User.objects.get(username="replica-viewer"))
    response = client.get("/records/", {"stream": stream, "window": "24h"})
    body = response.content.decode()
    print(
        json.dumps(
            {
                "status": response.status_code,
                "shown": f"{stream}</" in body or f">{stream}<" in body,
                "outside_a_request": ArchivedRecord.objects.filter(stream_name=stream).count(),
                "replica": connections["replica"].settings_dict["PORT"],
                "queries_on_replica": len(connections["replica"].queries),
            }
        )
    )
elif action == "overview":
    client = Client()
    client.force_login(User.objects.get(username="replica-viewer"))
    response = client.get("/records/overview/", {"sort": "-now"})
    ranked = [q["sql"] for q in connections["replica"].queries if "LIMIT" in q["sql"]]
    print(
        json.dumps(
            {
                "status": response.status_code,
                "shown": f">{DOMAIN}<" in response.content.decode(),
                "ranked_on_replica": any("domains_domain d" in sql for sql in ranked),
                "ranked_on_primary": any(
                    "domains_domain d" in q["sql"] for q in connections["default"].queries
                ),
            }
        )
    )
