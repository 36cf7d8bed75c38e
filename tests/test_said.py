"""Sentences stored by workers, said again in each reader's language (dashboard.said)."""

from __future__ import annotations

from django.utils import translation

from dashboard.said import Sentence, said, sentence

HTTP = "The receiver answered HTTP %(status)s %(reason)s."
URL = "The URL points at %(what)s."


def test_a_stored_sentence_is_said_in_the_readers_language():
    stored = Sentence(HTTP, {"status": 502, "reason": "Bad Gateway"}).stored()
    with translation.override("zh-hans"):
        assert said(stored, "ignored") == "接收方返回 HTTP 502 Bad Gateway。"
    with translation.override("en"):
        assert said(stored, "ignored") == "The receiver answered HTTP 502 Bad Gateway."


def test_a_phrase_parameter_is_said_too_and_others_are_kept_as_they_are():
    stored = Sentence(URL, {"what": "a loopback address"}).stored()
    with translation.override("zh-hans"):
        assert said(stored, "") == "URL 指向回环地址。"
    # a receiver's reason phrase that happens to be a phrase of ours stays the receiver's
    stored = Sentence(HTTP, {"status": 404, "reason": "Sent"}).stored()
    with translation.override("zh-hans"):
        assert said(stored, "").endswith("404 Sent。")


def test_text_that_is_no_template_is_shown_as_it_is():
    raw = sentence("SMTPDataError: 550 5.7.1 100% of quota used (%(x)s)")
    assert str(raw) == "SMTPDataError: 550 5.7.1 100% of quota used (%(x)s)"
    with translation.override("zh-hans"):
        assert said(raw.stored(), "") == str(raw)


def test_rows_stored_before_and_damaged_values_show_the_english_text():
    assert said(None, "The receiver answered HTTP 500 .") == "The receiver answered HTTP 500 ."
    for damaged in ([], "x", {"template": 3}, {"template": HTTP, "params": {"status": 1}}):
        with translation.override("zh-hans"):
            shown = said(damaged, "the English text")
        assert shown == "the English text"
