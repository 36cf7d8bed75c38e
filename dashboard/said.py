"""Sentences the dashboard stores for people to read later, said in each reader's language.

A background worker has no reader: it runs in English (LANGUAGE_CODE). Why a redelivery
failed, why an alert was not sent, why a run paused — written by the worker, read later on a
page in Chinese or English, by someone else than whoever started it. Such a sentence is
stored twice: its English text (for logs, the API and any reader of the column), and its
English template with the parameters (`Sentence.stored()`), from which a page says it again
in the language of whoever reads it (`said`).

A parameter named `what` or `kind` is itself a phrase marked for translation ("a loopback
address", "Recording callback"): it is said in the reader's language too; every other one is
shown as it is (a host, an HTTP status, what a receiver answered) — but `at`, a moment (ISO
8601), which is shown as the time of day in the reader's time zone (the English text stored
beside it keeps the ISO form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils import dateformat, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

PHRASES = frozenset({"what", "kind"})
MOMENTS = frozenset({"at"})


def say(template: str, params: Mapping | None = None) -> str:
    """`template` (an English %-template marked for translation) in the active language."""
    try:
        return _said(template, params)
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return english(template, params)


def _said(template: str, params: Mapping | None) -> str:
    if not template:
        return ""
    text = gettext(template)
    if not params:
        return text
    return text % {key: _value(key, value) for key, value in params.items()}


def _value(key: str, value):
    if key in PHRASES and isinstance(value, str) and value:
        return gettext(value)
    if key in MOMENTS and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None and timezone.is_aware(moment):
            return dateformat.format(timezone.localtime(moment), "H:i:s")
    return value


def english(template: str, params: Mapping | None = None) -> str:
    if not params:
        return template
    try:
        return template % dict(params)
    except (KeyError, TypeError, ValueError):
        return template


@dataclass(frozen=True)
class Sentence:
    """A sentence to store: its template (marked with gettext_noop where it is written) and
    its parameters (JSON values)."""

    template: str
    params: Mapping = field(default_factory=dict)

    def __str__(self) -> str:
        return self.english()

    def english(self) -> str:
        return english(self.template, self.params)

    def text(self) -> str:
        """In the active language."""
        return say(self.template, self.params)

    def stored(self) -> dict:
        return {"template": self.template, "params": dict(self.params)}


def columns(name: str, said_now: Sentence) -> dict:
    """A sentence as the model fields that keep it: `<name>` its English (as long as such a
    column holds), `<name>_said` its template and parameters (None for no sentence)."""
    return {
        name: str(said_now)[:500],
        f"{name}_said": said_now.stored() if said_now.template else None,
    }


def in_english(phrase) -> str:
    """A phrase marked for translation (a lazy label) as its English text, to store."""
    with translation.override("en"):
        return str(phrase)


def sentence(value: Sentence | str) -> Sentence:
    """`value` as a Sentence: text that is no template (an exception's message, what a
    server said) is one without parameters, shown as it is in every language (a template
    without parameters is never %-formatted, so a `%` in it stays as it is)."""
    return value if isinstance(value, Sentence) else Sentence(str(value))


def said(stored, text: str) -> str:
    """What a page shows for a stored sentence: said in the reader's language, or `text` (the
    English stored beside it) for a row written before sentences were kept, or a value that
    is not one."""
    if not isinstance(stored, dict):
        return say(text)  # a fixed sentence stored before is still said
    template, params = stored.get("template"), stored.get("params")
    if not isinstance(template, str) or not template:
        return say(text)
    try:
        return _said(template, params if isinstance(params, dict) else None)
    except (KeyError, TypeError, ValueError):  # parameters that do not fit: what was stored
        return text
