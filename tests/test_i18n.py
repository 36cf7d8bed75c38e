"""Two languages: the zh_Hans catalogue is complete, and the switch remembers the choice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"


@pytest.mark.skipif(
    not shutil.which("xgettext"),
    reason="!!!!! gettext not installed: catalogue check SKIPPED !!!!!",
)
def test_catalogue_is_complete(tmp_path):
    """Extract every marked string afresh (in a copy) and require a translation for each."""
    for name in ("dashboard", "templates", "locale", "manage.py"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    env = {**os.environ, "DEBUG": "true"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    po = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy (changed since translated): {fuzzy}"
    # Against the committed catalogue: a string the code translates through a variable is
    # only kept by extraction if it is marked somewhere; one that stopped being extracted
    # would lose its translation at the next makemessages, silently.
    committed = polib.pofile(str(CATALOGUE / "django.po"))
    keys = lambda catalogue: {(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete}  # noqa: E731
    assert keys(committed) - keys(po) == set(), "no longer extracted: mark them or drop them"
    assert keys(po) - keys(committed) == set(), "extracted but not in the committed catalogue"


def test_compiled_catalogue_matches_the_po_file():
    po = polib.pofile(str(CATALOGUE / "django.po"))
    mo = polib.mofile(str(CATALOGUE / "django.mo"))
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo}
    for entry in po.translated_entries():
        if not entry.msgid_plural:
            assert compiled.get((entry.msgctxt, entry.msgid)) == entry.msgstr, entry.msgid


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_language_switch_is_remembered(client, viewer):
    login = client.get("/accounts/login/").content.decode()
    assert "Sign in" in login
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "登录" in client.get("/accounts/login/").content.decode()
    client.force_login(viewer)
    page = client.get(f"/domains/{TEAM_DOMAIN}/").content.decode()
    assert "录制回调" in page and "修改在阿里云最多需要 5 分钟生效" in page
    assert '<html lang="zh-hans">' in page


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_upstream_messages_stay_as_alibaba_sends_them(client, lead):
    from dashboard.sandbox import app as sandbox_app

    client.cookies["django_language"] = "zh-hans"
    client.force_login(lead)
    sandbox_app.faults.configure("DescribeLiveRecordNotifyRecords:throttle=1")
    body = client.get(f"/records/?domain={TEAM_DOMAIN}&window=1h&source=live").content.decode()
    assert "直播 API 无法响应" in body and "Request was denied due to user flow control." in body


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_callback_url_reasons_are_translated(client, editor):
    from django.urls import reverse

    client.cookies["django_language"] = "zh-hans"
    client.force_login(editor)
    url = reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"})
    hx = {"HX-Request": "true"}
    unsafe = client.post(url, {"notify_url": "http://0x7f000001/cb", "version": 1}, headers=hx)
    assert unsafe.status_code == 400
    assert "URL 指向回环地址。" in unsafe.content.decode()
    spaced = client.post(url, {"notify_url": "http://a b.example.com/", "version": 1}, headers=hx)
    assert "URL 包含空白字符，请进行 URL 编码（%20）。" in spaced.content.decode()


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_conflict_reason_is_translated_and_audited_in_english(client, editor):
    from django.urls import reverse

    from dashboard.audit.models import AuditEntry
    from dashboard.domains.models import Domain

    client.cookies["django_language"] = "zh-hans"
    client.force_login(editor)
    stale = Domain.objects.get(name=TEAM_DOMAIN).version("record") - 1
    response = client.post(
        reverse("config_edit", kwargs={"name": TEAM_DOMAIN, "kind": "record"}),
        {"notify_url": "https://stale.example.com/cb", "version": stale},
    )
    assert response.status_code == 409
    assert "您打开表单后，此配置已被修改。" in response.content.decode()
    entry = AuditEntry.objects.get(domain_name=TEAM_DOMAIN, outcome="conflict")
    assert entry.error_message == "This config was changed after you opened the form."
