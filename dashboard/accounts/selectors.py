"""Reading people and roles."""

from __future__ import annotations

import unicodedata

from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import SsoIdentity
from .roles import LEAD
from .security import sign_in_identity


def active_leads():
    """The people who can grant roles, as a query: leads and superusers, active ones only
    (a person may appear once per role group: add .distinct() to list them)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=LEAD) | Q(is_superuser=True))
    )


def leads() -> list:
    """The people who can grant roles: leads and superusers, active ones only."""
    return list(active_leads().distinct().order_by("first_name", "username"))


def username_owner(username: str) -> str | None:
    """The user name someone has that is `username`, signs in as it (`Lead` or `ｌｅａｄ` for
    `lead`, `STRASSE` for `straße`) or reads as it (`leаd` with a Cyrillic `а`), or None: two
    such accounts would share one sign-in throttle, or be told apart by no one in the audit log
    and the people list. People are few; every name is compared."""
    identity, looks = sign_in_identity(username), _looks(username)
    names = get_user_model().objects.values_list("username", flat=True)
    return next(
        (n for n in names.iterator() if sign_in_identity(n) == identity or _looks(n) == looks),
        None,
    )


def names_alike(names) -> dict[str, list[str]]:
    """For each of `names` that another of them reads as, or signs in as (the rule
    username_owner keeps for new names), those others: accounts made before that rule, or
    by the admin site, stand out on the people list instead of passing for one person."""
    families: dict[str, set[str]] = {}
    for name in names:
        for key in (("looks", _looks(name)), ("signs in", sign_in_identity(name))):
            families.setdefault(key, set()).add(name)
    alike: dict[str, set[str]] = {}
    for family in families.values():
        for name in family if len(family) > 1 else ():
            alike.setdefault(name, set()).update(family - {name})
    return {name: sorted(others) for name, others in alike.items()}


def groups_seen() -> dict[str, int]:
    """Each directory group someone who signed in with the company account was in, with how
    many people (as the provider sent them at their last sign-in)."""
    seen: dict[str, int] = {}
    for groups in SsoIdentity.objects.values_list("groups", flat=True).iterator():
        for group in groups if isinstance(groups, list) else ():
            seen[group] = seen.get(group, 0) + 1
    return seen


# Letters of other scripts drawn as Latin ones are (Cyrillic, Greek), each with its Latin twin
_TWINS = [
    ("а", "a"), ("е", "e"), ("о", "o"), ("р", "p"), ("с", "c"), ("у", "y"), ("х", "x"),
    ("і", "i"), ("ј", "j"), ("ѕ", "s"), ("ԁ", "d"), ("һ", "h"), ("ӏ", "l"),
    ("А", "A"), ("В", "B"), ("Е", "E"), ("К", "K"), ("М", "M"), ("Н", "H"), ("О", "O"),
    ("Р", "P"), ("С", "C"), ("Т", "T"), ("Х", "X"), ("І", "I"), ("Ј", "J"), ("Ѕ", "S"),
    ("ο", "o"), ("Α", "A"), ("Β", "B"), ("Ε", "E"), ("Ζ", "Z"), ("Η", "H"), ("Ι", "I"),
    ("Κ", "K"), ("Μ", "M"), ("Ν", "N"), ("Ο", "O"), ("Ρ", "P"), ("Τ", "T"), ("Υ", "Y"),
    ("Χ", "X"),
]  # fmt: skip
_LATIN = str.maketrans(dict(_TWINS))


def _looks(name: str) -> str:
    """What a name looks like to a reader: compatibility forms as their plain letters (NFKC),
    twins of Latin letters as those, every dash as `-`, every space as one, invisible
    characters gone, and no case."""
    kept = []
    for ch in unicodedata.normalize("NFKC", name):
        kind = unicodedata.category(ch)
        if kind == "Cf":
            continue
        kept.append("-" if kind == "Pd" or ch == "\u2212" else " " if ch.isspace() else ch)
    return " ".join("".join(kept).translate(_LATIN).split()).casefold()


def groups_alike(group: str, seen: dict[str, int]) -> list[tuple[str, int]]:
    """The groups seen at sign-in that look like `group` but are not it (`Live-Support`,
    `live‐support` with a Unicode hyphen, a Cyrillic `е`, for `live-support`): a mapping
    matches a group exactly as the provider sends it, so a mapping written as a look-alike
    never gives anyone anything."""
    looks = _looks(group)
    return sorted((name, n) for name, n in seen.items() if name != group and _looks(name) == looks)
