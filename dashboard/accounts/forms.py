"""Adding people and changing their role and teams (leads only)."""

from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import UsernameField
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from dashboard.domains.models import Team
from dashboard.forms import RowsChoiceField, SeenField, differing, one_line

from .models import GroupMapping
from .roles import RANK, ROLE_LABELS, ROLES, role_of
from .selectors import username_owner


def role_choices(actor) -> list[tuple[str, str]]:
    """The roles `actor` may grant: none above their own."""
    mine = RANK[role_of(actor)]
    return [("", _("No role"))] + [(r, ROLE_LABELS[r]) for r in ROLES if RANK[r] <= mine]


class PersonForm(forms.Form):
    # shown in the header, the lists and the audit log as one line
    first_name = forms.CharField(
        label=_("First name"), max_length=150, required=False, validators=[one_line]
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, required=False, validators=[one_line]
    )
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    teams = RowsChoiceField(
        label=_("Teams"),
        queryset=Team.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Editors edit the callbacks of their teams' domains."),
    )
    is_active = forms.BooleanField(label=_("Can sign in"), required=False, initial=True)
    seen = SeenField()  # the person as the form was filled in (services.person_fingerprint)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["role"].choices = role_choices(actor)

    def differences(self, state: dict) -> list[tuple[str, str, str]]:
        """(label, this form's value, the saved one) where the two differ; `state` is the
        person as services.person_state pictures them (a valid form)."""
        data = self.cleaned_data
        labels = {value: str(label) for value, label in self.fields["role"].choices}
        name = f"{data['first_name']} {data['last_name']}".strip()  # as get_full_name()
        teams = "\n".join(sorted(t.name for t in data["teams"]))
        pairs = [
            (_("Name"), name, state["name"]),
            (self.fields["email"].label, data["email"], state["email"]),
            (self.fields["role"].label, labels.get(data["role"]), labels.get(state["role"])),
            (self.fields["teams"].label, teams, "\n".join(state["teams"])),
            (self.fields["is_active"].label, _yes_no(data["is_active"]), _yes_no(state["active"])),
        ]
        return differing(pairs)


def _yes_no(value: bool) -> str:
    return str(_("yes") if value else _("no"))


class NewPersonForm(PersonForm):
    seen = None  # a new person has no past

    # NFKC-normalised first, as the user is saved (full-width `ｌｅａｄ` is `lead`), then checked
    username = UsernameField(
        label=_("User name"),
        max_length=150,
        validators=[RegexValidator(r"^[\w.@+-]+\Z", _("Letters, digits and @ . + - _ only."))],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Tell it to the person; they can change it after signing in."),
    )

    field_order = ["username", "first_name", "last_name", "email", "role", "teams", "password"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if owner := username_owner(username):
            raise self.name_taken(owner)
        return username

    @staticmethod
    def name_taken(owner: str) -> forms.ValidationError:
        """The words for a name someone has (`owner`: theirs, as it is saved)."""
        return forms.ValidationError(
            _("Someone already has this user name: %(name)s."), params={"name": owner}
        )

    def clean(self):
        data = super().clean()
        if data.get("password"):
            probe = get_user_model()(
                username=data.get("username", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                email=data.get("email", ""),
            )
            try:
                password_validation.validate_password(data["password"], probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class GroupMappingForm(forms.ModelForm):
    """What a directory group gives its members: a role and teams."""

    seen = SeenField()  # the mapping as the form was filled in (services.mapping_fingerprint)

    class Meta:
        model = GroupMapping
        fields = ["group", "role", "teams"]
        labels = {"group": _("Directory group"), "role": _("Role"), "teams": _("Teams")}
        help_texts = {
            "group": _("Exactly as the identity provider sends it in the groups claim."),
            "role": _("Someone in several groups gets the strongest of their roles."),
            "teams": _("Someone in several groups gets all of their teams."),
        }
        widgets = {"teams": forms.CheckboxSelectMultiple}
        field_classes = {"teams": RowsChoiceField}

    def differences(self, state: dict) -> list[tuple[str, str, str]]:
        """Where this (valid) form and the mapping as services.mapping_state pictures it
        differ."""
        data = self.cleaned_data
        roles = {value: str(label) for value, label in self.fields["role"].choices}
        teams = "\n".join(sorted(t.name for t in data["teams"]))
        return differing(
            [
                (self.fields["group"].label, data["group"], state["group"]),
                (self.fields["role"].label, roles.get(data["role"]), roles.get(state["role"])),
                (self.fields["teams"].label, teams, "\n".join(state["teams"])),
            ]
        )

    def clean_group(self):
        group = unicodedata.normalize("NFC", self.cleaned_data["group"]).strip()
        if not group or any(unicodedata.category(ch)[0] == "C" for ch in group):
            raise forms.ValidationError(_("A group name is text without control characters."))
        return group
