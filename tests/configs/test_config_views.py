"""Configs as code in the browser's requests, planned and applied by a real `db_worker`."""

from __future__ import annotations

import html
import json
import re

import pytest
import yaml

from dashboard.configs.document import dump, export_document
from dashboard.configs.models import ConfigRun
from dashboard.domains.kinds import RECORD
from dashboard.domains.models import Domain
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, db_worker_batch, process_env

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def moved_document(url: str) -> str:
    document = yaml.safe_load(dump(export_document(names=[TEAM_DOMAIN])))
    document["domains"][TEAM_DOMAIN]["record"]["notify_url"] = url
    return dump(document)


def test_paste_plan_apply_and_undo(client, lead, synced):
    client.force_login(lead)
    original = Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url
    answer = client.post(
        "/configs/plan/", {"document": moved_document("https://hooks.example.org/v9")}
    )
    assert answer.status_code == 302
    run = ConfigRun.objects.get()
    page = client.get(answer["Location"]).content.decode()
    assert "Planning" in page
    db_worker_batch()
    page = client.get(answer["Location"]).content.decode()
    assert re.search(
        r"notify_url</span>: <del>[^<]+</del> → <ins[^>]*>https://hooks.example.org/v9", page
    )
    assert "Apply 1 change" in page
    # the page polls itself only while something is happening
    fragment = client.get(answer["Location"], headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="progress"')
    assert "hx-trigger" not in fragment

    assert client.post(f"/configs/runs/{run.pk}/action/", {"action": "apply"}).status_code == 302
    assert "hx-trigger" in client.get(answer["Location"]).content.decode()  # queued: it polls
    db_worker_batch()
    page = client.get(answer["Location"]).content.decode()
    assert "1 applied" in page and "Undo this run" in page
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url.endswith("/v9")
    audit = client.get("/audit/").content.decode()
    assert f'<a href="/configs/runs/{run.pk}/">config run #{run.pk}</a>' in audit

    undo = client.post(f"/configs/runs/{run.pk}/action/", {"action": "undo"})
    undo_run = ConfigRun.objects.get(undo_of=run)
    assert undo["Location"] == f"/configs/runs/{undo_run.pk}/"
    db_worker_batch()
    client.post(f"/configs/runs/{undo_run.pk}/action/", {"action": "apply"})
    db_worker_batch()
    assert Domain.objects.get(name=TEAM_DOMAIN).config(RECORD).notify_url == original


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("", "Paste a document or choose a file."),
        ("domains: [", "neither YAML nor JSON"),
        ("domains: {}", "names no domain"),
    ],
)
def test_a_document_that_cannot_be_read_is_said_and_nothing_is_made(
    client, lead, synced, document, says
):
    client.force_login(lead)
    answer = client.post("/configs/plan/", {"document": document})
    assert answer.status_code == 400
    assert says in answer.content.decode()
    assert not ConfigRun.objects.exists()


def _twice(first: str, second: str, *, kind: str = "record") -> str:
    """A document naming one domain twice: a block copied down and edited, as people do."""
    return (
        f"domains:\n  {first}:\n    {kind}:\n      notify_url: https://hooks.example.org/a\n"
        f"  {second}:\n    {kind}: null\n"
    )


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (
            _twice(TEAM_DOMAIN, TEAM_DOMAIN),
            f"{TEAM_DOMAIN} is written twice in one mapping (line 5)",
        ),
        (
            _twice(TEAM_DOMAIN, TEAM_DOMAIN.upper()),
            f"{TEAM_DOMAIN} and {TEAM_DOMAIN.upper()} are one domain",
        ),
        (
            f'{{"domains": {{"{TEAM_DOMAIN}": {{"record": null, "record": {{}}}}}}}}',
            "record is written twice in one mapping (line 1)",
        ),
        # a key no database stores, twice: it was the page saying so that failed (a 500)
        ('{"domains": {}, "\\ud800": 1, "\\ud800": 2}', "\ufffd is written twice in one"),
    ],
    ids=["a-domain-twice", "in-another-case", "a-kind-twice-in-json", "a-lone-surrogate-twice"],
)
def test_a_document_naming_one_config_twice_is_refused_and_kept_for_fixing(
    client, lead, synced, document, says
):
    """JSON and YAML keep the last of two equal keys without a word: the first would have been
    dropped (or, in another case, both planned: a change and a deletion of one config)."""
    client.force_login(lead)
    answer = client.post("/configs/plan/", {"document": document})
    page = answer.content.decode()
    assert answer.status_code == 400 and says in page
    assert html.escape(document) in page  # what was pasted is kept, to fix
    assert not ConfigRun.objects.exists()


