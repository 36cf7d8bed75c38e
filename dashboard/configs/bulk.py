"""A bulk change from the domain list, as what a configs document would say."""

from __future__ import annotations

from dashboard.domains.kinds import KINDS, kinds_for
from dashboard.domains.models import Domain

from .document import KEEP, NEW, Wanted


def _cached_values(domain: Domain, kind) -> dict:
    """The config's fields as the cache holds them (the kind's defaults when there is none)."""
    config = domain.config(kind)
    return kind.values_from({f: getattr(config, f) for f in kind.fields} if config else {})


def bulk_wanted(*, domains, action: str, url: str = "", source: Domain | None = None):
    """Domain by domain: set the recording callback URL (`record_url`), turn signing on with
    a new key (`sign_new_key`), or copy `source`'s callbacks (`copy_from`: the kinds it has,
    never deleting what it lacks; a signed copy gets a new key where the target has none)."""
    wanted: list[Wanted] = []
    for domain in domains:
        if action == "record_url":
            kind = KINDS["record"]
            if kind.applies_to(domain):
                values = {**_cached_values(domain, kind), "notify_url": url.strip()}
                wanted.append(Wanted(domain.name, kind.name, values))
        elif action == "sign_new_key":
            for kind in kinds_for(domain):
                if domain.config(kind) is not None:
                    values = {**_cached_values(domain, kind), "notify_req_auth": True}
                    wanted.append(Wanted(domain.name, kind.name, values, key=NEW))
        elif action == "copy_from" and source is not None and domain.pk != source.pk:
            for kind in kinds_for(source):
                if not kind.applies_to(domain) or source.config(kind) is None:
                    continue
                values = _cached_values(source, kind)
                target = domain.config(kind)
                signed_here = target is not None and bool(target.auth_key_fingerprint)
                key = KEEP if signed_here or not values.get("notify_req_auth") else NEW
                wanted.append(Wanted(domain.name, kind.name, values, key=key))
    return wanted
