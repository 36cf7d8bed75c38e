from django import forms
from django.utils.translation import gettext_lazy as _


class RunForm(forms.Form):
    skip_redelivered = forms.BooleanField(
        label=_("Skip callbacks already redelivered successfully"), required=False, initial=True
    )


class RunActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("pause", "pause"), ("resume", "resume"), ("cancel", "cancel")]
    )
