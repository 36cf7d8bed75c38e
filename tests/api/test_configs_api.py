"""Configs as code over the API: a token made to change configs plans a document sent as the
body, reads the plan, applies it and undoes it, with a real `db_worker` doing the work and the
sandbox behind it; read-only tokens, other people's runs, bad bodies and a browser session are
refused and change nothing."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.test import Client

from dashboard.api.models import AccessToken
from dashboard.api.tokens import token_create
from dashboard.audit.models import AuditEntry
from dashboard.configs.models import ConfigRun
from dashboard.domains.kinds import RECORD
from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, db_worker_batch

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def changer(user) -> str:
    return token_create(user=user, name="configs ci", days=7, may_change_configs=True)[1]


def post_document(client, secret: str, text: str | bytes, **extra):
    return client.post(
        "/api/v1/configs/runs",
        data=text,
        content_type="application/yaml",
        **bearer(secret),
        **extra,
    )


def moved(client, secret: str, url: str) -> str:
    """The team domain's exported document (from the API) with its recording URL moved."""
    answer = client.get("/api/v1/configs/export?team=Shop+streaming", **bearer(secret))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/yaml")
    document = yaml.safe_load(answer.content)
    assert list(document["domains"]) == [TEAM_DOMAIN]
    document["domains"][TEAM_DOMAIN]["record"]["notify_url"] = url
    return yaml.safe_dump(document)


def test_plan_apply_and_undo_through_the_api(client, editor, synced):
    # the token is made on the account page, with the box ticked
    client.force_login(editor)
    page = client.post(
        "/account/tokens/", {"name": "configs ci", "days": "30", "may_change_configs": "on"}
    )
    secret = re.search(r'id="token-secret">(lcd_[\w-]+)<', page.content.decode()).group(1)
    assert "changes configs" in page.content.decode()
    assert AuditEntry.objects.get(kind=AuditEntry.Kind.TOKEN).after["may_change_configs"] is True
    client.logout()
    original = Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url

    answer = post_document(
        client, secret, moved(client, secret, "https://hooks.example.org/api-v2"), QUERY_STRING=""
    )
    assert answer.status_code == 202, answer.content
    run = answer.json()
    assert run["state"] == "planning" and run["source"] == "api" and run["created_by"] == "editor"
    db_worker_batch()
    planned = client.get(run["url"], **bearer(secret)).json()
    assert planned["state"] == "planned" and planned["changing"] == 1
    (change,) = [c for c in planned["changes"] if c["action"] != "unchanged"]
    assert change["domain"] == TEAM_DOMAIN and change["kind"] == "record"
    assert change["action"] == "update" and change["outcome"] == "pending"
    assert {
        "field": "notify_url",
        "before": original,
        "after": "https://hooks.example.org/api-v2",
    } in change["fields"]
    assert (
        Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url == original
    )  # planned only

    applying = client.post(f"{run['url']}/apply", **bearer(secret))
    assert applying.status_code == 202 and applying.json()["state"] == "queued"
    again = client.post(f"{run['url']}/apply", **bearer(secret))
    assert again.status_code == 409 and "not waiting" in again.json()["detail"]
    db_worker_batch()
    done = client.get(run["url"], **bearer(secret)).json()
    assert done["state"] == "done" and done["outcomes"]["applied"] == 1 and done["done"] == 1
    (change,) = [c for c in done["changes"] if c["action"] != "unchanged"]
    assert change["outcome"] == "applied" and change["request_id"]
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url.endswith("/api-v2")
    entry = AuditEntry.objects.get(batch=f"config-run:{run['id']}")
    assert entry.actor.username == "editor" and entry.domain.name == TEAM_DOMAIN

    listed = client.get("/api/v1/configs/runs", **bearer(secret)).json()
    assert [r["id"] for r in listed] == [run["id"]]

    undo = client.post(f"{run['url']}/undo", **bearer(secret))
    assert undo.status_code == 202 and undo.json()["undo_of"] == run["id"]
    db_worker_batch()
    client.post(f"{undo.json()['url']}/apply", **bearer(secret))
    db_worker_batch()
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url == original