def test_a_domain_written_in_capitals_is_the_domain_and_merge_keys_may_be_overridden(
    client, lead, synced
):
    document = (
        "defaults: &hooks {notify_url: https://hooks.example.org/a, need_status_notify: true}\n"
        f"domains:\n  {TEAM_DOMAIN.upper()}:\n    record:\n      <<: *hooks\n"
        "      notify_url: https://hooks.example.org/b\n"
    )
    client.force_login(lead)
    assert client.post("/configs/plan/", {"document": document}).status_code == 302
    db_worker_batch()
    change = ConfigRun.objects.get().changes.get()
    assert (change.domain_name, change.action) == (TEAM_DOMAIN, "update")
    assert change.values["notify_url"] == "https://hooks.example.org/b"
    assert change.values["need_status_notify"] is True


def test_a_domain_written_in_its_own_script_is_the_domain_live_names_in_idna(client, lead, synced):
    """Live names 直播.example.cn `xn--z6ut02b.example.cn`; a document written as people write
    the name said "No such domain", and one naming both planned one config twice."""
    from dashboard.sandbox.models import SandboxDomain

    for model in (Domain, SandboxDomain):  # the dashboard's and Live's
        model.objects.filter(name=TEAM_DOMAIN).update(name="xn--z6ut02b.example.cn")
    client.force_login(lead)
    both = _twice("直播.example.cn", "xn--z6ut02b.example.cn")
    answer = client.post("/configs/plan/", {"document": both})
    assert answer.status_code == 400
    assert "直播.example.cn and xn--z6ut02b.example.cn are one domain" in answer.content.decode()
    document = (
        "domains:\n  直播.example.cn:\n    record: {notify_url: https://hooks.example.org/b}\n"
    )
    assert client.post("/configs/plan/", {"document": document}).status_code == 302
    db_worker_batch()
    change = ConfigRun.objects.get().changes.get()
    assert (change.domain_name, change.action) == ("xn--z6ut02b.example.cn", "update")


def test_someone_elses_run_is_refused_and_a_viewer_cannot_plan(
    client, lead, editor, viewer, synced
):
    client.force_login(editor)
    client.post("/configs/plan/", {"document": moved_document("https://hooks.example.org/e")})
    run = ConfigRun.objects.get()
    client.force_login(viewer)
    assert client.get(f"/configs/runs/{run.pk}/").status_code == 403
    assert client.post("/configs/plan/", {"document": "domains: {}"}).status_code == 403
    assert client.get("/configs/export.yaml").status_code == 200  # reading is for everyone
    client.force_login(lead)
    assert client.get(f"/configs/runs/{run.pk}/").status_code == 200  # leads see every run
    db_worker_batch()
    refused = client.post(f"/configs/runs/{run.pk}/action/", {"action": "apply"}, follow=True)
    assert "Only editor, who planned it, can apply this run." in refused.content.decode()
    assert ConfigRun.objects.get().state == "planned"  # a run applies as its planner, by them
    assert client.post(f"/configs/runs/{run.pk}/action/", {"action": "cancel"}).status_code == 302
    assert ConfigRun.objects.get().state == "cancelled"  # a lead may stop it


def test_export_downloads_the_document_without_keys(client, viewer, synced):
    client.force_login(viewer)
    answer = client.get("/configs/export.yaml", {"team": "Shop streaming"})
    assert answer["Content-Disposition"] == 'attachment; filename="live-callback-configs.yaml"'
    document = yaml.safe_load(answer.content)
    assert list(document["domains"]) == [TEAM_DOMAIN]
    assert OTHER_DOMAIN not in answer.content.decode()
    record = document["domains"][TEAM_DOMAIN]["record"]
    assert record["auth_key"] == "keep"
    assert set(record) <= {
        "notify_url",
        "on_demand_url",
        "need_status_notify",
        "notify_req_auth",
        "auth_key",
        "key_fingerprint",
        "revision",
    }
    assert client.get("/configs/export.xml").status_code == 404


def test_bulk_new_keys_are_planned_per_domain_and_never_shown(client, lead, synced):
    client.force_login(lead)
    domains = list(
        Domain.objects.filter(name__in=[TEAM_DOMAIN, OTHER_DOMAIN]).values_list("pk", flat=True)
    )
    answer = client.post("/configs/bulk/", {"domains": domains, "action": "sign_new_key"})
    assert answer.status_code == 302
    db_worker_batch()
    run = ConfigRun.objects.get()
    changes = list(run.changes.exclude(action="unchanged"))
    assert changes and all(c.new_key for c in changes)  # sealed, one each
    assert len({c.new_key for c in changes}) == len(changes)
    page = client.get(answer["Location"]).content.decode()
    assert "a new key" in page
    from dashboard.configs.sealing import unseal

    for c in changes:
        assert unseal(c.new_key) not in page and len(unseal(c.new_key)) == 32


