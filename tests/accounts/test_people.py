"""Leads add people and set their role and teams; nobody grants a role above their own."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User

from dashboard.accounts.roles import EDITOR, role_of
from dashboard.audit.models import AuditEntry
from tests.conftest import ALL_DATABASES, held_rows, hidden_value, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
NEW_PASSWORD = "an-initial-password-77"


def test_a_lead_adds_a_viewer_who_can_then_sign_in(client, lead, synced):
    client.force_login(lead)
    response = client.post(
        "/people/add/",
        {
            "username": "newbie",
            "first_name": "Nina",
            "last_name": "New",
            "email": "nina@example.com",
            "role": "Viewer",
            "teams": [synced["team"].pk],
            "password": NEW_PASSWORD,
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/people/"
    newbie = User.objects.get(username="newbie")
    assert role_of(newbie) == "Viewer" and list(newbie.teams.all()) == [synced["team"]]
    entry = AuditEntry.objects.get(kind="person")
    assert entry.actor == lead and entry.after["username"] == "newbie"
    assert entry.after["role"] == "Viewer" and NEW_PASSWORD not in str(entry.after)
    client.logout()
    signed_in = client.post(
        "/accounts/login/", {"username": "newbie", "password": NEW_PASSWORD}, follow=True
    )
    assert "Viewer" in signed_in.content.decode()


def test_a_lead_changes_a_role_and_it_is_audited(client, lead, viewer):
    client.force_login(lead)
    response = client.post(
        f"/people/{viewer.pk}/", {"role": "Editor", "first_name": "Sam", "is_active": "on"}
    )
    assert response.status_code == 302
    assert role_of(User.objects.get(pk=viewer.pk)) == "Editor"
    entry = AuditEntry.objects.get(kind="person", action="role")
    assert entry.before["role"] == "Viewer" and entry.after["role"] == "Editor"


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", ["Sam\r\nAdmin: yes", "Sam \u202enimdA"])  # a bidi override
def test_a_name_of_more_than_one_line_is_refused_and_nothing_changes(
    client, lead, viewer, field, name
):
    client.force_login(lead)
    before = getattr(viewer, field)
    form = {"role": "Viewer", "is_active": "on", field: name}
    response = client.post(f"/people/{viewer.pk}/", form)
    assert response.status_code == 400
    assert "Use one line of text" in response.content.decode()
    assert getattr(User.objects.get(pk=viewer.pk), field) == before
    assert not AuditEntry.objects.filter(kind="person").exists()


def test_nobody_grants_a_role_above_their_own(client, synced):
    """Permissions come with roles only: a permission granted to one person directly (as the
    admin once allowed) gives an editor no way to manage people, let alone make a lead."""
    manager = make_user("manager", EDITOR)
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["change_user"]))
    target = make_user("someone", None)
    client.force_login(manager)
    assert client.get(f"/people/{target.pk}/").status_code == 403
    response = client.post(f"/people/{target.pk}/", {"role": "Lead", "is_active": "on"})
    assert response.status_code == 403
    assert role_of(User.objects.get(pk=target.pk)) is None


def test_a_lead_cannot_change_an_administrator(client, lead):
    admin = User.objects.create_superuser("root", "root@example.com", "x" * 20)
    client.force_login(lead)
    response = client.post(f"/people/{admin.pk}/", {"role": "Viewer", "is_active": "on"})
    assert response.status_code == 400
    assert "Only an administrator can change an administrator." in response.content.decode()
    assert User.objects.get(pk=admin.pk).is_superuser


def test_weak_or_taken_user_names_and_passwords_are_refused_with_messages(client, lead, viewer):
    client.force_login(lead)
    response = client.post(
        "/people/add/", {"username": "SUPPORT", "password": "123", "role": "Viewer"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Someone already has this user name: support." in body and "too short" in body
    assert User.objects.count() == 2  # nothing half-written


@pytest.mark.parametrize(
    ("taken", "wanted"),
    [
        ("victim", "ｖｉｃｔｉｍ"),  # full-width: saved as `victim` (an IntegrityError, a 500)
        ("victim", "𝐯𝐢𝐜𝐭𝐢𝐦"),  # mathematical bold: the same
        ("victim", "Ｖｉｃｔｉｍ"),  # saved as `Victim`: a second account signing in as one
        ("straße", "STRASSE"),  # case-folded alike
        ("ǅemal", "ǆemal"),  # title case
        # reads the same: letters of other scripts drawn as Latin ones (was a second account
        # that the people list and the audit log showed as `lead`)
        ("dana", "d\u0430n\u0430"),  # Cyrillic а
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l"),  # Cyrillic р а у
        ("root", "r\u03bf\u03bft"),  # Greek ο
    ],
)
def test_a_user_name_that_signs_in_as_someone_elses_is_refused(client, lead, taken, wanted):
    owner = make_user(taken, None).username  # as saved: ǅ is Dž
    client.force_login(lead)
    answer = client.post(
        "/people/add/", {"username": wanted, "password": NEW_PASSWORD, "role": "Viewer"}
    )
    assert answer.status_code == 400
    assert f"Someone already has this user name: {owner}." in answer.content.decode()
    assert User.objects.count() == 2


def test_accounts_whose_names_read_alike_stand_out_on_the_people_list(client, lead):
    """Accounts made before look-alike names were refused (or by the admin site) passed for
    one person on the people list: `lead` and `leаd` (a Cyrillic а), `dana` and `dana` with a
    zero-width space. Each now says whom it reads like, the invisible character shown."""
    for name in ("le\u0430d", "dana", "dana\u200b", "dan"):
        User.objects.create_user(name)  # as the admin site or an old release made them
    client.force_login(lead)
    body = client.get("/people/").content.decode()
    badges = {
        re.sub("<[^>]+>", "", m.group(1)).strip()
        for m in re.finditer(r'<span class="badge bad alike"[^>]*>(.*?)</span>\s*</td>', body)
    }
    assert badges == {
        "reads like lead",  # on the Cyrillic one
        "reads like le\u0430d",  # on lead's own row
        "reads like danaU+200B",
        "reads like dana",
    }
    assert body.count('class="badge bad alike"') == 4  # not on `dan`, nor the others
    twin = User.objects.get(username="dana\u200b")
    heading = client.get(f"/people/{twin.pk}/").content.decode().split("<h1>")[1]
    assert heading.startswith('dana<span class="ctl" title="Invisible character: ZERO WIDTH')


def test_a_full_width_user_name_is_saved_as_it_signs_in(client, lead):
    client.force_login(lead)
    answer = client.post(
        "/people/add/", {"username": "ｎｅｗｃｏｍｅｒ", "password": NEW_PASSWORD, "role": "Viewer"}
    )
    assert answer.status_code == 302
    assert User.objects.filter(username="newcomer").exists()
    # a character that becomes one the form does not allow: refused with the form's words
    answer = client.post(
        "/people/add/", {"username": "half½", "password": NEW_PASSWORD, "role": "Viewer"}
    )
    assert answer.status_code == 400
    assert "Letters, digits and @ . + - _ only." in answer.content.decode()


def seen_on(client, path: str) -> str:
    """The picture of the person a form carries (as a browser would send it back)."""
    page = client.get(path).content.decode()
    return hidden_value(page, "seen")


def test_a_person_turned_off_meanwhile_is_not_turned_back_on_by_an_older_form(client, lead, synced):
    """Two leads open one person's form; one turns their sign-in off (they left). The other's
    Save of a team change carried "can sign in" from before, and turned it back on, unseen.
    Now it is held: the page says who changed them and where the two differ, the person stays
    off, and a second Save applies the form knowingly."""
    from django.test import Client

    person = make_user("sam", "Viewer")
    other = Client()
    other.force_login(make_user("lead2", "Lead"))
    path = f"/people/{person.pk}/"
    client.force_login(lead)
    mine, theirs = seen_on(client, path), seen_on(other, path)

    assert other.post(path, {"role": "Viewer", "seen": theirs}).status_code == 302
    form = {"role": "Viewer", "teams": [synced["team"].pk], "is_active": "on", "seen": mine}
    answer = client.post(path, form)
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "This person was changed after this form was opened" in page
    assert re.search(r"lead2 saved it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page)
    assert held_rows(page) == [("Teams", synced["team"].name, "—"), ("Can sign in", "yes", "no")]
    person.refresh_from_db()
    assert not person.is_active and not person.teams.exists()

    again = hidden_value(page, "seen")
    assert again != mine
    assert client.post(path, {**form, "seen": again}).status_code == 302
    person.refresh_from_db()
    assert person.is_active and list(person.teams.all()) == [synced["team"]]
    entries = AuditEntry.objects.filter(kind="person").order_by("pk")
    assert [(e.actor_name, e.after["active"]) for e in entries] == [
        ("lead2", False),
        ("lead", True),
    ]


def test_a_lead_saving_someone_while_they_change_their_password_keeps_the_new_one(gunicorn, lead):
    """A lead's save wrote the whole account row as it was read, password included: a new
    password set in between was undone, and the old one worked again. The test holds the
    person's row until the lead's save waits on it, then changes the password (on SQLite the
    writers take turns, so it comes after)."""
    from django.contrib.auth.hashers import make_password

    from tests.conftest import sent_at_one_lock, signed_in_session

    person = make_user("sam", "Viewer")
    session = signed_in_session(gunicorn, lead)
    changed = "UPDATE auth_user SET password = %s WHERE id = %s"
    form = {"role": "Editor", "is_active": "on"}
    (answer,) = sent_at_one_lock(
        "auth_user",
        [person.pk],
        lambda: session.post(f"/people/{person.pk}/", data=form),
        then=changed,
        params=[make_password(NEW_PASSWORD), person.pk],
    )
    session.close()
    assert answer.status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD) and role_of(person) == "Editor"


def test_look_alike_names_added_at_once_in_several_processes_make_one_person(gunicorn, lead):
    """Eight adds of one name and its look-alikes sent together to four server processes (a
    double-clicked Save, two leads at once): one person is made, the others are told the name
    is taken. Each add hashes its password between the form's check and the insert, so
    without the lock under which names are taken several passed the check: duplicates were
    500s and case variants made second accounts."""
    from concurrent.futures import ThreadPoolExecutor

    from dashboard.accounts.security import sign_in_identity
    from tests.conftest import signed_in_session

    names = ["racer", "RACER", "Racer", "ｒａｃｅｒ", "racer", "rAcer", "ＲＡＣＥＲ", "𝐫𝐚𝐜𝐞𝐫"]
    sessions = [signed_in_session(gunicorn, lead) for _ in names]

    def add(pair):
        session, name = pair
        data = {"username": name, "password": NEW_PASSWORD, "role": "Viewer"}
        answer = session.post("/people/add/", data=data)
        return answer.status_code, "Someone already has this user name: " in answer.text

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        answers = sorted(pool.map(add, zip(sessions, names, strict=True)))
    for session in sessions:
        session.close()
    assert answers == [(302, False)] + [(400, True)] * 7, answers
    made = [
        u for u in User.objects.values_list("username", flat=True) if sign_in_identity(u) == "racer"
    ]
    assert len(made) == 1, made


def test_the_last_lead_keeps_the_role_and_a_second_lead_may_step_down(client, lead):
    """The only lead making themselves an editor left no one to manage people (only a shell
    on the server could make a lead again): refused, with why, and nothing changes."""
    client.force_login(lead)
    answer = client.post(f"/people/{lead.pk}/", {"role": "Editor", "is_active": "on"})
    assert answer.status_code == 400
    assert "lead is the last lead: no one could manage people after this." in (
        answer.content.decode()
    )
    assert role_of(User.objects.get(pk=lead.pk)) == "Lead"
    assert not AuditEntry.objects.filter(kind="person").exists()
    make_user("lee", "Lead")
    assert (
        client.post(f"/people/{lead.pk}/", {"role": "Editor", "is_active": "on"}).status_code == 302
    )
    assert role_of(User.objects.get(pk=lead.pk)) == "Editor"


def test_two_leads_taking_each_others_role_at_once_leave_one_lead(gunicorn, lead):
    """Two leads, each making the other an editor at the same moment on two server processes
    made to meet at their rows: both changes were made, and no lead was left. Now they take
    turns, and the second finds its lead no lead any more."""
    from tests.conftest import sent_at_one_lock, signed_in_session

    lee = make_user("lee", "Lead")
    sessions = [signed_in_session(gunicorn, lead), signed_in_session(gunicorn, lee)]
    form = {"role": "Editor", "is_active": "on"}
    answers = sent_at_one_lock(
        "auth_user",
        [lead.pk, lee.pk],
        lambda: sessions[0].post(f"/people/{lee.pk}/", data=form),
        lambda: sessions[1].post(f"/people/{lead.pk}/", data=form),
    )
    for session in sessions:
        session.close()
    # refused by the service (PostgreSQL: both were past the page's check) or, where the
    # writers take turns anyway (SQLite), by the page's own check, which comes after
    assert sorted(a.status_code for a in answers)[0] == 302
    refused = next(a for a in answers if a.status_code != 302)
    assert refused.status_code in (400, 403) and "Only leads can manage people" in refused.text
    roles = {u.username: role_of(u) for u in User.objects.filter(pk__in=[lead.pk, lee.pk])}
    assert sorted(roles.values()) == ["Editor", "Lead"]
