"""URL converters: path parameters that cannot carry junk (NUL bytes, slashes, spaces).

A name outside the pattern is a 404 before any view or database sees it.
"""


class DomainNameConverter:
    regex = r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class KindConverter:
    regex = r"record|snapshot"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