def test_a_read_only_token_reads_runs_and_the_document_but_plans_nothing(client, editor, synced):
    _t, secret = token_create(user=editor, name="reader", days=7)
    assert client.get("/api/v1/configs/export?format=json", **bearer(secret)).json()["domains"]
    refused = post_document(client, secret, moved(client, secret, "https://hooks.example.org/r"))
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert not ConfigRun.objects.exists()
    assert client.get("/api/v1/configs/runs", **bearer(secret)).json() == []


def test_a_viewer_cannot_make_a_changing_token_nor_use_one(client, viewer, synced):
    client.force_login(viewer)
    page = client.get("/account/tokens/").content.decode()
    assert "may_change_configs" not in page  # nothing they could change: not offered
    client.post("/account/tokens/", {"name": "sneaky", "days": "7", "may_change_configs": "on"})
    assert AccessToken.objects.get().may_change_configs is False
    client.logout()
    # a token made while its person edited, who is a viewer now: refused for what it changes
    forced = changer(viewer)
    answer = post_document(client, forced, "domains: {}")
    assert answer.status_code == 403 and "editors and leads" in answer.json()["detail"]
    assert not ConfigRun.objects.exists()


def test_other_peoples_runs(client, editor, other_editor, lead, synced):
    mine = changer(editor)
    answer = post_document(client, mine, moved(client, mine, "https://hooks.example.org/o"))
    url = answer.json()["url"]
    db_worker_batch()

    theirs = changer(other_editor)
    assert client.get(url, **bearer(theirs)).status_code == 403
    assert client.post(f"{url}/apply", **bearer(theirs)).status_code == 403
    assert client.post(f"{url}/cancel", **bearer(theirs)).status_code == 403
    assert client.get("/api/v1/configs/runs/999999", **bearer(theirs)).status_code == 404

    leads = changer(lead)
    assert client.get(url, **bearer(leads)).json()["state"] == "planned"  # leads see every run
    refused = client.post(f"{url}/apply", **bearer(leads))
    assert refused.status_code == 403 and "Only editor, who planned it" in refused.json()["detail"]
    assert ConfigRun.objects.get().state == "planned"  # a run applies as its planner, by them
    cancelled = client.post(f"{url}/cancel", **bearer(leads))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"{url}/cancel", **bearer(leads)).status_code == 409


def test_a_document_for_a_domain_one_does_not_edit_is_refused_in_the_plan(client, editor, synced):
    secret = changer(editor)
    document = {
        "format": "live-callback-configs/v1",
        "domains": {OTHER_DOMAIN: {"record": {"notify_url": "https://hooks.example.org/x"}}},
    }
    answer = client.post(
        "/api/v1/configs/runs",
        data=json.dumps(document),
        content_type="application/json",
        **bearer(secret),
    )
    assert answer.status_code == 202
    db_worker_batch()
    planned = client.get(answer.json()["url"], **bearer(secret)).json()
    assert [c["action"] for c in planned["changes"]] == ["refused"]
    assert planned["changes"][0]["reason"] and planned["changing"] == 0
    assert client.post(f"{answer.json()['url']}/apply", **bearer(secret)).status_code == 409


