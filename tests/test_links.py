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
LINK = re.compile(r'<a\b[^>]*\bhref="([/?][^"#]*)[^"]*"')  # a path, or a query on this page
NOT_PAGES = ("/static/", "/accounts/logout/", "/i18n/")


def shape(url: str) -> str:
    """Links to pages alike (each record's, each domain's edit form) are followed once."""
    path, _, query = url.partition("?")
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(sorted(re.findall(r"(\w+)=", query))))


@pytest.mark.parametrize("who", ["viewer", "editor", "lead"])
def test_no_link_a_person_is_shown_leads_to_a_refusal(client, archived, request, settings, who):
    settings.EXPORT_DIRECT_ROWS = 10  # *Export CSV…* opens the export's page, not a download
    client.force_login(request.getfixturevalue(who))
    seen, refused = {shape(url) for url in START}, []
    pages = [(None, url) for url in START]  # (the page linking to it, the page)
    for _depth in range(2):  # the main pages, what they link to, and what that links to
        linked = []
        for origin, url in pages:
            answer = client.get(url)
            if answer.status_code >= 400:
                refused.append((origin, url, answer.status_code))
                continue
            if not answer["Content-Type"].startswith("text/html"):
                continue  # a download
            for href in LINK.findall(answer.content.decode()):
                target = html.unescape(href)
                if target.startswith("?"):
                    target = url.partition("?")[0] + target
                if not target.startswith(NOT_PAGES) and shape(target) not in seen:
                    seen.add(shape(target))
                    linked.append((url, target))
        pages = linked
    for origin, url in pages:  # the last level: followed, not read
        status = client.get(url).status_code
        if status >= 400:
            refused.append((origin, url, status))
    assert len(seen) > 40
    assert refused == []
