"""What every form shares: the renderer (every field through templates/forms/field.html), the
date and time inputs, "mute until", rows chosen by id, and the validators of text that must stay
on one line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms.renderers import TemplatesSetting
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dashboard.invisible import BIDI_CONTROLS

# Django's own empty choice of a model field with choices; its zh_Hans catalogue does not
# translate it yet, so ours does (marked here so the catalogue keeps it).
gettext_noop("- Select an option -")


class FormRenderer(TemplatesSetting):
    field_template_name = "forms/field.html"


ROW_ID_MAX = 2**63 - 1  # the largest id any of the dashboard's databases stores


def _beyond_any_row(pk) -> bool:
    try:
        return abs(int(str(pk))) > ROW_ID_MAX
    except ValueError:  # not a number (or 4,300 digits of one): Django's own check says so
        return False


class RowsChoiceField(forms.ModelMultipleChoiceField):
    """Rows chosen by id (checkboxes). An id no database holds is refused as any id that is
    not among the choices: SQLite raised OverflowError on it, a 500."""

    def clean(self, value):
        for pk in value or ():
            if _beyond_any_row(pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker, in the reader's own time zone, to the minute."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class LocalDateTimeField(forms.DateTimeField):
    """A moment typed in the reader's zone. Where clocks go back, a time comes twice: it is the
    first one, or with `latest` (an end, "until") the second, so a window written in local
    time covers both. Where clocks go forward, a time that never was reads with the offset of
    before (02:30 in the gap is 03:30): the form shows it back as it read it. Django refused
    both ("couldn't be interpreted"), the hour of the change being the one people look for."""

    widget = LocalDateTimeInput

    def __init__(self, *, latest: bool = False, **kwargs):
        self.latest = latest
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as refusal:
            if refusal.code != "ambiguous_timezone":
                raise
            naive, zone = refusal.params["datetime"], refusal.params["current_timezone"]
            try:  # at the ends of the calendar the zone cannot say: refused, as before
                back = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
            except (OverflowError, ValueError):
                raise refusal from None
        twice = back.replace(tzinfo=None) == naive
        # in UTC: Python compares two times of one zone by their wall clocks, fold unseen
        return naive.replace(tzinfo=zone, fold=int(self.latest and twice)).astimezone(dt.UTC)


MAX_MUTE = dt.timedelta(days=90)


def mute_until(value: dt.datetime | None) -> None:
    """A mute ends in the future, at most 90 days away."""
    if value is None:
        return
    now = timezone.now()
    if value <= now:
        raise ValidationError(_("Choose a time in the future."), code="past")
    if value > now + MAX_MUTE:
        raise ValidationError(_("Mute for at most 90 days."), code="too_long")


class MuteUntilField(LocalDateTimeField):
    """ "Mute until": the browser's picker in the reader's zone, a time within 90 days."""

    default_validators = [mute_until]

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mute until"))
        kwargs.setdefault("required", False)
        super().__init__(latest=True, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# Dates outside these bounds mean nothing here and overflow date arithmetic in some zones.
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)
DATE_VALIDATORS = [
    MinValueValidator(DATE_MIN, message=_("Enter a date from 1970-01-01 to 2999-12-31.")),
    MaxValueValidator(DATE_MAX, message=_("Enter a date from 1970-01-01 to 2999-12-31.")),
]


def one_line(value: str) -> None:
    """Names go into email subjects, HTTP headers, logs and CSV cells: no line breaks, no
    control characters (NUL, tabs, the Unicode line and paragraph separators), no bidirectional
    controls (a right-to-left override turns the rest of a subject line around, where nothing
    can show it: dashboard/invisible.py)."""
    if any(ch < " " or ch in "\x7f\u0085\u2028\u2029" or ch in BIDI_CONTROLS for ch in value):
        raise ValidationError(
            _("Use one line of text: no line breaks or control characters."), code="one_line"
        )


def half_width(text: str) -> str:
    """`text` with the full-width forms of ASCII (what a Chinese input method types in its
    full-width mode: ｏｐｓ＠ｅｘａｍｐｌｅ．ｃｏｍ) as ASCII; everything else as it is."""
    return text.translate(_HALF_WIDTH)


_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


# --- what a form was filled in from ------------------------------------------------------------


def picture_fingerprint(picture: dict) -> str:
    """A short digest of what an edit form shows of a thing (its audited picture): the form
    carries the one it was filled in from (SeenField), and a save over a different one is held
    for the person to look at, never applied unseen."""
    text = json.dumps(picture, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class VersionForm(forms.Form):
    """A confirmation page's hidden version of what it shows: a delete deletes what was seen."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class SeenField(forms.CharField):
    """The hidden picture_fingerprint of an edit form. Anything else sent in it is simply not
    the thing as it is: the save is held and the page shows why (never a hidden error)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        return super().to_python(value)[:64]


def differing(pairs) -> list[tuple[str, str, str]]:
    """(label, mine, theirs) of the pairs whose two values differ, as people read them (empty
    shows as "—"): what a held form's page lists."""
    found = []
    for label, mine, theirs in pairs:
        mine, theirs = str(mine or ""), str(theirs or "")
        if mine != theirs:
            found.append((str(label), mine or "—", theirs or "—"))
    return found


def held(user, heading: str, *, by: str, by_id, at, differences, restart: str) -> dict:
    """What a page says of a save held because the thing changed after its form was filled in
    (templates/_held.html): who saved it (a name, and their id if a person) and when, where
    their values and the form's differ, and the form's address to start again from."""
    return {
        "heading": heading,
        "by": by,
        "at": at,
        "yours": by_id is not None and by_id == user.pk,
        "differences": differences,
        "restart": restart,
    }


def resent_over(form: forms.BaseForm, field: str, value, **kwargs) -> forms.BaseForm:
    """The held form again with what was typed, now over the thing as it is (`field`, its
    version or fingerprint, set to `value`): a second Save applies it knowingly."""
    data = form.data.copy()
    data[field] = value
    again = type(form)(data, **kwargs)
    again.is_valid()
    return again
