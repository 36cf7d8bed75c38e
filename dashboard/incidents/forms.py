"""What people do to an incident."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dashboard.audit.models import AuditEntry

ACTIONS = [
    (AuditEntry.Action.ACKNOWLEDGE, _("Acknowledge")),
    (AuditEntry.Action.RESOLVE, _("Resolve")),
    (AuditEntry.Action.MUTE, _("Mute")),
    (AuditEntry.Action.REOPEN, _("Reopen")),
]


class IncidentActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    muted_until = forms.DateTimeField(
        label=_("Mute until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == AuditEntry.Action.MUTE:
            until = data.get("muted_until")
            if until is None:
                self.add_error("muted_until", _("Say until when the incident stays muted."))
            elif until <= timezone.now():
                self.add_error("muted_until", _("Choose a time in the future."))
            elif until > timezone.now() + dt.timedelta(days=90):
                self.add_error("muted_until", _("Mute for at most 90 days."))
        return data


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
