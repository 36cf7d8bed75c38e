"""The read API with personal access tokens: made and revoked on the account page, refused when
revoked, expired, or its person is off or without a role; domains, records (cursor pages),
a record, incidents, a timeline; the OpenAPI schema and the docs page."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from django.utils import timezone

from dashboard.accounts.roles import VIEWER
from dashboard.api.models import AccessToken
from dashboard.api.tokens import token_create
from dashboard.archive.models import ArchivedRecord
from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from dashboard.domains.selectors import domain_families
from dashboard.incidents.models import Incident
from tests.conftest import ALL_DATABASES, OTHER_DOMAIN, TEAM_DOMAIN, hidden_value, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _forged(raw: str) -> str:
    """A cursor made by hand, in the shape the API gives (base64 of `moment|id`)."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_token_is_made_shown_once_kept_hashed_and_revoked(client, viewer, synced):
    client.force_login(viewer)
    page = client.post("/account/tokens/", {"name": "nightly report", "days": "30"})
    assert page.status_code == 200
    secret = re.search(r'id="token-secret">(lcd_[\w-]+)<', page.content.decode()).group(1)
    token = AccessToken.objects.get()
    assert secret not in str(list(AccessToken.objects.values()))  # only a hash and a prefix
    assert token.digest != secret and len(token.digest) == 64
    assert secret not in client.get("/account/tokens/").content.decode()  # never again
    client.logout()

    assert client.get("/api/v1/domains", **bearer(secret)).status_code == 200
    assert AccessToken.objects.get().last_used_at is not None

    client.force_login(viewer)
    client.post(f"/account/tokens/{token.pk}/revoke/")
    client.logout()
    assert client.get("/api/v1/domains", **bearer(secret)).status_code == 401
    actions = list(
        AuditEntry.objects.filter(kind=AuditEntry.Kind.TOKEN)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.ADD, AuditEntry.Action.DELETE]
    assert secret not in str(list(AuditEntry.objects.values_list("after", "before")))


def test_a_token_form_sent_twice_makes_one_token(client, viewer, synced):
    """The page that shows a new token's secret answers a POST: reloading it (the browser asks,
    people press Continue) or the same form sent from a second tab made a second token, whose
    secret scrolled by, valid for a month in no one's hands. Sent again, nothing is made and the
    page says what was; pressed once more, it makes a second token, as asked."""
    client.force_login(viewer)
    form = {"name": "nightly report", "days": "30"}
    form["after"] = hidden_value(client.get("/account/tokens/").content.decode(), "after")
    first = client.post("/account/tokens/", form)
    assert first.status_code == 200 and 'id="token-secret"' in first.content.decode()
    made = AccessToken.objects.get()

    again = client.post("/account/tokens/", form)  # the reload
    page = again.content.decode()
    assert again.status_code == 409 and 'id="token-secret"' not in page
    assert "Nothing was made: a token of this name was made after this page was opened" in page
    assert f"“nightly report” ({made.prefix}…) was made at" in page
    assert AccessToken.objects.count() == 1
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.TOKEN).count() == 1
    assert 'value="nightly report"' in page  # what was typed is kept

    # another name from the same old page is another token; this page pressed again, a second
    assert client.post("/account/tokens/", {**form, "name": "ci"}).status_code == 200
    second = client.post("/account/tokens/", {**form, "after": hidden_value(page, "after")})
    assert second.status_code == 200 and 'id="token-secret"' in second.content.decode()
    assert sorted(AccessToken.objects.values_list("name", flat=True)) == [
        "ci",
        "nightly report",
        "nightly report",
    ]
    # a token revoked since does not count as made: its name may be made again at once
    AccessToken.objects.update(revoked_at=timezone.now())
    assert client.post("/account/tokens/", form).status_code == 200


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_one_token_form_sent_from_two_processes_at_once_makes_one(viewer, gunicorn):
    from tests.conftest import sent_at_one_lock, signed_in_session

    sessions = [signed_in_session(gunicorn, viewer) for _ in range(2)]
    after = hidden_value(sessions[0].get("/account/tokens/").text, "after")
    form = {"name": "nightly report", "days": "30", "after": after}
    answers = sent_at_one_lock(
        "auth_user",
        [viewer.pk],
        *[lambda s=s: s.post("/account/tokens/", data=form) for s in sessions],
    )
    for session in sessions:
        session.close()
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert AccessToken.objects.count() == 1


