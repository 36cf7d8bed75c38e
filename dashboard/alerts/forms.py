"""The alert rule editor and the two mute forms. Every rule is checked whole: a condition's
numbers, its scope against what the person may watch, and at least one channel."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dashboard.access import can_edit_domain, is_lead, teams_editable_by
from dashboard.domains.forms import validate_callback_url
from dashboard.domains.models import Team
from dashboard.domains.selectors import domain_get, family_ingest_domains
from dashboard.forms import MuteUntilField, SeenField, differing, half_width, one_line

from .models import AlertRule

MAX_EMAILS = 10
# Chat robots' own addresses: each takes its own format only, and refuses any other message
ROBOT_HOSTS = {
    "oapi.dingtalk.com": AlertRule.WebhookFormat.DINGTALK,
    "api.dingtalk.com": AlertRule.WebhookFormat.DINGTALK,
    "open.feishu.cn": AlertRule.WebhookFormat.FEISHU,
    "open.larksuite.com": AlertRule.WebhookFormat.FEISHU,
    "qyapi.weixin.qq.com": AlertRule.WebhookFormat.WECOM,
}


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


# what separates addresses pasted from a mail program (Outlook's ";") or typed with a Chinese
# input method (its comma, semicolon and list comma)
_BETWEEN_ADDRESSES = str.maketrans(dict.fromkeys(";，；、", ","))
_OUTSIDE_QUOTES_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')  # "Ops, Shanghai" <…>
_ANGLED = re.compile(r"<([^<>]*)>")


def email_addresses(text: str) -> list[str]:
    """The addresses in `text` as people paste them: one a line, or a mail program's To line
    ("Zhang San <zs@example.cn>; ops@example.com"), in full-width letters too. What is no
    address comes back whole, as it was written, for the message to name."""
    found = []
    for line in half_width(text).translate(_BETWEEN_ADDRESSES).splitlines():
        for piece in _OUTSIDE_QUOTES_COMMA.split(line):
            piece = piece.strip()
            angled = _ANGLED.findall(piece)  # Zhang San <zs@example.cn>
            if len(angled) == 1 and angled[0].strip() and "@" not in _ANGLED.sub("", piece):
                found.append(angled[0].strip())
                continue
            words = piece.split()  # "a@example.com b@example.com": each; else the piece
            found += words if all("@" in word for word in words) else [piece]
    return [address for address in found if address]


@cache
def time_zone_names() -> list[str]:
    """Every zone name the form takes, for its list (the tz database's, `tzdata` with it)."""
    return sorted(zoneinfo.available_timezones())


@cache
def _zone_names_folded() -> dict[str, str]:
    return {name.casefold(): name for name in time_zone_names()}


def page_language() -> str:
    """The language the page is shown in (one of LANGUAGES: LocaleMiddleware chose it)."""
    active = get_language()
    return active if active in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


class AlertRuleForm(forms.ModelForm):
    dingtalk_secret = forms.CharField(
        label=_("Robot's signing secret"),
        required=False,
        max_length=128,
        help_text=_(
            "Only for a DingTalk (SEC…) or Feishu / Lark robot with signing on. Leave blank to "
            "keep the saved one."
        ),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    domain_name = forms.CharField(
        label=_("Domain"),
        required=False,
        max_length=253,
        widget=forms.TextInput(attrs={"list": "domain-names", "autocomplete": "off"}),
    )
    # the rule's version the form was filled in from (services.rule_save)
    version = SeenField()

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "scope",
            "team",
            "condition",
            "threshold_percent",
            "window_minutes",
            "min_deliveries",
            "consecutive",
            "reminder_minutes",
            "emails",
            "webhook_url",
            "webhook_format",
            "language",
            "time_zone",
            "enabled",
        ]
        labels = {
            "name": _("Name"),
            "scope": _("Watch"),
            "team": _("Team"),
            "condition": pgettext_lazy("alert condition", "When"),
            "threshold_percent": _("Failure rate above (%)"),
            "window_minutes": _("Window (minutes)"),
            "min_deliveries": _("At least this many deliveries in the window"),
            "consecutive": _("Failures in a row"),
            "reminder_minutes": _("Remind every (minutes; 0: never)"),
            "emails": _("Email to (one address per line)"),
            "webhook_url": _("Webhook URL"),
            "webhook_format": _("Webhook format"),
            "language": _("Messages in"),
            "time_zone": _("Times in the zone"),
            "enabled": _("Enabled"),
        }
        help_texts = {
            "window_minutes": _(
                "Failure rate, silence and never-came callbacks look back this far (5 to 1,440)."
            ),
        }
        widgets = {
            "language": forms.Select(choices=settings.LANGUAGES),
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
            "emails": forms.Textarea(attrs={"rows": 3}),
            "webhook_url": forms.URLInput(
                attrs={"placeholder": "https://hooks.example.com/alerts"}
            ),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = (
            Team.objects.all() if is_lead(user) else teams_editable_by(user)
        )
        self.fields["team"].required = False
        self.fields["threshold_percent"].required = False
        self.fields["language"].required = self.fields["time_zone"].required = False
        if not is_lead(user):
            self.fields["scope"].choices = [
                c for c in self.fields["scope"].choices if c[0] != AlertRule.Scope.ALL
            ]
        self.fields["condition"].choices = AlertRule.Condition.choices  # no empty choice
        self.fields["scope"].choices = [c for c in self.fields["scope"].choices if c[0]]
        if not self.instance.pk:
            # (a new instance brings its empty fields into `initial`: setdefault kept them)
            self.initial["condition"] = self.initial.get("condition") or "failure_rate"
            if self.initial.get("threshold_percent") is None:
                self.initial["threshold_percent"] = 10
            # its maker's language and zone, as the page is shown to them (not the model's
            # defaults, which the new instance brings into `initial`)
            self.initial["language"] = page_language()
            self.initial["time_zone"] = timezone.get_current_timezone_name()
        if self.instance.pk and self.instance.domain_id:
            self.initial.setdefault("domain_name", self.instance.domain.name)
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)

    # Not sent (a form of before these fields, a script): the rule's own, or its maker's.
    def clean_language(self):
        value = self.cleaned_data["language"] or (
            self.instance.language if self.instance.pk else page_language()
        )
        if value not in dict(settings.LANGUAGES):
            raise ValidationError(_("Choose a language the dashboard speaks."))
        return value

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip() or (
            self.instance.time_zone if self.instance.pk else timezone.get_current_timezone_name()
        )
        value = _zone_names_folded().get(value.casefold(), value)  # asia/shanghai is one
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                _("No time zone is called “%(name)s”: choose one of the list (Asia/Shanghai).")
                % {"name": value[:64]}
            ) from None
        return value

    def differences(self, rule: AlertRule) -> list[tuple[str, str, str]]:
        """Where this (valid) form and the rule differ, as people read them (the DingTalk
        secret is never shown)."""
        theirs = AlertRuleForm(instance=rule, user=self.user)
        pairs = []
        for name in [*self.Meta.fields, "domain_name"]:
            field = self.fields[name]
            mine, saved = self.cleaned_data.get(name), theirs.initial.get(name)
            if isinstance(field, forms.ModelChoiceField):
                mine = mine.pk if mine is not None else None
            if name == "domain_name" and self.cleaned_data.get("scope") != AlertRule.Scope.DOMAIN:
                mine = ""
            if name == "domain_name" and rule.scope != AlertRule.Scope.DOMAIN:
                saved = ""
            pairs.append((field.label, _shown(field, mine), _shown(field, saved)))
        return differing(pairs)

    # --- one field at a time ---

    def clean_version(self) -> int | None:
        """None when not sent (save over whatever is there); a value that is no version is an
        old one: the save is held and shown, never a hidden field's error."""
        value = self.cleaned_data["version"]
        if not value:
            return None
        return int(value) if value.isascii() and value.isdigit() else -1

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        one_line(name)  # it becomes an email subject and a webhook title
        return name

    def clean_threshold_percent(self):
        value = self.cleaned_data.get("threshold_percent")
        if value is not None and not 1 <= value <= 99:
            raise ValidationError(_("Choose a failure rate from 1 to 99%."))
        return value

    def clean_window_minutes(self):
        value = self.cleaned_data["window_minutes"]
        if not 5 <= value <= 1440:
            raise ValidationError(_("Choose a window from 5 to 1,440 minutes (one day)."))
        return value

    def clean_min_deliveries(self):
        value = self.cleaned_data["min_deliveries"]
        if not 1 <= value <= 1_000_000:
            raise ValidationError(_("Choose from 1 to 1,000,000 deliveries."))
        return value

    def clean_consecutive(self):
        value = self.cleaned_data["consecutive"]
        if not 2 <= value <= 1000:
            raise ValidationError(_("Choose from 2 to 1,000 failures in a row."))
        return value

    def clean_reminder_minutes(self):
        value = self.cleaned_data["reminder_minutes"]
        if value and not 5 <= value <= 10080:
            raise ValidationError(_("Remind every 5 to 10,080 minutes (a week), or 0 for never."))
        return value

    def clean_emails(self):
        addresses = list(dict.fromkeys(email_addresses(self.cleaned_data["emails"])))
        if len(addresses) > MAX_EMAILS:
            raise ValidationError(_("At most %(n)d addresses."), params={"n": MAX_EMAILS})
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _("%(address)s is not an email address."), params={"address": address}
                ) from None
        return "\n".join(addresses)

    def clean_webhook_url(self):
        value = self.cleaned_data["webhook_url"].strip()
        if value:
            validate_callback_url(value, max_length=1024)
        return value

    def clean_dingtalk_secret(self):
        value = self.cleaned_data.get("dingtalk_secret") or ""
        if value and not value.isprintable():
            raise ValidationError(_("The secret contains characters that cannot be used."))
        return value

    # --- the rule as a whole ---

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == AlertRule.Scope.DOMAIN:
            self._clean_domain(data)
        elif scope == AlertRule.Scope.TEAM:
            if not data.get("team"):
                self.add_error("team", _("Choose the team whose domains to watch."))
        elif scope == AlertRule.Scope.ALL and not is_lead(self.user):
            self.add_error("scope", _("Only leads can watch all domains."))
        url, webhook_format = data.get("webhook_url"), data.get("webhook_format")
        robot = ROBOT_HOSTS.get(_host(url)) if url else None
        if robot and webhook_format and webhook_format != robot:
            self.add_error(
                "webhook_format",
                _(
                    "That is a %(robot)s's address: choose “%(robot)s”. It refuses any other "
                    "message."
                )
                % {"robot": AlertRule.WebhookFormat(robot).label},
            )
        condition = data.get("condition")
        if condition == AlertRule.Condition.FAILURE_RATE and data.get("threshold_percent") is None:
            self.add_error("threshold_percent", _("Say above which failure rate to alert."))
        domain = getattr(self, "domain_object", None)
        if (
            condition == AlertRule.Condition.MISSING
            and domain is not None
            and domain.domain_type != domain.Type.INGEST
        ):
            refusal = _(
                "Expected stream callbacks are checked on ingest domains only: %(name)s is not one."
            ) % {"name": domain.name}
            if through := family_ingest_domains(domain.name):
                refusal += " " + _("Its pushes come in through %(through)s: watch that.") % {
                    "through": ", ".join(through)
                }
            self.add_error("condition", refusal)
        given = self.errors.keys() & {"emails", "webhook_url"}  # one was given, but is wrong
        if not data.get("emails") and not data.get("webhook_url") and not given:
            self.add_error(None, _("Give at least one channel: an email address or a webhook."))
        return data

    def _clean_domain(self, data):
        name = (data.get("domain_name") or "").strip()
        if not name:
            self.add_error("domain_name", _("Choose the domain to watch."))
            return
        domain = domain_get(name=name)
        if domain is None:
            self.add_error("domain_name", _("There is no domain called %(name)s.") % {"name": name})
        elif not can_edit_domain(self.user, domain):
            self.add_error(
                "domain_name",
                _("You can set alerts only for your team's domains (%(name)s is not one).")
                % {"name": domain.name},
            )
        else:
            self.domain_object = domain

    def save(self, commit=True):
        rule = super().save(commit=False)
        scope = rule.scope
        rule.domain = (
            getattr(self, "domain_object", None) if scope == AlertRule.Scope.DOMAIN else None
        )
        if scope != AlertRule.Scope.TEAM:
            rule.team = None
        before = (
            AlertRule.objects.filter(pk=self.instance.pk)
            .values("webhook_format", "webhook_secret")
            .first()
            if self.instance.pk
            else None
        ) or {"webhook_format": "", "webhook_secret": ""}
        kept = before["webhook_secret"] if before["webhook_format"] == rule.webhook_format else ""
        if rule.webhook_format in AlertRule.ROBOT_SIGNED:
            rule.webhook_secret = self.cleaned_data.get("dingtalk_secret") or kept
        elif rule.webhook_format == AlertRule.WebhookFormat.JSON:
            rule.webhook_secret = kept  # a new rule gets one generated when it is saved
        else:
            rule.webhook_secret = ""
        return rule


def _shown(field: forms.Field, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(field, forms.ModelChoiceField):
        found = field.queryset.model.objects.filter(pk=value).first()
        return str(found) if found else ""
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))
    return str(value)


class MuteForm(forms.Form):
    until = MuteUntilField(help_text=_("Leave empty to unmute."))


class DomainMuteForm(MuteForm):
    domain_name = forms.CharField(label=_("Domain"), max_length=253)
    reason = forms.CharField(
        label=_("Why (maintenance, a planned move…)"),
        max_length=200,
        required=False,
        validators=[one_line],
    )
    field_order = ["domain_name", "until", "reason"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_domain_name(self):
        name = self.cleaned_data["domain_name"].strip()
        domain = domain_get(name=name)
        if domain is None:
            raise ValidationError(_("There is no domain called %(name)s.") % {"name": name})
        if not can_edit_domain(self.user, domain):
            raise ValidationError(
                _("Only editors of %(name)s and leads can mute its alerts.") % {"name": domain.name}
            )
        self.domain_object = domain
        return domain.name
