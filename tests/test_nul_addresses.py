"""U+0000 in an address: every page and the API answer a 400 that names where it was, before
any view reads it. PostgreSQL refuses NUL in a query; the configs export (`?team=`), the bulk
form (`?domain=`), a stream's timeline (its path) and the API (`?team=`, `?domain=`) were 500s.
"""

from __future__ import annotations

import pytest

from dashboard.api.tokens import token_create
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PAGES = [
    "/domains/",
    f"/domains/{TEAM_DOMAIN}/",
    f"/domains/{TEAM_DOMAIN}/record/edit/",
    "/audit/",
    "/people/",
    "/people/add/",
    "/people/groups/",
    "/tools/signature/",
    "/records/",
    "/records/export.csv",
    "/records/overview/",
    "/records/streams/live/cam1/",
    "/records/streams/",
    "/records/exports/",
    "/records/exports/new/",
    "/search/",
    "/incidents/",
    "/alerts/",
    "/alerts/new/",
    "/redelivery/",
    "/redelivery/new/",
    "/configs/",
    "/configs/export.yaml",
    "/configs/export.json",
    "/configs/bulk/",
    "/account/",
    "/account/tokens/",
]
API = [
    "/api/v1/domains",
    f"/api/v1/domains/{TEAM_DOMAIN}",
    "/api/v1/records",
    "/api/v1/incidents",
    "/api/v1/configs/export",
    "/api/v1/configs/runs",
    "/api/v1/streams/timeline",
    "/api/v1/streams/live/cam1/timeline",
]
NAMES = ["q", "team", "domain", "app", "stream", "at", "name", "window", "sort", "page", "next"]


@pytest.mark.parametrize("path", PAGES)
def test_a_nul_in_a_page_address_is_a_400_that_says_where(client, lead, synced, path):
    client.force_login(lead)
    for name in NAMES:
        answer = client.get(path, {name: "a\x00b", "other": "fine"})
        assert answer.status_code == 400, (name, answer.status_code)
        assert f"In the address, “{name}” contains a NUL character" in answer.content.decode()
    answer = client.get(path, {"a\x00b": "1"})  # in a parameter's name
    assert answer.status_code == 400 and "“a\ufffdb”" in answer.content.decode()
    assert client.get(path, {"q": "cam\u0001 \u202e\ufeff"}).status_code < 500


@pytest.mark.parametrize(
    "path", ["/records/streams/live%00/cam1/", "/records/streams/live/c%00m/", "/records/9%00/"]
)
def test_a_nul_in_a_path_is_a_400_or_no_such_page(client, lead, synced, path):
    client.force_login(lead)
    answer = client.get(path)
    assert answer.status_code in (400, 404)
    if answer.status_code == 400:
        assert "NUL character (U+0000) in its path" in answer.content.decode()


@pytest.mark.parametrize("path", API)
def test_a_nul_in_an_api_address_is_a_json_400(client, lead, synced, path):
    _token, secret = token_create(user=lead, name="nul", days=7)
    for name in NAMES:
        answer = client.get(
            path,
            {name: "a\x00b", "app": "live", "stream": "cam1"} | {name: "a\x00b"},
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert answer.status_code == 400, (name, answer.content[:200])
        assert "contains a NUL character" in answer.json()["detail"]
    answer = client.get(path.replace("cam1", "c%00m"), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code < 500


def test_signing_in_and_a_role_come_before_the_address(client, synced):
    answer = client.get("/configs/export.yaml", {"team": "\x00"})
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    client.force_login(make_user("nobody", None))
    answer = client.get("/configs/export.yaml", {"team": "\x00"})
    assert answer.status_code == 403 and "You have no access yet" in answer.content.decode()


def test_the_message_is_in_the_readers_language(client, lead, synced):
    client.force_login(lead)
    answer = client.get("/configs/bulk/", {"domain": "\x00"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400 and "包含 NUL 字符" in answer.content.decode()
