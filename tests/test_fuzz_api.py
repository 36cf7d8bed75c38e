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
from tests.test_fuzz import FUZZ, RECORD_FILTERS, params, text

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
@given(query=params([*RECORD_FILTERS, "cursor"]))
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


def _cursor(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("9999-12-31T23:59:59+14:00|99999999999999999999999"),
        _cursor("0001-01-01T00:00:00-12:00|-99999999999999999999999"),
        _cursor("2026-12-05T10:00:00+00:00|" + "9" * 5000),
        _cursor("2026-12-05T10:00:00|1"),  # a time without its zone
        _cursor("2026-12-05T10:00:00+00:00\x00|1"),
        _cursor("|"),
        "!!!",
    ],
)
def test_a_made_up_cursor_is_a_page_or_a_400(api, cursor):
    """A cursor is the API's own (a time and an id): one made up at the ends of the calendar
    or of the integers reads an empty page or is refused, never a 500."""
    answer = api.get("/api/v1/records", {"cursor": cursor, "window": "90d"})
    check(answer)
    if answer.status_code == 200:
        assert isinstance(answer.json()["records"], list)
