"""What people do to an incident."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dashboard.audit.models import AuditEntry
from dashboard.forms import MuteUntilField

ACTIONS = [
    (AuditEntry.Action.ACKNOWLEDGE, _("Acknowledge")),
    (AuditEntry.Action.RESOLVE, _("Resolve")),
    (AuditEntry.Action.MUTE, _("Mute")),
    (AuditEntry.Action.REOPEN, _("Reopen")),
]


class IncidentActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    muted_until = MuteUntilField()

    def clean(self):
        data = super().clean()
        muting = data.get("action") == AuditEntry.Action.MUTE
        if muting and data.get("muted_until") is None and "muted_until" not in self.errors:
            self.add_error("muted_until", _("Say until when the incident stays muted."))
        return data


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