LAUGHS = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    + ["format: *a6", "domains: {x: *a6}"]
).encode()


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "Send the document"),
        (b"   \r\n", 400, "Send the document"),
        (b"\xff\xfe domains", 400, "not UTF-8"),
        (b"domains: [", 400, "neither YAML nor JSON"),
        (b"domains: {}", 400, "names no domain"),
        (b"domains:\n  a\x00b: {}", 400, "NUL"),
        # what escapes make: NUL, a lone surrogate (each once a 500 on PostgreSQL)
        (b'{"domains": {"a\\u0000b": {}}}', 400, "NUL or a lone surrogate"),
        (b'{"domains": {"\\ud83d.example.com": {}}}', 400, "NUL or a lone surrogate"),
        (b'domains: {"x": {record: {notify_url: "\\ud800"}}}', 400, "NUL or a lone surrogate"),
        # a key written twice is said before the text is checked: said, not a 500
        (b'{"\\ud800": 1, "\\ud800": 2}', 400, "\ufffd is written twice in one mapping"),
        (b'{"a\\ud83d\\ude00": 1, "a\\ud83d\\ude00": 2}', 400, "a\U0001f600 is written twice"),
        # Python's limits (each once a 500): nesting, a number of 5,000 digits
        (b"domains: " + b"[" * 3000 + b"]" * 3000, 400, "too deep"),
        (b"format: " + b"7" * 5000 + b"\ndomains: {x: {}}", 400, "too deep or its numbers"),
        # YAML's aliases: ten million items in a few lines, said by their kind, not written out
        (LAUGHS, 400, "format is list"),
        (b"format: other/v9\ndomains: {x: {}}", 400, "format"),
        (b"# " + b"x" * 2_000_001, 413, "larger than 2 MB"),
        (b"# " + b"x" * 3_000_000, 413, "larger than 2 MB"),  # past Django's own limit
    ],
)
def test_a_body_that_is_not_a_document_is_said_and_nothing_is_made(
    client, editor, synced, body, status, says
):
    answer = post_document(client, changer(editor), body)
    assert answer.status_code == status
    assert says in answer.json()["detail"]
    assert not ConfigRun.objects.exists()


