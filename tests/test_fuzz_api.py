"""Hostile input at the API: every query and path parameter and the configs-as-code document.

Never a 500; what is refused is a 4xx with a JSON `detail` that says why."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.api.tokens import token_create
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN
from tests.test_fuzz import FUZZ, params, text

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def api(client, lead, synced):
    _token, secret = token_create(user=lead, name="fuzz", days=7, may_change_configs=True)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def check(response):
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        assert json.loads(response.content)["detail"]


@FUZZ
@given(
    query=params(
        [
            "domain",
            "app",
            "stream",
            "status",
            "type",
            "failure",
            "http",
            "q",
            "param",
            "window",
            "start",
            "end",
            "cursor",
            "size",
        ]
    )
)
def test_records(api, query):
    check(api.get("/api/v1/records", query))


@FUZZ
@given(query=params(["state", "domain", "limit"]), team=text)
def test_incidents_and_domains(api, query, team):
    check(api.get("/api/v1/incidents", query))
    check(api.get("/api/v1/domains", {"team": team}))
    check(api.get("/api/v1/configs/export", {"team": team, "format": query.get("state", "")}))


@FUZZ
@given(name=text, app=text, stream=text, window=text)
def test_path_parameters(api, name, app, stream, window):
    for path in (
        f"/api/v1/domains/{quote(name, safe='')}",
        f"/api/v1/records/{quote(name, safe='')}",
        f"/api/v1/configs/runs/{quote(name, safe='')}",
        f"/api/v1/streams/{quote(app, safe='')}/{quote(stream, safe='')}/timeline",
    ):
        check(api.get(path, {"window": window}))
    check(api.get("/api/v1/streams/timeline", {"app": app, "stream": stream, "window": window}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(
    document=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"domains": st.dictionaries(st.sampled_from([TEAM_DOMAIN]) | text, json_values)}
        ),
    ),
    title=text,
)
def test_config_document(api, document, title):
    check(
        api.post(
            "/api/v1/configs/runs?" + "title=" + quote(title, safe=""),
            json.dumps(document),
            content_type="application/json",
        )
    )
