"""The callback config kinds — recording and snapshot (streaming domains), stream ingest
(ingest domains) — as one table of facts.

They differ in a handful of things: the domains they belong to, the cache model, the form,
which fields they carry, the Live API operations and how those take their parameters, labels,
and the URL length limit. Everything else (saving, syncing, auditing, templates) reads these
facts instead of asking "which kind is this?".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dashboard.contract import api
from dashboard.live.client import LiveClient

from .forms import RecordConfigForm, SnapshotConfigForm, StreamConfigForm
from .models import (
    RecordNotifyConfig,
    SnapshotNotifyConfig,
    StreamNotifyConfig,
    fingerprint_matches,
    key_fingerprint,
)


@dataclass(frozen=True, eq=False)
class ConfigKind:
    name: str  # "record" / "snapshot": URLs, audit entries, ConfigState rows
    label: Promise
    delete_question: Promise
    model: type
    form_class: type
    # The fields besides the key that the config carries, in display order; the first is the
    # callback URL. Upstream dataclasses and cache models use the same names.
    fields: tuple[str, ...]
    url_max_length: int
    # The Live API operations, as the client's own methods (called with the client).
    describe_op: Callable[..., Any]
    add_op: Callable[..., str]
    update_op: Callable[..., str]
    delete_op: Callable[..., str]
    # The LiveDomainType of the domains that carry this kind.
    domain_type: str = "liveVideo"

    def __str__(self) -> str:
        return self.name

    def applies_to(self, domain) -> bool:
        """Does `domain` carry configs of this kind? Ingest domains carry stream callbacks;
        every other domain recording and snapshot callbacks."""
        return (domain.domain_type == "liveEdge") == (self.domain_type == "liveEdge")

    # --- the config's state, as the audit log and conflict checks see it ----------------

    def state(self, values: Mapping[str, Any], fingerprint: str) -> dict:
        """The comparable, secret-free state of one config: its fields and whether a key is
        set (with a short fingerprint, so a changed key shows as a change)."""
        state = {field: values.get(field, _DEFAULTS[field]) for field in self.fields}
        state["auth_key"] = "set" if fingerprint else ""
        state["auth_key_fingerprint"] = fingerprint[:12]
        return state

    def state_of_cached(self, config) -> dict | None:
        if config is None:
            return None
        return self.state({f: getattr(config, f) for f in self.fields}, config.auth_key_fingerprint)

    def state_of_upstream(self, config) -> dict | None:
        if config is None:
            return None
        return self.state(
            {f: getattr(config, f) for f in self.fields},
            key_fingerprint(config.notify_auth_key),
        )

    def values_from(self, data: Mapping[str, Any]) -> dict:
        """The config's fields from validated form data (absent booleans are off)."""
        return {
            f: bool(data.get(f)) if isinstance(_DEFAULTS[f], bool) else (data.get(f) or "")
            for f in self.fields
        }

    def cache_values(self, config) -> dict:
        """The cache columns for an upstream config (the key only as a fingerprint)."""
        values = {f: getattr(config, f) for f in self.fields}
        values["auth_key_fingerprint"] = key_fingerprint(config.notify_auth_key)
        return values

    def cached_matches_upstream(self, cached, upstream) -> bool:
        """Does the cache hold what upstream holds? Survives a SECRET_KEY rotation: the key is
        compared through fingerprint_matches, which also tries SECRET_KEY_FALLBACKS."""
        if cached is None or upstream is None:
            return cached is None and upstream is None
        if any(getattr(cached, f) != getattr(upstream, f) for f in self.fields):
            return False
        return fingerprint_matches(upstream.notify_auth_key, cached.auth_key_fingerprint)

    def initial(self, domain, config) -> dict:
        """The edit form's initial values: the cached config, and the version it carries."""
        initial = {"version": domain.version(self)}
        if config is not None:
            initial.update({f: getattr(config, f) for f in self.fields})
        return initial

    # --- the Live API ---------------------------------------------------------------------

    def describe(self, client, domain_name: str, **kwargs):
        return self.describe_op(client, domain_name, **kwargs)

    def delete(self, client, domain_name: str) -> str:
        return self.delete_op(client, domain_name)

    def send(self, client, domain_name: str, values: Mapping, key: str, *, add: bool) -> str:
        """Add or Update with the given values and key; returns the RequestId."""
        kwargs = {f: values.get(f, _DEFAULTS[f]) for f in self.fields}
        kwargs["notify_auth_key"] = key or None
        return (self.add_op if add else self.update_op)(client, domain_name, **kwargs)