def test_a_browser_session_plans_nothing_through_the_api(editor, synced):
    """The API takes tokens only: a page's session cookie (a cross-site form) is a 401."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    answer = browser.post(
        "/api/v1/configs/runs", data="domains: {}", content_type="application/yaml"
    )
    assert answer.status_code == 401
    # a token needs no CSRF token: it is not a cookie a browser sends by itself
    tokened = Client(enforce_csrf_checks=True)
    answer = post_document(tokened, changer(editor), "domains: {}")
    assert answer.status_code == 400 and "names no domain" in answer.json()["detail"]


def test_the_docs_page_shows_the_configs_endpoints(client, viewer, synced):
    client.force_login(viewer)
    page = client.get("/api/v1/docs").content.decode()
    assert "/api/v1/configs/runs/{run_id}/apply" in page
    assert "<code>application/yaml</code>" in page
    assert 'id="shape-RunDetailOut"' in page


def test_a_pipeline_cannot_queue_plans_without_end(client, editor, synced):
    secret = changer(editor)
    for _ in range(5):
        ConfigRun.objects.create(created_by=editor, created_by_name="editor")  # planning
    document = moved(client, secret, "https://hooks.example.org/many")
    answer = post_document(client, secret, document)
    assert answer.status_code == 429 and "5 of your config runs" in answer.json()["detail"]
    assert ConfigRun.objects.count() == 5
    ConfigRun.objects.filter(pk=ConfigRun.objects.first().pk).update(state="cancelled")
    assert post_document(client, secret, document).status_code == 202  # room again


def test_a_run_no_worker_planned_can_be_cancelled_and_a_late_plan_leaves_it_so(
    client, editor, synced
):
    """A run whose planning worker was killed (or that no worker took) stayed "planning" for
    ever: it could not be cancelled, and five of them shut its person out of the API (429,
    "wait for one to finish (or cancel one)"). Now it is cancelled like any other, on the page
    and through the API, and a worker that plans it late leaves it cancelled."""
    secret = changer(editor)
    document = moved(client, secret, "https://hooks.example.org/stuck")
    urls = [post_document(client, secret, document).json()["url"] for _ in range(5)]
    assert post_document(client, secret, document).status_code == 429
    cancelled = client.post(f"{urls[0]}/cancel", **bearer(secret))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    page_client = Client()
    page_client.force_login(editor)
    second = ConfigRun.objects.order_by("pk")[1]
    page = page_client.get(f"/configs/runs/{second.pk}/").content.decode()
    assert "Stop planning" in page
    page_client.post(f"/configs/runs/{second.pk}/action/", {"action": "cancel"})
    stopped = page_client.get(f"/configs/runs/{second.pk}/").content.decode()
    assert "Stopped before its plan was made: nothing changed." in stopped
    assert "already as the document says" not in stopped and "unchanged" not in stopped
    assert post_document(client, secret, document).status_code == 202  # room again
    db_worker_batch()  # the worker comes back: it plans the others, not the cancelled two
    states = list(ConfigRun.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["cancelled", "cancelled", "planned", "planned", "planned", "planned"]
    assert not ConfigRun.objects.filter(state="cancelled", changes__outcome="pending").exists()


def test_pause_resume_and_cancel_before_the_worker_gets_to_it(client, editor, synced):
    secret = changer(editor)
    answer = post_document(client, secret, moved(client, secret, "https://hooks.example.org/p"))
    url = answer.json()["url"]
    db_worker_batch()  # planned
    not_yet = client.post(f"{url}/pause", **bearer(secret))
    assert not_yet.status_code == 409 and "being applied" in not_yet.json()["detail"]
    assert client.post(f"{url}/apply", **bearer(secret)).json()["state"] == "queued"
    paused = client.post(f"{url}/pause", **bearer(secret))
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert client.post(f"{url}/apply", **bearer(secret)).json()["state"] == "queued"  # resumed
    cancelled = client.post(f"{url}/cancel", **bearer(secret)).json()
    assert cancelled["state"] == "cancelled"
    assert [c["outcome"] for c in cancelled["changes"] if c["action"] != "unchanged"] == ["skipped"]
    db_worker_batch()  # the queued apply finds the run cancelled: nothing is sent
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url != (
        "https://hooks.example.org/p"
    )


def test_plans_sent_at_once_to_several_processes_stay_within_the_limit(gunicorn, editor, synced):
    """Ten plans sent together to four server processes, with four runs already in flight:
    one more is made, the rest are told to wait. (The race the lock in `_new_run` closes is
    microseconds wide: this run does not fail without it on this machine; it shows the limit
    holding under parallel requests, and no 500.)"""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    secret = changer(editor)
    for _ in range(4):
        ConfigRun.objects.create(created_by=editor, created_by_name="editor")  # planning
    document = yaml.safe_dump(
        {
            "format": "live-callback-configs/v1",
            "domains": {TEAM_DOMAIN: {"record": {"notify_url": "https://hooks.example.org/r"}}},
        }
    )

    def send(_n):
        with httpx.Client(base_url=gunicorn, timeout=60) as http:
            return http.post(
                "/api/v1/configs/runs",
                content=document,
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/yaml"},
            ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = sorted(pool.map(send, range(10)))
    assert answers == [202] + [429] * 9, answers
    assert ConfigRun.objects.filter(created_by=editor).count() == 5


def test_the_run_list_counts_every_run_in_one_query(client, editor, lead, synced):
    """A lead's list of 20 runs costs the queries of a list of 2: the changes of all of them
    are counted together, and each run's figures are its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.configs.models import ConfigChange

    def make_runs(n: int, start: int) -> None:
        for i in range(start, start + n):
            run = ConfigRun.objects.create(
                created_by=editor, created_by_name="editor", state="running"
            )
            outcomes = ["applied"] * (i % 3) + ["pending", "failed"]
            ConfigChange.objects.bulk_create(
                ConfigChange(
                    run=run,
                    position=p,
                    domain_name=f"d{p}.example.com",
                    kind="record",
                    action="update",
                    outcome=outcome,
                )
                for p, outcome in enumerate(outcomes)
            )
            ConfigChange.objects.create(
                run=run,
                position=99,
                domain_name="same.example.com",
                kind="record",
                action="unchanged",
            )

    secret = token_create(user=lead, name="reader", days=7)[1]

    def listed() -> tuple[list, int]:
        with CaptureQueriesContext(connection) as queries:
            answer = client.get("/api/v1/configs/runs?limit=100", **bearer(secret))
        assert answer.status_code == 200
        return answer.json(), len(queries)

    listed()  # the token's first use notes when it was used: a query the others skip
    make_runs(2, 0)
    few, few_queries = listed()
    make_runs(18, 2)
    many, many_queries = listed()
    assert len(few) == 2 and len(many) == 20
    assert many_queries == few_queries
    for run in many:
        applied = run["outcomes"]["applied"]
        assert run["changing"] == applied + 2  # one pending, one failed, and the applied
        assert run["done"] == applied + 1 and run["outcomes"]["failed"] == 1
    assert sorted(r["outcomes"]["applied"] for r in many) == sorted(i % 3 for i in range(20))