@pytest.mark.parametrize(
    "name", ["nightly\r\nreport", "tab\there", "nul\x00", "sep\u2028x", "nightly \u202etroper"]
)
def test_a_token_name_of_more_than_one_line_is_refused_and_nothing_made(client, viewer, name):
    client.force_login(viewer)
    answer = client.post("/account/tokens/", {"name": name, "days": "30"})
    assert answer.status_code == 400
    assert "Use one line of text" in answer.content.decode() or "Null characters" in (
        answer.content.decode()
    )
    assert not AccessToken.objects.exists() and not AuditEntry.objects.exists()


def test_someone_elses_token_cannot_be_revoked(client, viewer, lead, synced):
    token, _secret = token_create(user=lead, name="lead's", days=7)
    client.force_login(viewer)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert AccessToken.objects.get().revoked_at is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer ",
        "Bearer lcd_not-a-token",
        "Token lcd_x",
        "Bearer " + "lcd_" + "a" * 500,
        "Bearer lcd_\x00\r\nX: y",
    ],
)
def test_no_token_or_a_wrong_one_is_refused(client, synced, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    answer = client.get("/api/v1/domains", **kwargs)
    assert answer.status_code == 401
    assert answer["Content-Type"].startswith("application/json")


def test_expired_turned_off_and_roleless_tokens_are_refused(client, viewer, synced):
    token, secret = token_create(user=viewer, name="t", days=7)
    assert client.get("/api/v1/domains", **bearer(secret)).status_code == 200
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    assert client.get("/api/v1/domains", **bearer(secret)).status_code == 401
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + dt.timedelta(1))
    viewer.is_active = False
    viewer.save()
    assert client.get("/api/v1/domains", **bearer(secret)).status_code == 401
    nobody = make_user("nobody", None)
    _t, roleless = token_create(user=nobody, name="t", days=7)
    assert client.get("/api/v1/domains", **bearer(roleless)).status_code == 401


def test_a_token_reads_the_api_only_never_the_pages_or_writes(client, viewer, synced):
    _t, secret = token_create(user=viewer, name="t", days=7)
    page = client.get("/domains/", **bearer(secret))
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert client.post("/api/v1/domains", **bearer(secret)).status_code == 405


def test_domains_and_their_configs_without_keys(client, archived):
    user = make_user("reader", VIEWER)
    _t, secret = token_create(user=user, name="t", days=7)
    answer = client.get("/api/v1/domains", **bearer(secret))
    domains = {d["name"]: d for d in answer.json()}
    shop = domains[TEAM_DOMAIN]
    assert shop["team"] == "Shop streaming"
    record = shop["configs"]["record"]
    assert record["notify_url"].startswith("https://") and isinstance(record["key_set"], bool)
    assert "auth_key" not in answer.content.decode()
    # which ingest domain feeds it, both ways
    assert shop["mapped"] == ["push.example-shop.com"]
    assert domains["push.example-shop.com"]["mapped"] == [TEAM_DOMAIN]
    assert domains["live.fitclass.cn"]["mapped"] == []
    one = client.get(f"/api/v1/domains/{TEAM_DOMAIN.upper()}", **bearer(secret))
    assert one.json()["name"] == TEAM_DOMAIN
    assert client.get("/api/v1/domains/nosuch.example", **bearer(secret)).status_code == 404
    # a name in its own script is the one Live carries in IDNA form
    Domain.objects.filter(name="live.fitclass.cn").update(name="xn--z6ut02b.example.cn")
    written = client.get("/api/v1/domains/直播.example.cn", **bearer(secret))
    assert written.status_code == 200 and written.json()["name"] == "xn--z6ut02b.example.cn"


