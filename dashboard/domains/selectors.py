"""Reading: the cache and the current upstream config of one domain."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Q

from dashboard.contract.urlsafety import ascii_host
from dashboard.upstream import get_client, upstream_errors

from .models import (
    ConfigState,
    Domain,
    RecordNotifyConfig,
    SnapshotNotifyConfig,
    StreamNotifyConfig,
)


def config_versions(domain_ids) -> dict[tuple[int, str], int]:
    """`Domain.version` of many domains in one query: {(domain id, kind name): version};
    a config never changed has no entry (version 0)."""
    rows = ConfigState.objects.filter(domain_id__in=list(domain_ids))
    return {(d, k): v for d, k, v in rows.values_list("domain_id", "kind", "version")}


def upstream_config(*, domain_name: str, kind, deadline: float | None = None):
    """The config of one kind as the Live API holds it now (None: not configured).

    Raises UpstreamError. Used by saves, refreshes, key reveals and test callbacks alike.
    """
    with upstream_errors():
        return kind.describe(get_client(), domain_name, deadline=deadline)


def upstream_mapping(*, domain_name: str, deadline: float | None = None) -> list[str]:
    """The names of the domains mapped to this one upstream (an ingest domain's streaming
    domains, DescribeLiveDomainMapping). Raises UpstreamError."""
    with upstream_errors():
        mapped = get_client().describe_domain_mapping(domain_name, deadline=deadline)
    return [m.domain_name for m in mapped]


def domain_family(name: str) -> list[str]:
    """`name` and the domains mapped to it (an ingest domain and the streaming domain it
    feeds), and theirs in turn: the domains whose callbacks of one stream tell one story."""
    family, frontier = {name}, {name}
    while frontier:
        found = Domain.mapped.through.objects.filter(from_domain__name__in=frontier)
        frontier = set(found.values_list("to_domain__name", flat=True)) - family
        family |= frontier
    return sorted(family)


def family_ingest_domains(name: str) -> list[str]:
    """The ingest domains of `name`'s family: where the pushes of its streams come in, and so
    whose push history tells them (Live keeps one for ingest domains)."""
    family = domain_family(name)
    return sorted(
        Domain.objects.filter(name__in=family, domain_type=Domain.Type.INGEST).values_list(
            "name", flat=True
        )
    )


def push_history_domains(name: str) -> list[str]:
    """The domains whose push history tells `name`'s pushes: an ingest domain itself, a
    streaming domain the ingest domains mapped to it ([] for one no ingest domain feeds)."""
    through = family_ingest_domains(name)
    return [name] if name in through else through


def domain_families(names) -> list[list[str]]:
    """`names` grouped into families, each whole (sorted, as `domain_family` gives it, with the
    domains that join them even when not among `names`; the families by their first name)."""
    names = set(names)
    edges: list[tuple[str, str]] = []
    known, frontier = set(names), set(names)
    while frontier:
        found = list(
            Domain.mapped.through.objects.filter(from_domain__name__in=frontier).values_list(
                "from_domain__name", "to_domain__name"
            )
        )
        edges += found
        frontier = {other for _one, other in found} - known
        known |= frontier
    family = {name: {name} for name in known}
    for one, other in edges:
        if family[one] is not family[other]:
            joined = family[one] | family[other]
            for member in joined:
                family[member] = joined
    unique = {id(family[name]): family[name] for name in names}
    return sorted(sorted(f) for f in unique.values())


def upstream_health() -> dict:
    """Is the Live API failing right now (the client's circuit breaker is open)?"""
    return {"degraded": get_client().breaker.is_open}


def domain_get(*, name: str) -> Domain | None:
    """A domain by name, however its letters are cased (domain names are case-insensitive);
    None for a name no domain can have (empty, longer than 253, a NUL), without a query."""
    name = name.strip().rstrip(".")
    if not 0 < len(name) <= 253 or "\x00" in name:
        return None
    name = ascii_host(name)  # typed in its own script: as Live names it (xn--…)
    return (
        Domain.objects.select_related("team", "record_config", "snapshot_config", "stream_config")
        .filter(name__iexact=name)
        .first()
    )


def callback_receiver(host: str) -> str:
    """`host` (a receiver's name, typed alone in the header search) as the URLs carry it, when
    a domain's callback config sends to it; "" when none does."""
    host = ascii_host(host.strip().rstrip(".")).lower()
    if not 0 < len(host) <= 253 or "\x00" in host or "/" in host:
        return ""
    # "://host" then the end, a port, a path or a query: never a longer host that begins so
    urls = [f"://{host}{end}" for end in ("", ":", "/", "?")]

    def sent_there(*fields: str) -> Q:
        query = Q()
        for field in fields:
            for url in urls:
                lookup = "iendswith" if url == urls[0] else "icontains"
                query |= Q(**{f"{field}__{lookup}": url})
        return query

    sent = (
        RecordNotifyConfig.objects.filter(sent_there("notify_url", "on_demand_url")).exists()
        or SnapshotNotifyConfig.objects.filter(sent_there("notify_url")).exists()
        or StreamNotifyConfig.objects.filter(
            sent_there("notify_url", "exception_notify_url")
        ).exists()
    )
    return host if sent else ""


def name_holds(field: str, text: str) -> Q:
    """`field` (a domain's name) holds `text` in any case — or its IDNA form, for text of
    another script or typed with a Chinese input method's full stops (直播 is xn--z6ut02b)."""
    text = text.strip()
    holds = Q(**{f"{field}__icontains": text})
    if (written := ascii_host(text)) != text:
        holds |= Q(**{f"{field}__icontains": written})
    return holds


def callback_domain_names() -> list[str]:
    """For the domain pickers: every domain still upstream (streaming domains' recording and
    snapshot callbacks, ingest domains' stream callbacks); cached a minute."""
    return cache.get_or_set(
        "callback-domain-names",
        lambda: list(
            Domain.objects.filter(gone_at__isnull=True)
            .order_by("name")
            .values_list("name", flat=True)
        ),
        60,
    )
