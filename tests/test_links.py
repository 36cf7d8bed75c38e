"""No link a person is shown leads to a refusal: a viewer was shown *Bulk change* (403), and
*Records* as it opens offered *Export CSV…* to a 400 page. Every internal link on the main
pages, followed as each role, answers without a refusal or an error."""

from __future__ import annotations

import html
import re

import pytest

from dashboard.domains.models import Domain
from tests.alerts.conftest import make_rule
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN, make_user

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
LEADS_TOO = ["/audit/", "/people/", "/people/groups/", "/configs/bulk/", "/alerts/new/"]


def shape(url: str) -> str:
    """Links to pages alike (each record's, each domain's edit form) are followed once."""
    path, _, query = url.partition("?")
    return re.sub(r"\d+", "N", path) + ("?" + "&".join(sorted(re.findall(r"(\w+)=", query))))


@pytest.mark.parametrize("who", ["viewer", "editor", "lead"])
def test_no_link_a_person_is_shown_leads_to_a_refusal(client, archived, request, settings, who):
    settings.EXPORT_DIRECT_ROWS = 10  # *Export CSV…* opens the export's page, not a download
    user = request.getfixturevalue(who)
    domain = Domain.objects.get(name=TEAM_DOMAIN)
    make_rule(domain, created_by=user)  # a rule's pages too (its team's editor may change it)
    client.force_login(user)
    start = START + (LEADS_TOO if who == "lead" else [])
    seen, refused = {shape(url) for url in start}, []
    pages = [(None, url) for url in start]  # (the page linking to it, the page)
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


def test_someone_without_a_role_is_shown_no_link_they_cannot_follow(client, archived, lead):
    """Signed in through the directory before a lead mapped their group: every link they are
    shown opens their account or the page saying they have no role yet and whom to ask."""
    client.force_login(make_user("newcomer", None))
    answers = {}
    for start in ("/account/", "/domains/"):
        page = client.get(start)
        for href in set(LINK.findall(page.content.decode())):
            target = html.unescape(href)
            if target.startswith("?"):
                target = start + target
            if not target.startswith(NOT_PAGES):
                answer = client.get(target)
                body = answer.content.decode()
                told = "You have no access yet" in body and "Ask one of these leads" in body
                answers[target] = answer.status_code == 200 or (answer.status_code == 403 and told)
    assert len(answers) >= 2 and all(answers.values()), answers
