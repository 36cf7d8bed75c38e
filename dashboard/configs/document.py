"""The configs document: every domain's callback configs as one YAML (or JSON) document, and
reading one back.

    format: live-callback-configs/v1
    domains:
      live.example-shop.com:
        team: Shop streaming            # informational
        record:
          notify_url: https://hooks.example-shop.com/live/record
          on_demand_url: ''
          need_status_notify: true
          notify_req_auth: true
          auth_key: keep                # keep | new | {env: NAME} | {file: PATH}
          key_fingerprint: 3f9c0a71d2e4 # informational: which key is set
          revision: 4                   # the dashboard's version of this config
        snapshot: null                  # no snapshot callback (planning null deletes one)

A kind left out of a domain, and a domain left out of the document, are not managed: the
plan leaves them alone. Keys are never written in clear: `keep` keeps the key the config has,
`new` makes a new one, and on the command line `{env: NAME}` / `{file: PATH}` read one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import yaml
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from dashboard.contract.text import storable
from dashboard.contract.urlsafety import ascii_host
from dashboard.domains.kinds import KINDS, kinds_for
from dashboard.domains.models import Domain
from dashboard.domains.selectors import config_versions

FORMAT = "live-callback-configs/v1"
MAX_BYTES = 2_000_000
KEEP, NEW = "keep", "new"
INFORMATIONAL = {"key_fingerprint"}


class DocumentError(ValueError):
    """The document cannot be read; the message says where, in English (`in_words()` in the
    request's language) with its parameters."""

    def __init__(self, message: str, **params):
        # a parameter may be the document's own text, read before its text is checked: a key
        # `"\ud800"` written twice must not make the page that says so unencodable
        params = {k: storable(v) if isinstance(v, str) else v for k, v in params.items()}
        super().__init__(message % params if params else message)
        self.template, self.params = message, params

    def in_words(self) -> str:
        text = gettext(self.template)
        return text % self.params if self.params else text


# --- export ------------------------------------------------------------------------------------


def _config_entry(domain: Domain, kind, version: int) -> dict | None:
    config = domain.config(kind)
    if config is None:
        return None
    entry = {f: getattr(config, f) for f in kind.fields}
    entry["auth_key"] = KEEP
    if config.auth_key_fingerprint:
        entry["key_fingerprint"] = config.auth_key_fingerprint[:12]
    entry["revision"] = version
    return entry


def export_document(*, teams=(), names=()) -> dict:
    """The cached configs (as the last sync or save left them) of every domain, or of those
    of `teams` and/or named in `names`."""
    domains = Domain.objects.all()
    if teams:
        domains = domains.filter(team__name__in=teams)
    if names:
        domains = domains.filter(name__in=names)
    rows = (
        domains.select_related("team", "record_config", "snapshot_config", "stream_config")
        .filter(gone_at__isnull=True)
        .order_by("name")
    )
    rows = list(rows)
    versions = config_versions(d.pk for d in rows)
    out: dict = {}
    for domain in rows:
        entry: dict = {}
        if domain.team_id:
            entry["team"] = domain.team.name
        for kind in kinds_for(domain):
            entry[kind.name] = _config_entry(domain, kind, versions.get((domain.pk, kind.name), 0))
        out[domain.name] = entry
    return {
        "format": FORMAT,
        "exported_at": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        "domains": out,
    }


def dump(document: dict, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    header = "# Live callback configs, exported by the Live Callback Dashboard.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


# --- reading one back ------------------------------------------------------------------------


@dataclass
class Wanted:
    """What the document asks of one (domain, kind): `values` None means no config."""

    domain_name: str
    kind: str
    values: dict | None
    key: object = KEEP  # KEEP, NEW, {"env": …} / {"file": …}, or the key itself (resolved)
    revision: int | None = None
    problems: list[tuple[str, dict]] = field(default_factory=list)


def _bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise DocumentError(gettext_noop("%(where)s must be true or false."), where=where)


def _entry(domain_name: str, kind, raw) -> Wanted:
    where = f"{domain_name}.{kind.name}"
    if raw is None:
        return Wanted(domain_name, kind.name, None)
    if not isinstance(raw, dict):
        raise DocumentError(gettext_noop("%(where)s must be a mapping or null."), where=where)
    allowed = {*kind.fields, "auth_key", "revision", *INFORMATIONAL}
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise DocumentError(
            gettext_noop("%(where)s has fields this kind does not know: %(fields)s."),
            where=where,
            fields=", ".join(unknown),
        )
    values = {}
    for name in kind.fields:
        value = raw.get(name)
        if name in ("need_status_notify", "notify_req_auth"):
            values[name] = _bool(value, f"{where}.{name}") if value is not None else False
        elif value is None:
            values[name] = ""
        elif isinstance(value, str):
            values[name] = value
        else:
            raise DocumentError(gettext_noop("%(where)s must be text."), where=f"{where}.{name}")
    key = raw.get("auth_key", KEEP)
    if isinstance(key, dict):
        if len(key) != 1 or next(iter(key)) not in ("env", "file"):
            raise DocumentError(
                gettext_noop("%(where)s.auth_key is keep, new, {env: NAME} or {file: PATH}."),
                where=where,
            )
        reference = next(iter(key.values()))
        if not isinstance(reference, str) or not reference.strip():
            raise DocumentError(gettext_noop("%(where)s.auth_key names nothing."), where=where)
    elif key not in (KEEP, NEW):
        raise DocumentError(
            gettext_noop(
                "%(where)s.auth_key: write keep, new, {env: NAME} or {file: PATH}; keys are "
                "never written in a document."
            ),
            where=where,
        )
    revision = raw.get("revision")
    if revision is not None and (
        isinstance(revision, bool) or not isinstance(revision, int) or revision < 0
    ):
        raise DocumentError(gettext_noop("%(where)s.revision must be a whole number."), where=where)
    return Wanted(domain_name, kind.name, values, key=key, revision=revision)


def read(raw: bytes) -> list[Wanted]:
    """A document as it was sent (a file, a request's body, standard input): at most MAX_BYTES
    of UTF-8 text naming at least one domain. Raises DocumentError otherwise."""
    if len(raw) > MAX_BYTES:
        raise DocumentError(gettext_noop("The document is larger than 2 MB."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError(gettext_noop("The document is not UTF-8 text.")) from None
    wanted = parse(text)
    if not wanted:
        raise DocumentError(gettext_noop("The document names no domain."))
    return wanted


class _Twice(Exception):
    """A mapping of the document has a key twice (JSON and YAML would keep the last silently)."""

    def __init__(self, key, line: int = 0):
        super().__init__(key)
        self.key, self.line = key, line


def _no_key_twice(pairs: list) -> dict:
    seen = set()
    for key, _value in pairs:
        if key in seen:
            raise _Twice(key)
        seen.add(key)
    return dict(pairs)


def _check_keys(root: yaml.Node) -> None:
    """Raise _Twice for a key written twice in one YAML mapping (before merge keys, `<<`, are
    applied: a key that overrides a merged one is meant). Each node is looked at once."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in keys:
                        raise _Twice(key.value, key.start_mark.line + 1)
                    keys.add((key.tag, key.value))
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _yaml(text: str):
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_keys(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _pairs_joined(text: str) -> str:
    """Text as YAML reads a JSON key: an escaped surrogate pair (`"\\ud83d\\ude00"`) is two
    lone surrogates there; joined, it is the character the document's author wrote."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _load(text: str):
    """JSON as JSON (YAML 1.1 reads its escaped surrogate pairs, `"\\ud83d\\ude00"`, as two lone
    surrogates), anything else as YAML. A key written twice in one mapping is refused."""
    if "\x00" in text:
        raise DocumentError(gettext_noop("The document contains a NUL character."))
    try:
        return json.loads(text, object_pairs_hook=_no_key_twice)
    except (ValueError, RecursionError, _Twice):
        pass  # YAML reads JSON too, and says on which line a key is twice
    try:
        return _yaml(text)
    except _Twice as twice:
        raise DocumentError(
            gettext_noop(
                "%(key)s is written twice in one mapping (line %(line)s): JSON and YAML would "
                "keep only the last. Write it once."
            ),
            key=_pairs_joined(str(twice.key))[:100],
            line=twice.line,
        ) from None
    except (ValueError, RecursionError):  # a number of over 4,300 digits, lists 1,000 deep
        raise DocumentError(
            gettext_noop("The document is too deep or its numbers too long.")
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise DocumentError(
            gettext_noop("The document is neither YAML nor JSON (line %(line)s)."), line=line
        ) from None


def _unstorable(data) -> bool:
    """Whether any text in the document, keys too, holds what no database stores (an escape
    such as `"\\u0000"` makes one). Each node is looked at once: YAML's aliases can make a
    document a graph, even a cycle."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if storable(node) != node:
                return True
        elif isinstance(node, dict | list) and id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.items() if isinstance(node, dict) else node)
        elif isinstance(node, tuple):
            stack.extend(node)
    return False


def parse(text: str) -> list[Wanted]:
    """What a document asks for, (domain, kind) by (domain, kind), in its order. Raises
    DocumentError for a document that cannot be read at all; a domain the dashboard does not
    know, or a kind it does not carry, is kept as a problem for the plan to refuse."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise DocumentError(gettext_noop("The document is larger than 2 MB."))
    data = _load(text)
    if _unstorable(data):
        raise DocumentError(
            gettext_noop("The document contains text no database stores: NUL or a lone surrogate.")
        )
    if not isinstance(data, dict) or not isinstance(data.get("domains"), dict):
        raise DocumentError(gettext_noop("The document has no 'domains' mapping."))
    if data.get("format", FORMAT) != FORMAT:
        given = data.get("format")
        raise DocumentError(
            gettext_noop("The document's format is %(format)s; this dashboard reads %(ours)s."),
            # a scalar's words only: YAML's aliases make a list of a billion items in a few lines
            format=str(given)[:60]
            if isinstance(given, str | int | float)
            else type(given).__name__,
            ours=FORMAT,
        )

    # domain names know no case (Live keeps them in lower case), and one in its own script is
    # the one Live names in IDNA form (直播.example.cn is xn--z6ut02b.example.cn)
    def as_live(name: str) -> str:
        return ascii_host(name).lower()

    names = {n for name in data["domains"] for n in (str(name), as_live(str(name)))}
    known = {d.name.lower(): d for d in Domain.objects.filter(name__in=names)}
    written: dict[str, str] = {}
    wanted: list[Wanted] = []
    for raw_name, entry in data["domains"].items():
        name = str(raw_name)
        domain = known.get(as_live(name))
        if (first := written.setdefault(as_live(name), name)) != name:
            raise DocumentError(
                gettext_noop("%(first)s and %(name)s are one domain: write it once."),
                first=first[:100],
                name=name[:100],
            )
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise DocumentError(gettext_noop("%(where)s must be a mapping."), where=name)
        if domain is None:
            problem = Wanted(name, "", None)
            problem.problems.append((gettext_noop("No such domain in the dashboard."), {}))
            wanted.append(problem)
            continue
        carried = {kind.name for kind in kinds_for(domain)}
        for key, raw in entry.items():
            if key == "team":
                continue
            kind = KINDS.get(str(key))
            if kind is None:
                raise DocumentError(
                    gettext_noop(
                        "%(where)s: %(key)s is not a config kind (record, snapshot, stream)."
                    ),
                    where=name,
                    key=str(key)[:40],
                )
            item = _entry(domain.name, kind, raw)
            if kind.name not in carried:
                item.problems.append(
                    (
                        gettext_noop("This domain does not carry %(kind)s callbacks."),
                        {"kind": kind.name},
                    )
                )
            wanted.append(item)
    return wanted
