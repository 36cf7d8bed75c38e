"""The characters pages show as code points (dashboard/invisible.py), written out for speed,
checked here against the running Python's Unicode data so they cannot drift from it."""

import re
import sys
import unicodedata

import pytest

from dashboard.invisible import BIDI_CONTROLS, INVISIBLE_RANGES, invisible_named

# Format characters that print a sign of their own: the Arabic, Syriac, Kaithi and
# Egyptian-hieroglyph marks drawn above or around the numbers and signs that follow them.
PRINTING = {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2}
PRINTING |= {0x110BD, 0x110CD, *range(0x13430, 0x13456)}
FILLERS = {0x115F, 0x1160, 0x3164, 0xFFA0}  # Hangul letters that draw nothing


def test_every_character_that_draws_nothing_is_shown_and_no_other():
    shown = re.compile(f"[{INVISIBLE_RANGES}]")
    expected = {
        c
        for c in range(sys.maxunicode + 1)
        if (unicodedata.category(chr(c)) == "Cf" and c not in PRINTING) or c in FILLERS
    }
    matched = {c for c in range(sys.maxunicode + 1) if shown.fullmatch(chr(c))}
    assert matched == expected
    assert {ord(ch) for ch in BIDI_CONTROLS} <= matched


def test_a_name_where_no_markup_can_go_writes_them_out():
    assert invisible_named("live\u202e1-tset\u200b") == "live[U+202E]1-tset[U+200B]"
    assert invisible_named("match-042") == "match-042"
    assert invisible_named("\U000e0041") == "[U+E0041]"  # a tag character: five digits


@pytest.mark.django_db
def test_the_names_holding_one_are_indexed_by_the_searchs_own_expression():
    """On PostgreSQL the search for names reading as typed reads a partial index whose
    predicate is its regular expression: were the ranges changed without a new index, the
    search would scan every name again (70–120 ms at 200,000 names)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'archived_name_draws_nothing'"
            )
            (definition,) = cursor.fetchone()
            assert f"~ '[{INVISIBLE_RANGES}]'" in definition
        else:  # SQLite: no such index (the regular expression is a Python function there)
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            assert "archived_name_draws_nothing" not in {row[0] for row in cursor.fetchall()}