def test_records_page_by_cursor_without_gaps_or_repeats(client, archived):
    user = make_user("reader", VIEWER)
    _t, secret = token_create(user=user, name="t", days=7)
    expected = list(
        ArchivedRecord.objects.filter(
            domain_name=TEAM_DOMAIN, notify_time__gte=timezone.now() - dt.timedelta(days=7)
        )
        .order_by("-notify_time", "-id")
        .values_list("id", flat=True)
    )
    assert len(expected) > 25
    seen, cursor = [], ""
    while True:
        params = {"domain": TEAM_DOMAIN, "window": "7d", "size": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/records", params, **bearer(secret)).json()
        seen += [r["id"] for r in page["records"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected
    one = client.get(f"/api/v1/records/{expected[0]}", **bearer(secret)).json()
    assert one["id"] == expected[0] and "content" in one
    failed = client.get(
        "/api/v1/records", {"domain": TEAM_DOMAIN, "status": "failed"}, **bearer(secret)
    ).json()
    assert all(r["result"] == "failed" for r in failed["records"])
    # the header search's "app or stream", any part or (in quotes) the name exactly
    stream = ArchivedRecord.objects.filter(domain_name=TEAM_DOMAIN).first().stream_name
    for name, holds in ((stream[1:], stream[1:]), (f'"{stream}"', stream)):
        found = client.get(
            "/api/v1/records",
            {"domain": TEAM_DOMAIN, "window": "7d", "name": name, "size": 500},
            **bearer(secret),
        ).json()["records"]
        assert found and all(holds in r["app"] or holds in r["stream"] for r in found)
        if name.startswith('"'):
            assert {r["stream"] for r in found} == {stream}
    # the records of one receiver (the host the callbacks went to)
    hosts = ArchivedRecord.objects.filter(domain_name=TEAM_DOMAIN).values("receiver_host")
    host = hosts.order_by("receiver_host").first()["receiver_host"]
    received = client.get(
        "/api/v1/records",
        {"domain": TEAM_DOMAIN, "window": "7d", "receiver": host, "size": 500},
        **bearer(secret),
    ).json()["records"]
    assert received and {r["id"] for r in received} == set(
        ArchivedRecord.objects.filter(
            domain_name=TEAM_DOMAIN,
            receiver_host=host,
            notify_time__gte=timezone.now() - dt.timedelta(days=7),
        )
        .order_by("-notify_time", "-id")
        .values_list("id", flat=True)[:500]
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"size": 0}, "size"),
        ({"size": 501}, "size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        # forged: a year-1 moment east of UTC (before year 1 in UTC: was a 500 on SQLite),
        # an id beyond any row's
        ({"cursor": _forged("0001-01-01T00:00:00+14:00|1")}, "cursor"),
        ({"cursor": _forged("2026-01-01T00:00:00+00:00|99999999999999999999")}, "cursor"),
        ({"window": "1000y"}, "window"),
        ({"status": "missing"}, "status"),
        ({"start": "9999-99-99"}, "start"),
    ],
)
def test_bad_record_queries_say_what_is_wrong(client, viewer, synced, params, says):
    _t, secret = token_create(user=viewer, name="t", days=7)
    answer = client.get("/api/v1/records", params, **bearer(secret))
    assert answer.status_code == 400
    assert says in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "unknown", "takes"),
    [
        # the names a script writer reaches for first: the day's default would come back
        ("/api/v1/records", {"since": "2026-01-01", "domain": TEAM_DOMAIN}, "since", "start"),
        ("/api/v1/records", {"limit": "500"}, "limit", "size"),  # /incidents says limit
        ("/api/v1/incidents", {"size": "5", "stat": "open"}, "size, stat", "limit"),
        ("/api/v1/domains", {"teams": "Shop streaming"}, "teams", "team"),
        (f"/api/v1/domains/{TEAM_DOMAIN}", {"kind": "record"}, "kind", "none"),
        ("/api/v1/configs/runs", {"page": "2"}, "page", "limit"),
    ],
)
def test_a_query_parameter_an_endpoint_does_not_take_is_refused_by_name(
    client, archived, path, params, unknown, takes
):
    """`/records?since=…` answered the last 24 hours, `?limit=500` a page of 50: a script
    could not tell its filter was never read. Now a 400 names the parameter and what the
    endpoint takes (its path's own names are not among them)."""
    user = make_user("reader", VIEWER)
    _t, secret = token_create(user=user, name="t", days=7)
    answer = client.get(path, params, **bearer(secret))
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert detail.startswith(f"Unknown query parameter: {unknown}. This endpoint takes: ")
    listed = detail.split("takes: ")[1].rstrip(".").split(", ")
    assert takes in listed
    if path.startswith("/api/v1/domains/"):  # its path's own {name} is not a query parameter
        assert "name" not in listed
    # the same query with only what it takes is answered
    known = {k: v for k, v in params.items() if k not in unknown.split(", ")}
    assert client.get(path, known, **bearer(secret)).status_code == 200


def test_a_query_parameter_given_twice_is_refused_not_read_as_its_last(client, archived):
    """`domain=a&domain=b` answered b's records alone: a script asking for two domains got
    one and could not tell."""
    user = make_user("reader", VIEWER)
    _t, secret = token_create(user=user, name="t", days=7)
    query = f"domain={TEAM_DOMAIN}&domain={OTHER_DOMAIN}&status=failed"
    answer = client.get(f"/api/v1/records?{query}", **bearer(secret))
    assert answer.status_code == 400
    assert answer.json()["detail"] == "Given more than once: domain. Each takes one value."
    once = client.get(f"/api/v1/records?domain={TEAM_DOMAIN}&status=failed", **bearer(secret))
    assert once.status_code == 200