_DEFAULTS = {
    "notify_url": "",
    "on_demand_url": "",
    "exception_notify_url": "",
    "need_status_notify": False,
    "notify_req_auth": False,
}

RECORD = ConfigKind(
    name="record",
    label=_("Recording callback"),
    delete_question=_("Delete the recording callback?"),
    model=RecordNotifyConfig,
    form_class=RecordConfigForm,
    fields=("notify_url", "on_demand_url", "need_status_notify", "notify_req_auth"),
    url_max_length=api.RECORD_URL_MAX,
    describe_op=LiveClient.describe_record_notify_config,
    add_op=LiveClient.add_record_notify_config,
    update_op=LiveClient.update_record_notify_config,
    delete_op=LiveClient.delete_record_notify_config,
)
SNAPSHOT = ConfigKind(
    name="snapshot",
    label=_("Snapshot callback"),
    delete_question=_("Delete the snapshot callback?"),
    model=SnapshotNotifyConfig,
    form_class=SnapshotConfigForm,
    fields=("notify_url", "notify_req_auth"),
    url_max_length=api.SNAPSHOT_URL_MAX,
    describe_op=LiveClient.describe_snapshot_notify_config,
    add_op=LiveClient.add_snapshot_notify_config,
    update_op=LiveClient.update_snapshot_notify_config,
    delete_op=LiveClient.delete_snapshot_notify_config,
)
STREAM = ConfigKind(
    name="stream",
    label=_("Stream callback"),
    delete_question=_("Delete the stream callback?"),
    model=StreamNotifyConfig,
    form_class=StreamConfigForm,
    fields=("notify_url", "exception_notify_url", "notify_req_auth"),
    url_max_length=api.STREAM_URL_MAX,
    describe_op=LiveClient.describe_streams_notify_config,
    # One operation writes it, whether or not the domain has one (Set).
    add_op=LiveClient.set_streams_notify_config,
    update_op=LiveClient.set_streams_notify_config,
    delete_op=LiveClient.delete_streams_notify_config,
    domain_type="liveEdge",
)
KINDS: dict[str, ConfigKind] = {kind.name: kind for kind in (RECORD, SNAPSHOT, STREAM)}


def kinds_for(domain) -> list[ConfigKind]:
    """The kinds of config `domain` carries, in display order."""
    return [kind for kind in KINDS.values() if kind.applies_to(domain)]


# How each field is labelled wherever a config is shown (config card, conflict view).
FIELD_LABELS = {
    "notify_url": _("Notify URL"),
    "on_demand_url": _("On-demand URL"),
    "exception_notify_url": _("Exception URL"),
    "need_status_notify": _("Status notifications"),
    "notify_req_auth": _("Signed callbacks"),
    "auth_key": _("Auth key"),
}


def kind_of_record(record) -> ConfigKind:
    """The config kind a delivery record was sent under (by its notify type)."""
    return kind_of_notify_type(record.notify_type)


@functools.cache
def kind_of_notify_type(notify_type: str) -> ConfigKind:
    """Stream callbacks (publish / publish_done) are sent under the stream config, snapshot
    callbacks under the snapshot config, everything else under the recording config."""
    if notify_type in api.STREAM_NOTIFY_TYPES:
        return STREAM
    return SNAPSHOT if "snapshot" in notify_type.lower() else RECORD


# The fields that hold URLs (shown in a monospace font that breaks anywhere).
URL_FIELDS = frozenset({"notify_url", "on_demand_url", "exception_notify_url"})


def kind_named(name: str) -> ConfigKind:
    """The kind called `name`; KeyError for anything else."""
    return KINDS[name]
