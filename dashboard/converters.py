"""URL converters: path parameters that cannot carry junk (NUL bytes, slashes, spaces).

A name outside the pattern is a 404 before any view or database sees it. `<kind:kind>` hands
the view the ConfigKind itself.
"""

from __future__ import annotations


class DomainNameConverter:
    regex = r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


class KindConverter:
    regex = r"record|snapshot|stream"  # the names in dashboard.domains.kinds.KINDS

    def to_python(self, value: str):
        from dashboard.domains.kinds import kind_named

        return kind_named(value)

    def to_url(self, value) -> str:
        return str(value)
