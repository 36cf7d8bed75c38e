"""No link a person is shown leads to a refusal: a viewer was shown *Bulk change* (403), and
*Records* as it opens offered *Export CSV…* to a 400 page. Every internal link on the main
pages, followed as each role, answers without a refusal or an error."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

START = [
    "/domains/",
    "/records/",
    "/records/overview/",
    "/incidents/",
    "/alerts/",
    "/redelivery/",
    "/configs/",
    "/tools/signature/",
    "/account/",
]
LINK = re.compile(r'<a\b[^>]*\bhref="(/[^"#]*)"')
NOT_PAGES = ("/static/", "/accounts/logout/", "/i18n/")


def shape(url: str) -> str:
    """Links to pages alike (each record's, each domain's edit form) are followed once."""
    path, _, query = url.partition("?")
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(sorted(re.findall(r"(\w+)=", query))))


@pytest.mark.parametrize("who", ["viewer", "editor", "lead"])
def test_no_link_a_person_is_shown_leads_to_a_refusal(client, archived, request, settings, who):
    settings.EXPORT_DIRECT_ROWS = 10  # *Export CSV…* opens the export's page, not a download
    client.force_login(request.getfixturevalue(who))
    seen, refused = set(), []
    for start in START:
        page = client.get(start)
        assert page.status_code == 200, start
        for href in LINK.findall(page.content.decode()):
            url = html.unescape(href)
            if url.startswith(NOT_PAGES) or shape(url) in seen:
                continue
            seen.add(shape(url))
            answer = client.get(url)
            if answer.status_code >= 400:
                refused.append((start, url, answer.status_code))
    assert len(seen) > 30
    assert refused == []