def test_copying_a_domain_copies_what_it_has_and_preselects_by_name(client, lead, synced):
    client.force_login(lead)
    form = client.get("/configs/bulk/", {"domain": TEAM_DOMAIN}).content.decode()
    team = Domain.objects.get(name=TEAM_DOMAIN)
    assert re.search(rf'value="{team.pk}"[^>]*checked', form)
    source = Domain.objects.get(name=OTHER_DOMAIN)
    answer = client.post(
        "/configs/bulk/", {"domains": [team.pk], "action": "copy_from", "source": source.pk}
    )
    assert answer.status_code == 302
    db_worker_batch()
    run = ConfigRun.objects.get()
    copied = {c.kind: c for c in run.changes.all()}
    for kind in ("record", "snapshot"):
        if source.config(kind) is None:
            assert kind not in copied  # never a delete for what the source lacks
        else:
            assert copied[kind].after["notify_url"] == source.config(kind).notify_url
    assert not run.changes.filter(action="delete").exists()


def _applied_run(client, url: str) -> ConfigRun:
    """A document planned and applied through the pages: a finished run that can be undone."""
    assert client.post("/configs/plan/", {"document": moved_document(url)}).status_code == 302
    db_worker_batch()
    run = ConfigRun.objects.get()
    client.post(f"/configs/runs/{run.pk}/action/", {"action": "apply"})
    db_worker_batch()
    run.refresh_from_db()
    assert run.state == ConfigRun.State.DONE
    return run


def test_undo_pressed_again_finds_the_undo_already_planned(client, lead, synced):
    """Undo from two tabs (or after Back): one undo run, and the second press is taken to it.
    Two undo runs would both plan the same restore; applying the second only conflicts."""
    client.force_login(lead)
    run = _applied_run(client, "https://hooks.example.org/v10")
    first = client.post(f"/configs/runs/{run.pk}/action/", {"action": "undo"})
    undo = ConfigRun.objects.get(undo_of=run)
    assert first["Location"] == f"/configs/runs/{undo.pk}/"
    again = client.post(f"/configs/runs/{run.pk}/action/", {"action": "undo"}, follow=True)
    assert ConfigRun.objects.filter(undo_of=run).count() == 1
    assert again.redirect_chain[-1][0] == f"/configs/runs/{undo.pk}/"
    assert f"Run #{undo.pk}, planned by lead, already undoes this run" in again.content.decode()
    page = client.get(f"/configs/runs/{run.pk}/").content.decode()
    assert re.search(
        rf'id="undone-by">Its undo: <a href="/configs/runs/{undo.pk}/">run #{undo.pk}</a>', page
    )
    assert 'id="undo"' not in page  # the undo under way is linked instead
    back = client.get(f"/configs/runs/{undo.pk}/").content.decode()
    assert f'Restores what <a href="/configs/runs/{run.pk}/">run #{run.pk}</a> changed.' in back

    # once that undo is planned and discarded, Undo plans another
    db_worker_batch()
    client.post(f"/configs/runs/{undo.pk}/action/", {"action": "cancel"})
    client.post(f"/configs/runs/{run.pk}/action/", {"action": "undo"})
    assert ConfigRun.objects.filter(undo_of=run).count() == 2


