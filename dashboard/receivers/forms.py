from __future__ import annotations

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboard.domains.forms import validate_auth_key, validate_stream_auth_key

from .signature import callback_host

EVENTS = [
    ("file_created", _("Recording file created")),
    ("record_started", _("Recording started")),
    ("record_paused", _("Recording paused")),
    ("record_resumed", _("Recording resumed")),
    ("publish", _("Stream started (publish)")),
    ("publish_done", _("Stream stopped (publish_done)")),
]


class SendTestForm(forms.Form):
    """Empty URL: test the saved config. Filled in (from the edit form): test before saving."""

    notify_url = forms.CharField(required=False, max_length=1024, strip=False)
    notify_req_auth = forms.BooleanField(required=False)
    notify_auth_key = forms.CharField(required=False, max_length=32, validators=[validate_auth_key])
    event = forms.ChoiceField(label=_("Event"), required=False, choices=EVENTS)

    def __init__(self, *args, kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kind is not None and kind.name == "stream":  # stream keys may be 16 to 64 long
            self.fields["notify_auth_key"] = forms.CharField(
                required=False, max_length=64, validators=[validate_stream_auth_key]
            )

    # The URL itself is judged by testsend (the forms' rules plus resolution), at send time.


def header_value(text: str, name: str) -> str:
    """What was pasted for header `name`, as the receiver got it: without the header's name
    when its whole line was pasted, and in ASCII when typed full-width (a Chinese input method
    types digits as "１７６５")."""
    text = unicodedata.normalize("NFKC", text).strip()
    head, colon, rest = text.partition(":")
    if colon and head.strip().lower() == name.lower():
        text = rest.strip()
    return text


class SignatureForm(forms.Form):
    KINDS = [("record", _("Recording callback")), ("snapshot", _("Snapshot callback"))]
    url = forms.CharField(
        label=_("Callback URL or host"),
        max_length=1024,
        help_text=_("The NotifyUrl the callback was sent to; only its host is signed."),
    )
    # A header's value, or its whole line as a log shows it ("ALI-LIVE-TIMESTAMP: 1765…").
    timestamp = forms.CharField(label="ALI-LIVE-TIMESTAMP", max_length=64)
    signature = forms.CharField(label="ALI-LIVE-SIGNATURE", max_length=96)
    domain = forms.CharField(label=_("Use the key of domain"), required=False, max_length=253)
    kind = forms.ChoiceField(label=_("Callback"), choices=KINDS, required=False)
    key = forms.CharField(
        label=_("…or paste a key"),
        required=False,
        max_length=32,
        validators=[validate_auth_key],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def clean_url(self):
        value = self.cleaned_data["url"]
        if not callback_host(value):
            raise forms.ValidationError(
                _("Enter the callback URL (https://host/path) or just its host name.")
            )
        return value

    def clean_timestamp(self):
        value = header_value(self.cleaned_data["timestamp"], "ALI-LIVE-TIMESTAMP")
        if not (value.isascii() and value.isdigit() and len(value) <= 12):
            raise forms.ValidationError(
                _("Enter the ALI-LIVE-TIMESTAMP header's value: seconds since 1970 (1765000000).")
            )
        return value

    def clean_signature(self):
        value = header_value(self.cleaned_data["signature"], "ALI-LIVE-SIGNATURE").lower()
        if len(value) != 32 or value.strip("0123456789abcdef"):
            raise forms.ValidationError(
                _("Enter the ALI-LIVE-SIGNATURE header's value: 32 hexadecimal characters.")
            )
        return value

    def clean_domain(self):
        return self.cleaned_data["domain"].strip().lower().rstrip(".")

    def clean(self):
        data = super().clean()
        if not data.get("domain") and not data.get("key"):
            self.add_error("key", _("Choose a domain or paste the key to check against."))
        return data
