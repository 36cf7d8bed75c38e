"""The API, `/api/v1/`: domains and their configs, the archive's records (the explorer's
filters, cursor pages), one record, incidents and a stream's timeline — for scripts and other
internal tools, with personal access tokens (`Authorization: Bearer lcd_…`) — and configs as
code (api/configs.py: plan and apply, with a token made for it).

Django Ninja: the endpoints are typed functions whose pydantic schemas are the OpenAPI schema
(`/api/v1/schema`), and it is plain Django underneath (the same access module, selectors and
forms as the pages). A token acts as its person, with their role and teams as they are now.
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
from functools import wraps
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security.http import HttpAuthBase

from dashboard import periods
from dashboard.archive.models import ArchivedRecord
from dashboard.archive.selectors import bounded_search, record_get, records_search
from dashboard.contract.urlsafety import ascii_host
from dashboard.domains.kinds import kinds_for
from dashboard.domains.models import Domain
from dashboard.domains.selectors import config_versions, domain_get
from dashboard.incidents.models import Incident
from dashboard.incidents.selectors import in_state
from dashboard.ops.budget import Busy, TooSlow
from dashboard.records.forms import RecordsFilterForm
from dashboard.records.timeline import names_problem, stream_timeline

from .configs import router as configs_router
from .tokens import token_check

MAX_PAGE = 500


class BearerToken(HttpAuthBase):
    """`Authorization: Bearer <token>`; never logs what it was given."""

    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest):
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = token_check(token.strip())
        if found is None:
            return None
        request.user = found.user  # the access module and the logs see the token's person
        request.access_token = found  # what it may do beyond reading (configs.py)
        return found.user


api = NinjaAPI(
    title="Live Callback Dashboard API",
    version="1",
    description=(
        "Authenticate with a personal access token (Your account › Access tokens): "
        "`Authorization: Bearer lcd_…`. A token sees what its person may see now. Tokens read; "
        "one made to change configs also plans and applies configs as code (/configs/runs). "
        "A query parameter an endpoint does not take, or one given twice, is a 400 that names it."
    ),
    auth=BearerToken(),
    urls_namespace="api",
    openapi_url="/schema",
    docs_url=None,
)


def _known_query_only(view):
    """A query parameter the endpoint does not take is refused, naming it and the ones it
    takes: a script that asks for `since=` or `limit=` on /records, which take neither, would
    otherwise get the default day or page and believe it filtered. So is one given twice."""
    parameters = [name for name in inspect.signature(view).parameters if name != "request"]

    @wraps(view)
    def checked(request, *args, **kwargs):
        in_path = request.resolver_match.kwargs if request.resolver_match else {}
        known = [name for name in parameters if name not in in_path]
        unknown = sorted(set(request.GET) - set(known))
        if unknown:
            raise HttpError(
                400,
                f"Unknown query parameter: {', '.join(unknown)}. This endpoint takes: "
                f"{', '.join(known) if known else 'none'}.",
            )
        repeated = sorted(name for name in request.GET if len(request.GET.getlist(name)) > 1)
        if repeated:  # the last one would be read alone: `domain=a&domain=b` is not both
            raise HttpError(
                400, f"Given more than once: {', '.join(repeated)}. Each takes one value."
            )
        return view(request, *args, **kwargs)

    return checked


# every endpoint, the configs router's too (applied when the URLs are built)
api.add_decorator(_known_query_only)


# --- schemas ---------------------------------------------------------------------------------


class ConfigOut(Schema):
    kind: str
    notify_url: str
    on_demand_url: str | None = None
    exception_notify_url: str | None = None
    need_status_notify: bool | None = None
    notify_req_auth: bool
    key_set: bool
    revision: int


class DomainOut(Schema):
    name: str
    type: str
    status: str
    team: str | None
    synced_at: dt.datetime | None
    # the domains mapped to it: an ingest domain's streaming domain, a streaming domain's
    # ingest domain (a stream's timeline joins their callbacks)
    mapped: list[str]
    configs: dict[str, ConfigOut | None]


class RecordOut(Schema):
    id: int
    domain: str
    app: str
    stream: str
    notify_type: str
    result: str
    time: dt.datetime
    url: str
    http_status: int | None
    failure_class: str
    receiver: str


class RecordDetailOut(RecordOut):
    content: str
    header: str
    response: str
    description: str


class RecordsPageOut(Schema):
    records: list[RecordOut]
    next_cursor: str | None


class IncidentOut(Schema):
    id: int
    domain: str
    receiver: str
    failure_class: str
    http_status: int | None
    state: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    count: int
    streams: list[str]


class SessionOut(Schema):
    start: dt.datetime | None
    end: dt.datetime | None
    published: dt.datetime | None
    done: dt.datetime | None
    callbacks: int
    failed: int
    files: int
    snapshots: int
    anomalies: list[str]


class TimelineOut(Schema):
    app: str
    stream: str
    window: str
    callbacks: int
    capped: bool
    domains: list[str]
    # the domains searched: the named domain's family (an ingest domain and the streaming
    # domain it feeds); null when the names are on one family only and none was named
    family: list[str] | None = None
    sessions: list[SessionOut]


# --- domains ---------------------------------------------------------------------------------


def _config(domain: Domain, kind, version: int) -> dict | None:
    config = domain.config(kind)
    if config is None:
        return None
    out: dict[str, Any] = {f: getattr(config, f) for f in kind.fields}
    out.update(kind=kind.name, key_set=bool(config.auth_key_fingerprint), revision=version)
    return out


def _domains_out(domains) -> list[dict]:
    domains = list(domains)
    versions = config_versions(d.pk for d in domains)  # one query, not one a config
    return [
        {
            "name": domain.name,
            "type": domain.domain_type,
            "status": domain.status,
            "team": domain.team.name if domain.team_id else None,
            "synced_at": domain.last_synced_at,
            "mapped": sorted(other.name for other in domain.mapped.all()),
            "configs": {
                kind.name: _config(domain, kind, versions.get((domain.pk, kind.name), 0))
                for kind in kinds_for(domain)
            },
        }
        for domain in domains
    ]


def _domains():
    return (
        Domain.objects.select_related("team", "record_config", "snapshot_config", "stream_config")
        .prefetch_related("mapped")
        .filter(gone_at__isnull=True)
    )


@api.get("/domains", response=list[DomainOut], summary="Every domain and its callback configs")
def domains_list(request, team: str = ""):
    rows = _domains().order_by("name")
    if team:
        rows = rows.filter(team__name=team)
    return _domains_out(rows)


@api.get("/domains/{name}", response=DomainOut, summary="One domain and its callback configs")
def domain_detail(request, name: str):
    # in its own script (直播.example.cn) too: the name Live carries (xn--…)
    domain = _domains().filter(name__iexact=ascii_host(name.strip().rstrip("."))).first()
    if domain is None:
        raise HttpError(404, "No such domain.")
    return _domains_out([domain])[0]


# --- records ---------------------------------------------------------------------------------


def _record(row: ArchivedRecord, *, whole: bool = False) -> dict:
    out = {
        "id": row.pk,
        "domain": row.domain_name,
        "app": row.app_name,
        "stream": row.stream_name,
        "notify_type": row.notify_type,
        "result": row.notify_result,
        "time": row.notify_time,
        "url": row.notify_url,
        "http_status": row.http_status,
        "failure_class": row.failure_class,
        "receiver": row.receiver_host,
    }
    if whole:
        out.update(
            content=row.notify_content,
            header=row.notify_header,
            response=row.notify_response,
            description=row.description,
        )
    return out


def _cursor_read(cursor: str) -> tuple[dt.datetime, int]:
    try:
        moment, _sep, pk = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().partition("|")
        when = dt.datetime.fromisoformat(moment)
        if timezone.is_naive(when):
            raise ValueError
        number = int(pk)
        if not 0 < number < 2**63:
            raise ValueError
        # in UTC, as every cursor given is (a year-1 moment east of UTC is before year 1)
        return when.astimezone(dt.UTC), number
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise HttpError(400, "cursor: not one this API gave.") from exc


def _cursor_make(row: ArchivedRecord) -> str:
    raw = f"{row.notify_time.isoformat()}|{row.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@api.get(
    "/records",
    response=RecordsPageOut,
    summary="Search the archive (the records explorer's filters), newest first",
    description=(
        "The explorer's filters: domain, app and stream (any part of the name; in double "
        'quotes, "cam1", that name only), name (the app or the stream: the header search), status '
        "(success / failed), type (notify type), failure (failure class), http (status code), "
        "receiver (the host callbacks went to), q (text in the URL, content or answer), param "
        "(a push parameter key=value), window (1h, 6h, 24h, 3d, 7d, 30d, 90d) or start and end "
        "(ISO 8601). `size` (1–500) records a page; `cursor` is the previous page's "
        "`next_cursor`."
    ),
)
def records_list(
    request,
    domain: str = "",
    name: str = "",
    app: str = "",
    stream: str = "",
    status: str = "",
    type: str = "",
    failure: str = "",
    http: str = "",
    receiver: str = "",
    q: str = "",
    param: str = "",
    window: str = "",
    start: str = "",
    end: str = "",
    cursor: str = "",
    size: int = 50,
):
    if not 1 <= size <= MAX_PAGE:
        raise HttpError(400, f"size: 1 to {MAX_PAGE}.")
    if status not in ("", "success", "failed"):
        raise HttpError(400, "status: success or failed (the push history is not in this API).")
    given = {
        "domain": domain,
        "name": name,
        "app": app,
        "stream": stream,
        "status": status,
        "type": type,
        "failure": failure,
        "http": http,
        "receiver": receiver,
        "q": q,
        "param": param,
        "window": window or ("" if start or end else "24h"),
        "start": start,
        "end": end,
    }
    form = RecordsFilterForm({k: v for k, v in given.items() if v})
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        raise HttpError(400, problems)
    filters = form.cleaned_data
    try:
        with bounded_search(request.user, filters):
            rows = records_search(filters=filters)
            if cursor:
                when, pk = _cursor_read(cursor)
                rows = rows.filter(notify_time__lte=when).exclude(notify_time=when, id__gte=pk)
            found = list(rows[: size + 1])
    except Busy as busy:
        raise HttpError(429, "Too many searches that read records one by one: try again.") from busy
    except TooSlow as slow:
        raise HttpError(
            503, "The search took too long: narrow the window or add a domain."
        ) from slow
    more = len(found) > size
    page = found[:size]
    return {
        "records": [_record(r) for r in page],
        "next_cursor": _cursor_make(page[-1]) if more and page else None,
    }


@api.get("/records/{record_id}", response=RecordDetailOut, summary="One archived record, whole")
def record_detail(request, record_id: int):
    row = record_get(pk=record_id)
    if row is None:
        raise HttpError(404, "No such record in the archive.")
    return _record(row, whole=True)


# --- incidents and timelines -------------------------------------------------------------------


@api.get("/incidents", response=list[IncidentOut], summary="Incidents, most recent first")
def incidents_list(request, state: str = "", domain: str = "", limit: int = 100):
    if not 1 <= limit <= MAX_PAGE:
        raise HttpError(400, f"limit: 1 to {MAX_PAGE}.")
    rows = Incident.objects.select_related("domain").order_by("-last_seen", "-pk")
    if state:
        if state not in Incident.State.values:
            raise HttpError(400, f"state: one of {', '.join(Incident.State.values)}.")
        rows = rows.filter(in_state(state, timezone.now()))  # a mute that ran out is open
    if domain:
        rows = rows.filter(domain__name__iexact=ascii_host(domain.strip()))
    return [
        {
            "id": i.pk,
            "domain": i.domain.name,
            "receiver": i.receiver_host,
            "failure_class": i.failure_class,
            "http_status": i.http_status,
            "state": i.effective_state,
            "first_seen": i.first_seen,
            "last_seen": i.last_seen,
            "count": i.count,
            "streams": list(i.streams or []),
        }
        for i in rows[:limit]
    ]


TIMELINE_WINDOWS = ("24h", "7d", "30d", "90d")


@api.get(
    "/streams/{app}/{stream}/timeline",
    response=TimelineOut,
    summary="One stream's push sessions and their callbacks, newest first",
)
def stream_timeline_get(request, app: str, stream: str, window: str = "24h", domain: str = ""):
    return _timeline_out(app, stream, window, domain)


@api.get(
    "/streams/timeline",
    response=TimelineOut,
    summary="The same, the names given as app= and stream= (any name, a slash too)",
)
def stream_timeline_named(request, app: str, stream: str, window: str = "24h", domain: str = ""):
    if problem := names_problem(app, stream):
        raise HttpError(400, problem)
    return _timeline_out(app, stream, window, domain)


def _timeline_out(app: str, stream: str, window: str, domain: str) -> dict:
    if window not in TIMELINE_WINDOWS:
        raise HttpError(400, f"window: one of {', '.join(TIMELINE_WINDOWS)}.")
    known = domain_get(name=domain) if domain else None
    if domain and known is None:
        raise HttpError(404, "domain: no domain has this name.")
    now = timezone.now()
    timeline = stream_timeline(
        app=app,
        stream=stream,
        start=now - periods.SPANS[window],
        end=now,
        now=now,
        domain=known.name if known else "",
    )
    if timeline.choose:
        families = "; ".join(" + ".join(f) for f in timeline.families)
        raise HttpError(
            409,
            "These names are on unrelated domains, each a stream of its own: name one with "
            f"domain= ({families}).",
        )
    return {
        "app": app,
        "stream": stream,
        "window": window,
        "callbacks": timeline.total,
        "capped": timeline.capped,
        "domains": timeline.domains,
        "family": timeline.family,
        "sessions": [
            {
                "start": s.start if s.events or s.published else None,
                "end": s.end if s.events or s.published else None,
                "published": s.published,
                "done": s.done,
                "callbacks": len(s.events),
                "failed": s.failed,
                "files": s.files,
                "snapshots": s.snapshots,
                "anomalies": [str(a) for a in s.anomalies],
            }
            for s in timeline.sessions
        ],
    }


api.add_router("/configs", configs_router)