def test_undo_sent_at_once_from_several_processes_and_the_api_plans_one(gunicorn, synced):
    """Two leads press Undo and a pipeline posts the API's undo, all at once on four server
    processes, made to meet at the run's row: one undo run; the others are told of it."""
    from django.test import Client

    from dashboard.api.tokens import token_create
    from tests.conftest import LEAD, make_user, sent_at_one_lock, signed_in_session

    lead = make_user("boss", LEAD)
    django_client = Client()
    django_client.force_login(lead)
    run = _applied_run(django_client, "https://hooks.example.org/v11")
    sessions = [signed_in_session(gunicorn, user) for user in (lead, make_user("lee", LEAD))]
    secret = token_create(user=lead, name="pipeline", days=7, may_change_configs=True)[1]

    def press(session):
        answer = session.post(f"/configs/runs/{run.pk}/action/", data={"action": "undo"})
        return "press", answer.status_code

    def call():
        import httpx

        answer = httpx.post(
            f"{gunicorn}/api/v1/configs/runs/{run.pk}/undo",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        return "api", answer.status_code

    sends = [lambda s=s: press(s) for s in sessions] + [call]
    answers = sent_at_one_lock("configs_configrun", [run.pk], *sends)
    for session in sessions:
        session.close()
    assert ConfigRun.objects.filter(undo_of=run).count() == 1, answers
    undo = ConfigRun.objects.get(undo_of=run)
    api = answers[-1][1]
    assert api in (202, 409), answers
    assert [a for a in answers if a[0] == "press"] == [("press", 302)] * 2
    if api == 409:  # one of the presses planned it: the API names that run
        assert undo.source == ConfigRun.Source.UNDO and undo.title.startswith("Undo of run")


def test_a_changes_fields_read_in_the_configs_order_on_either_database(client, lead, synced):
    """A plan that changes every field of a recording callback lists them in the config's own
    order, as does the audit log once applied. They were read in the stored JSON's key order:
    PostgreSQL's jsonb orders keys by their length, so the two databases listed them apart."""
    client.force_login(lead)
    document = yaml.safe_load(dump(export_document(names=[TEAM_DOMAIN])))
    record = document["domains"][TEAM_DOMAIN]["record"]
    record.update(
        notify_url="https://hooks.example.org/all",
        on_demand_url="https://hooks.example.org/on-demand",
        need_status_notify=not record["need_status_notify"],
        notify_req_auth=not record["notify_req_auth"],
        auth_key="keep" if record["notify_req_auth"] else "new",
    )
    answer = client.post("/configs/plan/", {"document": dump(document)})
    assert answer.status_code == 302
    db_worker_batch()
    page = client.get(answer["Location"]).content.decode()
    fields = re.findall(r'<li><span class="mono">(\w+)</span>:', page)
    assert fields[:4] == list(RECORD.fields)
    run = ConfigRun.objects.get()
    assert client.post(f"/configs/runs/{run.pk}/action/", {"action": "apply"}).status_code == 302
    db_worker_batch()
    audit = client.get(f"/audit/?domain={TEAM_DOMAIN}&action=update").content.decode()
    labels = re.findall(r'<span class="muted">([^<]+):</span>', audit)
    assert labels[:4] == ["Notify URL", "On-demand URL", "Status notifications", "Signed callbacks"]


def test_a_plan_against_an_upstream_answering_odd_text_says_so(client, lead, synced, receiver):
    """An upstream (or a proxy before it) refusing every read with a Code and a RequestId
    longer than any the Live API sends and a NUL in its Message: the plan's worker stored the
    refusal's words as they came, which PostgreSQL refuses. The plan says the refusal."""
    code, request_id = "Forbidden." + "Nested" * 40, "R" * 90
    receiver.status = 403
    receiver.body = json.dumps(
        {"Code": code, "Message": "no\u0000way", "RequestId": request_id}
    ).encode()
    client.force_login(lead)
    answer = client.post(
        "/configs/plan/", {"document": moved_document("https://hooks.example.org/odd")}
    )
    assert answer.status_code == 302
    db_worker_batch(
        process_env(
            LIVE_API_ENDPOINT=f"http://127.0.0.1:{receiver.port}",
            ALIBABA_CLOUD_ACCESS_KEY_ID="test-key-id",
            ALIBABA_CLOUD_ACCESS_KEY_SECRET="test-key-secret",
        )
    )
    run = ConfigRun.objects.get()
    page = client.get(answer["Location"])
    body = html.unescape(page.content.decode())
    assert page.status_code == 200 and run.state == ConfigRun.State.PLANNED, run.message
    print(body[body.find("<main") :][:3000])
    assert code in body and request_id in body and "no\ufffdway" in body


def test_a_run_whose_planning_failed_says_so_in_the_readers_language(client, lead, synced):
    """The worker wrote "Planning failed; see the server log." in English, and a Chinese
    page showed it so."""
    client.force_login(lead)
    answer = client.post(
        "/configs/plan/", {"document": moved_document("https://hooks.example.org/v9")}
    )
    ConfigRun.objects.update(desired={"wanted": "not a list of configs"})  # a planner bug
    db_worker_batch()
    run = ConfigRun.objects.get()
    assert run.state == ConfigRun.State.FAILED
    client.cookies["django_language"] = "zh-hans"
    page = client.get(answer["Location"]).content.decode()
    assert "规划失败；请查看服务器日志。" in page and "Planning failed" not in page
