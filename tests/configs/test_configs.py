"""Configs as code: export → edit → plan → apply → export; a single save during a run; undo,
read back through the official SDK; who may plan what; documents that cannot be read."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from alibabacloud_live20161101 import models as live
from django.core.management import call_command

from dashboard.audit.models import AuditEntry
from dashboard.configs.document import dump, export_document, parse
from dashboard.configs.models import ConfigChange, ConfigRun
from dashboard.configs.services import run_apply, run_create, run_plan, run_start, undo_wanted
from dashboard.domains.kinds import RECORD
from dashboard.domains.models import Domain
from dashboard.domains.services import config_save
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, process_env
from tests.sandbox.servers import sandbox_on_this_run
from tests.sandbox.test_official_sdk import sdk

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
ROOT = Path(__file__).resolve().parents[2]
NEW_URL = "https://hooks.example-shop.com/live/record-v3"


def exported(*names: str) -> dict:
    return export_document(names=names)


def desired(document: dict) -> dict:
    """What a document asks for, without what only informs (time, revisions, fingerprints)."""
    out = {}
    for name, entry in document["domains"].items():
        out[name] = {}
        for kind, config in entry.items():
            if kind == "team" or not isinstance(config, dict):
                out[name][kind] = config
                continue
            out[name][kind] = {
                k: v for k, v in config.items() if k not in ("revision", "key_fingerprint")
            }
    return out


def plan(text: str, actor, **kwargs) -> ConfigRun:
    run = run_create(actor=actor, wanted=parse(text), source=ConfigRun.Source.DOCUMENT)
    return run_plan(run.pk, **kwargs)


def apply(run: ConfigRun) -> ConfigRun:
    assert run_start(run)
    return run_apply(run.pk)


def test_export_edit_plan_apply_and_export_again_equals_the_edit(lead, synced):
    document = exported(TEAM_DOMAIN, OTHER_DOMAIN)
    assert document["domains"][TEAM_DOMAIN]["record"]["auth_key"] == "keep"
    edited = yaml.safe_load(dump(document))
    edited["domains"][TEAM_DOMAIN]["record"]["notify_url"] = NEW_URL
    edited["domains"][TEAM_DOMAIN]["record"]["need_status_notify"] = False
    had_snapshot = edited["domains"][OTHER_DOMAIN].get("snapshot") is not None
    edited["domains"][OTHER_DOMAIN]["snapshot"] = None

    run = plan(dump(edited), lead)
    changing = {(c.domain_name, c.kind): c for c in run.changes.exclude(action="unchanged")}
    expected = {(TEAM_DOMAIN, "record")} | ({(OTHER_DOMAIN, "snapshot")} if had_snapshot else set())
    assert set(changing) == expected  # exactly the edits, nothing else
    record = changing[(TEAM_DOMAIN, "record")]
    assert record.action == ConfigChange.Action.UPDATE
    assert record.after["notify_url"] == NEW_URL and record.after["need_status_notify"] is False
    assert {k for k in record.after if record.after[k] != record.before[k]} == {
        "notify_url",
        "need_status_notify",
    }

    run = apply(run)
    assert run.state == ConfigRun.State.DONE
    assert set(run.changes.exclude(action="unchanged").values_list("outcome", flat=True)) == {
        "applied"
    }
    assert desired(exported(TEAM_DOMAIN, OTHER_DOMAIN)) == desired(edited)
    entries = AuditEntry.objects.filter(batch=run.batch, outcome="success")
    assert entries.count() == len(expected)
    assert {e.config_run_id for e in entries} == {run.pk}

    # The same document again: nothing to do.
    again = plan(dump(edited), lead)
    assert set(again.changes.values_list("action", flat=True)) == {"unchanged"}
    assert run_start(again) is False


def test_a_single_save_during_a_run_conflicts_for_that_domain_only(lead, editor, synced):
    document = yaml.safe_load(dump(exported(TEAM_DOMAIN, OTHER_DOMAIN)))
    for name in (TEAM_DOMAIN, OTHER_DOMAIN):
        document["domains"][name]["record"]["notify_url"] = f"https://hooks.example.org/{name}"
    run = plan(dump(document), lead)
    assert run.changes.filter(action="update").count() == 2
    # An editor saves TEAM_DOMAIN's recording callback from the form meanwhile.
    team = Domain.objects.get(name=TEAM_DOMAIN)
    config_save(
        domain=team,
        kind=RECORD,
        data={"notify_url": "https://hooks.example-shop.com/by-hand", "notify_req_auth": False},
        actor=editor,
        expected_version=team.version(RECORD),
    )
    run = apply(run)
    outcomes = dict(run.changes.filter(action="update").values_list("domain_name", "outcome"))
    assert outcomes == {TEAM_DOMAIN: "conflict", OTHER_DOMAIN: "applied"}
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url.endswith("/by-hand")
    conflict = AuditEntry.objects.get(batch=run.batch, outcome="conflict")
    assert conflict.domain_name == TEAM_DOMAIN


def test_undo_restores_every_domain_as_the_official_sdk_reads_it(lead, synced):
    names = (TEAM_DOMAIN, OTHER_DOMAIN)
    before = desired(exported(*names))
    document = yaml.safe_load(dump(exported(*names)))
    for name in names:
        for kind in ("record", "snapshot"):
            if document["domains"][name].get(kind):
                document["domains"][name][kind]["notify_url"] = "https://hooks.example.net/moved"
                document["domains"][name][kind]["notify_req_auth"] = True
                document["domains"][name][kind]["auth_key"] = "new"
    with sandbox_on_this_run() as port:
        official = sdk(port, None)
        keys_before = {
            name: official.describe_live_record_notify_config(
                live.DescribeLiveRecordNotifyConfigRequest(domain_name=name)
            ).body.live_record_notify_config.notify_auth_key
            for name in names
        }
        run = apply(plan(dump(document), lead))
        assert run.changes.filter(outcome="applied").count() >= 2
        moved = official.describe_live_record_notify_config(
            live.DescribeLiveRecordNotifyConfigRequest(domain_name=TEAM_DOMAIN)
        ).body.live_record_notify_config
        assert moved.notify_url == "https://hooks.example.net/moved"
        assert moved.notify_auth_key != keys_before[TEAM_DOMAIN]

        undo = run_create(
            actor=lead, wanted=undo_wanted(run), source=ConfigRun.Source.UNDO, undo_of=run
        )
        undo = apply(run_plan(undo.pk))
        assert (
            undo.changes.filter(outcome="applied").count()
            == run.changes.filter(outcome="applied").count()
        )
        assert desired(exported(*names)) == before
        for name in names:
            back = official.describe_live_record_notify_config(
                live.DescribeLiveRecordNotifyConfigRequest(domain_name=name)
            ).body.live_record_notify_config
            assert back.notify_url == before[name]["record"]["notify_url"]
            assert back.notify_req_auth == before[name]["record"]["notify_req_auth"]
            if keys_before[name]:
                assert back.notify_auth_key == keys_before[name]  # the old key back
            else:  # Live cannot remove a key: the new one stays stored, signing off as before
                assert back.notify_req_auth is False


def test_an_editor_plans_only_their_teams_domains(editor, synced):
    document = yaml.safe_load(dump(exported(TEAM_DOMAIN, OTHER_DOMAIN)))
    for name in (TEAM_DOMAIN, OTHER_DOMAIN):
        document["domains"][name]["record"]["notify_url"] = "https://hooks.example.org/x"
    run = plan(dump(document), editor)
    actions = dict(run.changes.filter(kind="record").values_list("domain_name", "action"))
    assert actions == {TEAM_DOMAIN: "update", OTHER_DOMAIN: "refused"}
    refused = run.changes.get(domain_name=OTHER_DOMAIN, kind="record")
    assert "You may not change this domain's callbacks" in refused.reason


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"notify_url": "http://127.0.0.1/hook"}, "Unsafe callback URL"),
        ({"notify_url": "https://hooks.example.org/a\r\nX-Evil: 1"}, "Not valid"),
        ({"auth_key": "abc"}, "keys are never written in a document"),
        ({"auth_key": {"env": "CONFIGS_TEST_KEY"}}, "command line only"),
        ({"revision": 9999}, "Changed since the document was written"),
    ],
)
def test_unsafe_or_unreadable_changes_are_refused_and_nothing_is_sent(lead, synced, change, says):
    document = yaml.safe_load(dump(exported(TEAM_DOMAIN)))
    document["domains"][TEAM_DOMAIN]["record"].update(change)
    document["domains"][TEAM_DOMAIN]["record"].setdefault("notify_url", "https://x.example/y")
    if "revision" in change:
        document["domains"][TEAM_DOMAIN]["record"]["notify_url"] = "https://hooks.example.org/r"
    try:
        run = plan(dump(document), lead)
    except Exception as problem:  # a document that cannot be read at all
        assert says in str(problem)
        return
    change_row = run.changes.get(domain_name=TEAM_DOMAIN, kind="record")
    assert change_row.action == "refused"
    assert says in change_row.reason % (change_row.reason_params or {})
    assert run_start(run) is False  # nothing to apply
    assert not AuditEntry.objects.filter(batch=run.batch).exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not: [valid", "neither YAML nor JSON"),
        ("domains: 3", "no 'domains' mapping"),
        ("format: other/v9\ndomains: {}", "this dashboard reads"),
        ("domains:\n  live.example-shop.com:\n    record:\n      notify_url: 5", "must be text"),
        ("domains:\n  live.example-shop.com:\n    recording: {}", "is not a config kind"),
        ("domains:\n  live.example-shop.com:\n    record: {colour: red}", "does not know"),
        ("domains: {a: 1}\n\x00", "NUL"),
    ],
)
def test_documents_that_cannot_be_read_say_where(text, says, synced):
    with pytest.raises(ValueError, match=says):
        parse(text)


def test_a_json_document_reads_its_escapes_as_json_does(synced):
    """Python's `json.dumps` writes 😀 as the pair `\\ud83d\\ude00`, which YAML reads as two
    lone surrogates (a 500 when they reached the database)."""
    url = "https://hooks.example.org/live/😀?ch=直播"
    text = json.dumps({"domains": {TEAM_DOMAIN: {"record": {"notify_url": url}}}})
    assert "\\ud83d" in text
    (wanted,) = parse(text)
    assert wanted.values["notify_url"] == url


def test_an_unknown_domain_and_a_kind_it_does_not_carry_are_refused(lead, synced):
    ingest = Domain.objects.filter(domain_type="liveEdge").values_list("name", flat=True).first()
    text = (
        "domains:\n  nosuch.example.com:\n    record: null\n"
        f"  {ingest}:\n    record:\n      notify_url: https://hooks.example.org/r\n"
    )
    run = plan(text, lead)
    reasons = [c.reason for c in run.changes.all()]
    assert reasons[0] == "No such domain in the dashboard."
    assert "does not carry" in reasons[1]


def test_the_command_line_plans_applies_with_keys_from_the_environment(lead, synced, tmp_path):
    out = io.StringIO()
    call_command("configs", "export", "--domain", TEAM_DOMAIN, stdout=out)
    document = yaml.safe_load(out.getvalue())
    record = document["domains"][TEAM_DOMAIN]["record"]
    record.update(notify_req_auth=True, auth_key={"env": "SHOP_RECORD_KEY"})
    path = tmp_path / "configs.yaml"
    path.write_text(dump(document))
    env = process_env(SHOP_RECORD_KEY="ShopKeyFromEnv0123456789")

    def configs(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "configs", *args, str(path), "--as", "lead"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    planned = configs("plan")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert f"update    {TEAM_DOMAIN} record" in planned.stdout
    assert "auth_key: set → a new key" in planned.stdout or "auth_key: none → a new key" in (
        planned.stdout
    )
    assert "ShopKeyFromEnv" not in planned.stdout + planned.stderr  # never printed
    applied = configs("apply", "--yes")
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
    assert f"applied  {TEAM_DOMAIN} record" in applied.stdout
    assert "[##############################] 1/1" in applied.stderr
    from dashboard.domains.selectors import upstream_config

    assert upstream_config(domain_name=TEAM_DOMAIN, kind=RECORD).notify_auth_key == (
        "ShopKeyFromEnv0123456789"
    )
    # Applying again changes nothing, and says so by its exit status.
    again = configs("apply", "--yes")
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_the_command_line_reads_a_document_from_standard_input(lead, synced):
    """`configs plan -` reads the bytes piped to it; bytes that are not a document exit 2 with
    the reason, and plan nothing."""
    document = yaml.safe_load(dump(exported(TEAM_DOMAIN)))
    document["domains"][TEAM_DOMAIN]["record"]["notify_url"] = "https://hooks.example.org/piped"

    def piped(data: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "configs", "plan", "-", "--as", "lead"],
            cwd=ROOT,
            env=process_env(),
            input=data,
            capture_output=True,
            timeout=120,
        )

    planned = piped(dump(document).encode("utf-8"))
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert f"update    {TEAM_DOMAIN} record".encode() in planned.stdout
    assert b"https://hooks.example.org/piped" in planned.stdout
    runs = ConfigRun.objects.count()
    for data, says in (
        (b"\xff\xfedomains", b"not UTF-8 text"),
        (b"domains: {}", b"names no domain"),
    ):
        refused = piped(data)
        assert refused.returncode == 2 and says in refused.stderr
    assert ConfigRun.objects.count() == runs


def _moved_run(lead, names, url="https://hooks.example.org/after-crash") -> ConfigRun:
    document = yaml.safe_load(dump(exported(*names)))
    for name in names:
        document["domains"][name]["record"]["notify_url"] = url
    run = plan(dump(document), lead)
    assert run_start(run)
    return run


def test_a_change_sent_just_before_the_worker_died_is_not_a_conflict_on_resume(lead, synced):
    """The worker sent the first change and died before recording it: the resumed run finds
    the version moved by its own change, and says applied — not conflict, not sent twice."""
    run = _moved_run(lead, (TEAM_DOMAIN, OTHER_DOMAIN))
    ConfigRun.objects.filter(pk=run.pk).update(state=ConfigRun.State.RUNNING)  # a worker took it
    first = run.changes.filter(action="update").order_by("position").first()
    domain = Domain.objects.get(pk=first.domain_id)
    config_save(
        domain=domain,
        kind=RECORD,
        data={**first.values, "notify_auth_key": ""},
        actor=lead,
        expected_version=first.expected_version,
        batch=run.batch,
    )  # … what the worker had sent; then it was killed
    from dashboard.configs.services import run_pause

    assert run_pause(run) and run_start(run)  # the person pauses the stuck run, then resumes
    run = run_apply(run.pk)
    outcomes = dict(run.changes.filter(action="update").values_list("domain_name", "outcome"))
    assert outcomes == {TEAM_DOMAIN: "applied", OTHER_DOMAIN: "applied"}
    sent = AuditEntry.objects.filter(
        batch=run.batch, outcome="success", domain_name=first.domain_name
    )
    assert sent.count() == 1  # once
    assert not AuditEntry.objects.filter(batch=run.batch, outcome="conflict").exists()


def test_a_worker_killed_mid_run_resumes_safely_and_the_document_converges(lead, synced):
    """A real `db_worker` applying a run against the throttled sandbox is killed (SIGKILL).
    Paused and resumed on another worker, the run applies the rest; nothing is sent twice. The
    one change the dead worker may have been sending holds its claim for a minute, so it can
    come back as a conflict — then the same document, planned again (after the domain's
    refresh, when the dead worker's write reached Live but not the cache), finishes the job."""
    import datetime as dt
    import signal
    import time

    from django.utils import timezone

    from dashboard.configs.services import run_pause
    from dashboard.configs.tasks import config_run_apply
    from dashboard.domains.models import ConfigState
    from dashboard.domains.services import domain_refresh
    from tests.conftest import db_worker_batch, start_db_worker

    url = "https://hooks.example.org/after-crash"
    names = list(
        Domain.objects.filter(domain_type="liveVideo", record_config__isnull=False)
        .order_by("name")
        .values_list("name", flat=True)
    )
    assert len(names) >= 4
    run = _moved_run(lead, names, url)
    config_run_apply.enqueue(run.pk)
    worker = start_db_worker(process_env(LIVE_API_RATE_FRACTION="0.05"))  # ~1.5 saves a second
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not run.changes.filter(outcome="applied").exists():
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert 1 <= run.changes.filter(outcome="applied").count() < len(names), "kill mid-run"
    assert ConfigRun.objects.get(pk=run.pk).state == ConfigRun.State.RUNNING  # stuck
    assert run_pause(run) and run_start(run)
    config_run_apply.enqueue(run.pk)
    db_worker_batch()
    run.refresh_from_db()
    assert run.state == ConfigRun.State.DONE
    outcomes = list(run.changes.filter(action="update").values_list("outcome", "error_message"))
    conflicts = [m for o, m in outcomes if o == "conflict"]
    assert len(conflicts) <= 1, outcomes  # at most the one in flight
    assert all(o in ("applied", "conflict") for o, _m in outcomes), outcomes
    for name in names:  # nothing sent twice
        sent = AuditEntry.objects.filter(batch=run.batch, outcome="success", domain_name=name)
        assert sent.count() <= 1

    # A minute later the dead worker's claim has lapsed; a refresh brings any write of it
    # that reached Live into the cache; the same document again finishes.
    ConfigState.objects.update(claim_until=timezone.now() - dt.timedelta(seconds=1))
    for domain in Domain.objects.filter(name__in=names):
        domain_refresh(domain=domain)
    document = yaml.safe_load(dump(exported(*names)))
    for name in names:
        document["domains"][name]["record"]["notify_url"] = url
    again = plan(dump(document), lead)
    if run_start(again):
        again = run_apply(again.pk)
    assert set(again.changes.exclude(action="unchanged").values_list("outcome", flat=True)) <= {
        "applied"
    }
    for name in names:
        assert Domain.objects.get(name=name).config(RECORD).notify_url == url
