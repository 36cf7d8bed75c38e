"""The AccessKey secret and callback auth keys never leak into pages, logs or the audit log.

The only designed exceptions: the response right after saving a new key (shown once) and the
explicit, audited Reveal.
"""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from dashboard.audit.models import AuditEntry
from dashboard.domains.models import Domain
from dashboard.sandbox import app as sandbox_app
from tests.conftest import ALL_DATABASES, TEAM_DOMAIN

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SHOP_KEY = "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt"
SNAP_KEY = "SnapKey0123456789abcdef"
NEW_KEY = "BrandNewKey0123456789xyz"


def body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", "replace") + str(dict(response.headers))


def test_no_secret_in_any_response_log_line_or_audit_entry(client, lead, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(lead)
    seen, allowed_key_pages = [], []
    for url in [
        "/domains/",
        f"/domains/{TEAM_DOMAIN}/",
        f"/domains/{TEAM_DOMAIN}/record/edit/",
        f"/domains/{TEAM_DOMAIN}/snapshot/edit/",
        f"/records/?domain={TEAM_DOMAIN}&window=7d&size=500",
        f"/records/overview/{TEAM_DOMAIN}/",
        f"/records/rate/{TEAM_DOMAIN}/",
        f"/records/export.csv?domain={TEAM_DOMAIN}&window=24h",
        "/audit/",
        "/audit/?format=csv",
        f"/domains/{TEAM_DOMAIN}/snapshot/delete/",
        "/tools/signature/",
    ]:
        seen.append(body(client.get(url)))
    version = Domain.objects.get(name=TEAM_DOMAIN).version("record")
    seen.append(body(client.post(f"/domains/{TEAM_DOMAIN}/refresh/", follow=True)))
    # A failing save (retries are logged) keeps the typed key out of logs and audit too.
    sandbox_app.faults.configure("UpdateLiveRecordNotifyConfig:error=1")
    failed = client.post(
        f"/domains/{TEAM_DOMAIN}/record/edit/",
        {
            "notify_url": "https://hooks.example-shop.com/v9",
            "notify_req_auth": "on",
            "notify_auth_key": NEW_KEY,
            "version": version,
        },
    )
    assert failed.status_code == 502
    # The editor's own typed key is echoed back into their form so no input is lost.
    allowed_key_pages.append(body(failed))
    sandbox_app.faults.configure("")
    saved = client.post(
        f"/domains/{TEAM_DOMAIN}/record/edit/",
        {
            "notify_url": "https://hooks.example-shop.com/v9",
            "notify_req_auth": "on",
            "notify_auth_key": NEW_KEY,
            "version": version,
        },
    )
    allowed_key_pages.append(body(saved))
    assert NEW_KEY in allowed_key_pages[-1]  # shown once
    seen.append(body(client.get(f"/domains/{TEAM_DOMAIN}/")))
    revealed = client.post(f"/domains/{TEAM_DOMAIN}/snapshot/reveal/")
    assert SNAP_KEY in body(revealed)  # the explicit, audited reveal

    secrets = [settings.ALIBABA_CLOUD_ACCESS_KEY_SECRET, SHOP_KEY, SNAP_KEY, NEW_KEY]
    logs = "\n".join(record.getMessage() for record in caplog.records)
    audit = "\n".join(
        f"{e.before} {e.after} {e.error_message} {e.error_code}" for e in AuditEntry.objects.all()
    )
    for secret in secrets:
        for page in seen:
            assert secret not in page
        assert secret not in logs
        assert secret not in audit
    for page in allowed_key_pages:
        assert settings.ALIBABA_CLOUD_ACCESS_KEY_SECRET not in page
        assert SHOP_KEY not in page
    assert "retry" in logs  # the failing save was really retried and logged