def _domains_of(app: str, stream: str) -> set[str]:
    rows = ArchivedRecord.objects.filter(app_name=app, stream_name=stream)
    return set(rows.values_list("domain_name", flat=True))


def test_incidents_and_a_timeline(client, archived):
    user = make_user("reader", VIEWER)
    _t, secret = token_create(user=user, name="t", days=7)
    incidents = client.get("/api/v1/incidents", {"limit": 5}, **bearer(secret))
    assert incidents.status_code == 200 and len(incidents.json()) <= 5
    assert client.get("/api/v1/incidents", {"state": "x"}, **bearer(secret)).status_code == 400
    # one muted until an hour ago is open, to a script as on the page
    now = timezone.now()
    ran_out = Incident.objects.create(
        domain=Domain.objects.get(name=TEAM_DOMAIN),
        receiver_host="api-test.example",
        failure_class="timeout",
        key="api-test|timeout",
        state=Incident.State.MUTED,
        muted_until=now - dt.timedelta(hours=1),
        first_seen=now - dt.timedelta(hours=3),
        last_seen=now - dt.timedelta(hours=2),
    )
    query = {"state": "open", "domain": ran_out.domain.name, "limit": 500}
    listed = {
        i["id"]: i["state"] for i in client.get("/api/v1/incidents", query, **bearer(secret)).json()
    }
    assert listed[ran_out.pk] == "open"
    query["state"] = "muted"
    muted = client.get("/api/v1/incidents", query, **bearer(secret)).json()
    assert ran_out.pk not in {i["id"] for i in muted}
    # a record of names the demo uses on unrelated domains (its background traffic's; the
    # pushed streams' names are on one family: the newest record, at some minutes of the day)
    record = next(
        r
        for r in ArchivedRecord.objects.exclude(stream_name="").order_by("-notify_time")[:500]
        if len(domain_families(_domains_of(r.app_name, r.stream_name))) > 1
    )
    timeline = client.get(
        f"/api/v1/streams/{record.app_name}/{record.stream_name}/timeline",
        {"window": "7d", "domain": record.domain_name},
        **bearer(secret),
    ).json()
    assert timeline["callbacks"] >= 1 and timeline["sessions"]
    assert record.domain_name in timeline["domains"]
    assert set(timeline["domains"]) <= set(timeline["family"])  # its domain's family only
    # the demo's stream names are on unrelated domains: which one is asked, not guessed
    unnamed = client.get(
        f"/api/v1/streams/{record.app_name}/{record.stream_name}/timeline",
        {"window": "7d"},
        **bearer(secret),
    )
    assert unnamed.status_code == 409 and "name one with domain=" in unnamed.json()["detail"]
    assert record.domain_name in unnamed.json()["detail"]
    nowhere = client.get(
        f"/api/v1/streams/{record.app_name}/{record.stream_name}/timeline",
        {"domain": "no-such.example.com"},
        **bearer(secret),
    )
    assert nowhere.status_code == 404
    named = client.get(
        "/api/v1/streams/timeline",
        {
            "app": record.app_name,
            "stream": record.stream_name,
            "window": "7d",
            "domain": record.domain_name,
        },
        **bearer(secret),
    ).json()
    # the same page by query (for names with a slash); its window moved on a little since
    assert (named["app"], named["stream"], named["window"]) == (
        record.app_name,
        record.stream_name,
        "7d",
    )
    assert named["callbacks"] >= 1 and record.domain_name in named["domains"]
    for bad in ({"app": "live"}, {"app": "live", "stream": "a\x00b"}):
        assert client.get("/api/v1/streams/timeline", bad, **bearer(secret)).status_code in (
            400,
            422,
        )


def test_the_openapi_schema_and_the_docs_page(client, viewer, synced):
    schema = client.get("/api/v1/schema").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/domains", "/api/v1/records", "/api/v1/incidents"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    client.force_login(viewer)
    docs = client.get("/api/v1/docs").content.decode()
    assert "/api/v1/records/{record_id}" in docs and "RecordDetailOut" in docs
    assert re.search(r'<span class="mono">next_cursor</span>: string or null', docs)
    assert re.search(r'<span class="mono">records</span>: list of RecordOut', docs)
