"""Forms: the three callback config editors (their filter sets live in filters.py)."""

from __future__ import annotations

import secrets
import string

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dashboard.contract import api
from dashboard.contract.urlsafety import check_callback_url, resolve_host

KEY_ALPHABET = string.ascii_letters + string.digits


def generate_auth_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(32))


def validate_callback_url(value: str, *, max_length: int | None = None) -> None:
    resolve = resolve_host if settings.CALLBACK_URL_RESOLVE else None
    verdict = check_callback_url(value, max_length=max_length, resolve=resolve)
    if verdict is not None:
        label = _("Unsafe callback URL") if verdict.unsafe else _("Not a valid callback URL")
        raise ValidationError(f"{label}: {verdict.translated(gettext)}", code=verdict.kind)


def validate_auth_key(value: str) -> None:
    if value and not api.is_valid_auth_key(value):
        raise ValidationError(_("The key must be 16 to 32 letters and digits."), code="auth_key")


class CallbackUrlField(forms.CharField):
    """A callback URL, kept exactly as typed, at most `max_length` characters, then checked
    as Live and the SSRF rules take it (validate_callback_url)."""

    def __init__(self, *, max_length: int, placeholder: str = "", **kwargs):
        widget = forms.URLInput(attrs={"placeholder": placeholder} if placeholder else None)
        super().__init__(max_length=max_length, strip=False, widget=widget, **kwargs)

    def run_validators(self, value):
        super().run_validators(value)  # too long: said, and not checked further
        if value not in self.empty_values:
            validate_callback_url(value, max_length=self.max_length)


class _ConfigForm(forms.Form):
    notify_auth_key = forms.CharField(
        label=_("Auth key"),
        required=False,
        max_length=32,
        validators=[validate_auth_key],
        help_text=_(
            "16–32 letters and digits. Leave blank to keep the current key. A new key applies "
            "to a stream only after it is pushed again."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, has_key: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_key = has_key

    def clean(self):
        data = super().clean()
        if data.get("notify_req_auth") and not data.get("notify_auth_key") and not self.has_key:
            self.add_error(
                "notify_auth_key", _("An auth key is required when signed callbacks are on.")
            )
        return data


class RecordConfigForm(_ConfigForm):
    notify_url = CallbackUrlField(
        label=_("Notify URL"),
        max_length=api.RECORD_URL_MAX,
        placeholder="https://hooks.example.com/live/record",
    )
    on_demand_url = CallbackUrlField(
        label=_("On-demand recording URL"), required=False, max_length=api.RECORD_URL_MAX
    )
    need_status_notify = forms.BooleanField(
        label=_("Send status notifications (record started / paused / resumed)"), required=False
    )
    notify_req_auth = forms.BooleanField(
        label=_("Sign callbacks (ALI-LIVE-SIGNATURE)"), required=False
    )

    field_order = [
        "notify_url",
        "on_demand_url",
        "need_status_notify",
        "notify_req_auth",
        "notify_auth_key",
        "version",
    ]


class SnapshotConfigForm(_ConfigForm):
    notify_url = CallbackUrlField(
        label=_("Notify URL"),
        max_length=api.SNAPSHOT_URL_MAX,
        placeholder="https://hooks.example.com/live/snapshot",
    )
    notify_req_auth = forms.BooleanField(
        label=_("Sign callbacks (ALI-LIVE-SIGNATURE)"), required=False
    )

    field_order = ["notify_url", "notify_req_auth", "notify_auth_key", "version"]


def validate_stream_auth_key(value: str) -> None:
    if value and not api.is_valid_auth_key(value, stream=True):
        raise ValidationError(_("The key must be 16 to 64 letters and digits."), code="auth_key")


class StreamConfigForm(_ConfigForm):
    """An ingest domain's stream callback: Live calls the notify URL (HTTP GET) when a stream
    starts and stops pushing, and the exception URL (POST) when the ingest goes wrong."""

    notify_url = CallbackUrlField(
        label=_("Notify URL (publish / publish_done)"),
        max_length=api.STREAM_URL_MAX,
        placeholder="https://hooks.example.com/live/stream",
    )
    exception_notify_url = CallbackUrlField(
        label=_("Exception URL"), required=False, max_length=api.STREAM_URL_MAX
    )
    notify_req_auth = forms.BooleanField(
        label=_("Sign callbacks (ALI-LIVE-SIGNATURE, with the ingest domain)"), required=False
    )
    notify_auth_key = forms.CharField(
        label=_("Auth key"),
        required=False,
        max_length=64,
        validators=[validate_stream_auth_key],
        help_text=_(
            "16–64 letters and digits. Leave blank to keep the current key. A new key applies "
            "to a stream only after it is pushed again."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    field_order = [
        "notify_url",
        "exception_notify_url",
        "notify_req_auth",
        "notify_auth_key",
        "version",
    ]


class RollbackForm(forms.Form):
    """Which audit entry's earlier configuration an edit restores (a hidden field)."""

    rollback_of = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
