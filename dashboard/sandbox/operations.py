"""The sixteen operations, as the Live API answers them, over the sandbox's own models."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Func
from django.utils import timezone

from dashboard.contract import api
from dashboard.contract.urlsafety import check_callback_url, resolve_host

from . import traffic
from .errors import (
    SandboxError,
    domain_not_found,
    malformed_param,
    missing,
    record_config_exists,
    record_config_not_found,
    records_error,
    snapshot_error,
    url_error,
)
from .models import (
    SandboxDomain,
    SandboxDomainTag,
    SandboxNotifyRecord,
    SandboxRecordConfig,
    SandboxSnapshotConfig,
    SandboxStreamConfig,
)
from .routers import SANDBOX_ALIAS

Params = Mapping[str, str]
INGEST = "liveEdge"  # the ingest domains' LiveDomainType


def _domain(params: Params) -> SandboxDomain:
    name = params["DomainName"]
    if not name:
        raise missing("DomainName")
    try:
        return SandboxDomain.objects.get(name=name)
    except SandboxDomain.DoesNotExist:
        raise domain_not_found() from None


def _resolver():
    return resolve_host if settings.LIVE_SANDBOX.get("RESOLVE_HOSTNAMES") else None


def _check_url(param: str, value: str, *, max_length: int | None = None) -> None:
    verdict = check_callback_url(value, max_length=max_length, resolve=_resolver())
    if verdict is not None:
        raise url_error(param, verdict)


def _parse_record_bool(params: Params, name: str) -> bool | None:
    if name not in params:
        return None
    try:
        return api.parse_bool(params[name])
    except ValueError:
        raise malformed_param(name) from None


# --- recording callback -----------------------------------------------------------------


def _record_values(params: Params, current: SandboxRecordConfig | None) -> dict:
    _check_url("NotifyUrl", params["NotifyUrl"], max_length=api.RECORD_URL_MAX)
    on_demand = params.get("OnDemandUrl")
    if on_demand:
        _check_url("OnDemandUrl", on_demand, max_length=api.RECORD_URL_MAX)
    need_status = _parse_record_bool(params, "NeedStatusNotify")
    req_auth = _parse_record_bool(params, "NotifyReqAuth")
    key = params.get("NotifyAuthKey")
    # Parameters left out of an Update keep their current value (UNCONFIRMED: the docs
    # describe them as optional without saying they reset).
    values = {
        "notify_url": params["NotifyUrl"],
        "on_demand_url": on_demand
        if on_demand is not None
        else (current.on_demand_url if current else ""),
        "need_status_notify": need_status
        if need_status is not None
        else (current.need_status_notify if current else False),
        "notify_req_auth": req_auth
        if req_auth is not None
        else (current.notify_req_auth if current else False),
        "notify_auth_key": key if key is not None else (current.notify_auth_key if current else ""),
    }
    if key and not api.is_valid_auth_key(key):
        raise malformed_param("NotifyAuthKey")
    if values["notify_req_auth"] and not values["notify_auth_key"]:
        raise missing("NotifyAuthKey")
    return values


def add_record_config(params: Params) -> dict:
    domain = _domain(params)
    values = _record_values(params, None)
    try:
        with transaction.atomic(using=SANDBOX_ALIAS):
            SandboxRecordConfig.objects.create(domain=domain, **values)
    except IntegrityError:
        raise record_config_exists() from None
    return {}


def update_record_config(params: Params) -> dict:
    domain = _domain(params)
    with transaction.atomic(using=SANDBOX_ALIAS):
        current = SandboxRecordConfig.objects.select_for_update().filter(domain=domain).first()
        if current is None:
            raise record_config_not_found()
        for field, value in _record_values(params, current).items():
            setattr(current, field, value)
        current.save()
    return {}


def describe_record_config(params: Params) -> dict:
    domain = _domain(params)
    config = SandboxRecordConfig.objects.filter(domain=domain).first()
    if config is None:
        raise record_config_not_found()
    return {
        "LiveRecordNotifyConfig": {
            "DomainName": domain.name,
            "NotifyUrl": config.notify_url,
            "OnDemandUrl": config.on_demand_url,
            "NeedStatusNotify": config.need_status_notify,
            "NotifyReqAuth": config.notify_req_auth,
            "NotifyAuthKey": config.notify_auth_key,
        }
    }


def delete_record_config(params: Params) -> dict:
    domain = _domain(params)
    deleted, _ = SandboxRecordConfig.objects.filter(domain=domain).delete()
    if not deleted:
        raise record_config_not_found()
    return {}


# --- snapshot callback ------------------------------------------------------------------


def _snapshot_values(params: Params, current: SandboxSnapshotConfig | None) -> dict:
    url = params.get("NotifyUrl")
    if url == "" and current is None:
        raise snapshot_error("MissingParam", "NotifyUrl is empty")
    if url is not None:
        # The snapshot operations document no InvalidNotifyUrl.* codes: a URL that is too
        # long, not http(s) or not safe is a MalformedParam.
        verdict = check_callback_url(url, max_length=api.SNAPSHOT_URL_MAX, resolve=_resolver())
        if verdict is not None:
            detail = "NotifyUrl is not safe" if verdict.unsafe else "NotifyUrl is invalid"
            raise snapshot_error("MalformedParam", detail)
    elif current is None:
        raise missing("NotifyUrl")
    req_auth_text = params.get("NotifyReqAuth")
    if req_auth_text is not None and req_auth_text.lower() not in {"yes", "no"}:
        raise snapshot_error("MalformedParam", "NotifyReqAuth must be yes or no")
    key = params.get("NotifyAuthKey")
    if key and not api.is_valid_auth_key(key):
        raise snapshot_error("MalformedParam", "NotifyAuthKey must be 16 to 32 letters and digits")
    values = {
        "notify_url": url if url is not None else current.notify_url,
        "notify_req_auth": (req_auth_text.lower() == "yes")
        if req_auth_text is not None
        else (current.notify_req_auth if current else False),
        "notify_auth_key": key if key is not None else (current.notify_auth_key if current else ""),
    }
    if values["notify_req_auth"] and not values["notify_auth_key"]:
        raise snapshot_error("MissingParam", "NotifyAuthKey is required when NotifyReqAuth is yes")
    return values


def add_snapshot_config(params: Params) -> dict:
    domain = _domain(params)
    values = _snapshot_values(params, None)
    try:
        with transaction.atomic(using=SANDBOX_ALIAS):
            SandboxSnapshotConfig.objects.create(domain=domain, **values)
    except IntegrityError:
        # AddLiveSnapshotNotifyConfig page: a second Add is a 409.
        raise snapshot_error("ConfigAlreadyExists", "Config already exists", 409) from None
    return {}


def _snapshot_not_found() -> SandboxError:
    return snapshot_error("ConfigNotFound", "The snapshot callback configuration does not exist")


def update_snapshot_config(params: Params) -> dict:
    domain = _domain(params)
    with transaction.atomic(using=SANDBOX_ALIAS):
        current = SandboxSnapshotConfig.objects.select_for_update().filter(domain=domain).first()
        if current is None:
            raise _snapshot_not_found()
        for field, value in _snapshot_values(params, current).items():
            setattr(current, field, value)
        current.save()
    return {}


def describe_snapshot_config(params: Params) -> dict:
    domain = _domain(params)
    config = SandboxSnapshotConfig.objects.filter(domain=domain).first()
    if config is None:
        raise _snapshot_not_found()
    # Flat, unlike the recording config (docs/live-api.md); NotifyReqAuth as yes/no.
    return {
        "DomainName": domain.name,
        "NotifyUrl": config.notify_url,
        "NotifyReqAuth": "yes" if config.notify_req_auth else "no",
        "NotifyAuthKey": config.notify_auth_key,
    }


def delete_snapshot_config(params: Params) -> dict:
    domain = _domain(params)
    deleted, _ = SandboxSnapshotConfig.objects.filter(domain=domain).delete()
    if not deleted:
        raise _snapshot_not_found()
    return {}


# --- notify records ---------------------------------------------------------------------

# Clocks differ a little between caller and service; a query whose start is a few minutes
# older than the window is answered for the part inside it (UNCONFIRMED; the docs only say
# "the last 7 days").
_WINDOW_TOLERANCE = dt.timedelta(minutes=10)


def _int_param(params: Params, name: str, low: int, high: int) -> int:
    try:
        value = int(params[name])
    except ValueError:
        raise records_error("MalformedParams", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise records_error("MalformedParams", f"{name} must be between {low} and {high}")
    return value


class _ApiTime(Func):
    """A record's time as the API writes it (yyyy-MM-ddTHH:mm:ssZ), formatted by the database:
    read back as datetimes and formatted again in Python, a full page's 500 times took a
    third of this operation's time."""

    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        # stored as UTC text; "%%%%" is one "%" once the template and the query are filled in
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%SZ', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        return self.as_sql(compiler, connection, template=template, **extra)


def _window(params: Params, action: str) -> tuple[SandboxDomain, dt.datetime, dt.datetime]:
    """(domain, StartTime, EndTime) of a query over time, its required parameters present."""
    for name in api.REQUIRED_PARAMS[action]:
        if not params[name]:
            raise records_error("MissingParams", f"{name} is empty")
    domain = _domain(params)
    try:
        return domain, api.parse_time(params["StartTime"]), api.parse_time(params["EndTime"])
    except ValueError:
        raise records_error(
            "MalformedParams", "StartTime and EndTime must be yyyy-MM-ddTHH:mm:ssZ in UTC"
        ) from None


def _records(params: Params, action: str, *, defaults: bool) -> tuple:
    """The records query both families share: checks, then (rows, page number, page size).
    `defaults`: PageNumber / PageSize may be left out (1 and 20)."""
    domain, start, end = _window(params, action)
    if defaults:
        params = {"PageNumber": "1", "PageSize": "20", **params}
    page_number = _int_param(params, "PageNumber", 1, api.RECORDS_PAGE_NUMBER_MAX)
    page_size = _int_param(params, "PageSize", 1, api.RECORDS_PAGE_SIZE_MAX)
    if end <= start:
        raise records_error("MalformedParams", "EndTime must be later than StartTime")
    now = timezone.now()
    oldest = now - api.RECORDS_WINDOW
    if start < oldest - _WINDOW_TOLERANCE:
        raise records_error(
            "MalformedParams", "StartTime is out of range: only the last 7 days can be queried"
        )
    status = params.get("Status")
    if status and status not in api.NOTIFY_RESULTS:
        raise records_error("MalformedParams", "Status must be success or failed")
    storage = params.get("StorageType")
    if storage and storage not in api.STORAGE_TYPES:
        raise records_error("MalformedParams", "StorageType must be oss, vod or all")

    traffic.top_up(domain, now)
    rows = SandboxNotifyRecord.objects.filter(
        domain_name=domain.name, notify_time__gte=max(start, oldest), notify_time__lte=min(end, now)
    )
    if params.get("AppName"):
        rows = rows.filter(app_name=params["AppName"])
    if params.get("StreamName"):
        rows = rows.filter(stream_name=params["StreamName"])
    if status:
        rows = rows.filter(notify_result=status)
    if storage and storage != "all":
        rows = rows.filter(storage_type=storage)
    # One table holds both families, each on its own kind of domain: an ingest domain's
    # records are stream callbacks, a streaming domain's are recording callbacks.
    if (action == api.DESCRIBE_STREAM_RECORDS) != (domain.domain_type == INGEST):
        rows = rows.none()
    return rows, page_number, page_size


_RECORD_FIELDS = (
    "app_name",
    "domain_name",
    "stream_name",
    "notify_type",
    "notify_url",
    "notify_content",
    "notify_header",
    "notify_response",
    "notify_result",
    "api_time",
    "description",
    "storage_type",
)


def _page(rows, page_number: int, page_size: int) -> tuple[int, list[tuple]]:
    total = rows.count()
    offset = (page_number - 1) * page_size
    page = (
        rows.order_by("-notify_time", "-id")
        .annotate(api_time=_ApiTime("notify_time"))
        .values_list(*_RECORD_FIELDS)[offset : offset + page_size]
        if offset < total
        else []
    )
    return total, page


def describe_notify_records(params: Params) -> dict:
    rows, page_number, page_size = _records(params, api.DESCRIBE_RECORDS, defaults=False)
    total, page = _page(rows, page_number, page_size)
    return {
        "Code": 0,
        "Msg": "ok",
        "PageNum": page_number,
        "PageSize": page_size,
        "TotalNum": total,
        "TotalPage": math.ceil(total / page_size) if total else 0,
        "CallbackList": [
            {
                "AppName": app,
                "DomainName": domain_name,
                "StreamName": stream,
                "NotifyType": notify_type,
                "NotifyUrl": url,
                "NotifyContent": content,
                "NotifyHeader": header,
                "NotifyResponse": response,
                "NotifyResult": result,
                "NotifyTime": when,
                "Description": description,
                "StorageType": storage,
            }
            for (
                app,
                domain_name,
                stream,
                notify_type,
                url,
                content,
                header,
                response,
                result,
                when,
                description,
                storage,
            ) in page
        ],
    }


def describe_stream_records(params: Params) -> dict:
    """DescribeLiveStreamsNotifyRecords. Its error table is unreadable in every stored copy
    (UNCONFIRMED): the recording records query's codes are used."""
    rows, page_number, page_size = _records(params, api.DESCRIBE_STREAM_RECORDS, defaults=True)
    total, page = _page(rows, page_number, page_size)
    return {
        "PageNum": page_number,
        "PageSize": page_size,
        "TotalNum": total,
        "TotalPage": math.ceil(total / page_size) if total else 0,
        "NotifyRecordsInfo": {
            "LiveStreamNotifyRecordsInfo": [
                {
                    "DomainName": domain_name,
                    "AppName": app,
                    "StreamName": stream,
                    "NotifyType": notify_type,
                    "NotifyUrl": url,
                    "NotifyTime": when,
                    "NotifyResult": result,
                    "Description": description,
                    "NotifyContent": content,
                    # in the Go SDK's model only (UNCONFIRMED): sent, as the SDK may read them
                    "NotifyHeader": header,
                    "NotifyResponse": response,
                }
                for (
                    app,
                    domain_name,
                    stream,
                    notify_type,
                    url,
                    content,
                    header,
                    response,
                    result,
                    when,
                    description,
                    _storage,
                ) in page
            ]
        },
    }


def describe_publish_list(params: Params) -> dict:
    """DescribeLiveStreamsPublishList: the push sessions of the last 30 days, from the same
    plan the stream and recording callbacks are drawn from. Its error table is not readable
    in any stored copy (UNCONFIRMED): the records query's codes are used."""
    domain, start, end = _window(params, api.DESCRIBE_PUBLISH_LIST)
    now = timezone.now()
    if end <= start or end - start > api.PUBLISH_WINDOW:
        raise records_error(
            "MalformedParams", "EndTime must be later than StartTime, within 30 days"
        )
    if start < now - api.PUBLISH_WINDOW - _WINDOW_TOLERANCE:
        raise records_error("MalformedParams", "StartTime is out of range: only the last 30 days")
    page_number = _int_param({"PageNumber": "1", **params}, "PageNumber", 1, 100_000)
    size = _int_param({"PageSize": "2000", **params}, "PageSize", 1, api.PUBLISH_PAGE_SIZE_MAX)
    ingest, fed = traffic.push_pair(domain)
    per_hour = ingest.records_per_hour / 2 if ingest else 0
    streams = [
        s
        for s in traffic.push_sessions(fed, per_hour, start, end)
        if start <= s.began < min(end, now)
        and (not params.get("AppName") or s.app == params["AppName"])
        and (
            not params.get("StreamName")
            or (
                s.stream == params["StreamName"]
                if params.get("QueryType") == "strict"
                else params["StreamName"] in s.stream
            )
        )
    ]
    streams.sort(key=lambda s: s.began, reverse=params.get("OrderBy") == "publish_time_desc")
    page = streams[(page_number - 1) * size : page_number * size]

    def item(s) -> dict:
        found = {
            "DomainName": domain.name,
            "AppName": s.app,
            "StreamName": s.stream,
            "PublishDomain": ingest.name if ingest else domain.name,
            "PublishTime": api.format_time(s.began),
            "PublishUrl": f"rtmp://{ingest.name if ingest else domain.name}/{s.app}/{s.stream}",
            "ClientAddr": s.params["ip"],
            "EdgeNodeAddr": s.params["node"],
            "PublishType": "edge",
            "Transcoded": "no",
        }
        if s.ended <= now:  # still pushing: no StopTime (UNCONFIRMED)
            found["StopTime"] = api.format_time(s.ended)
        return found

    return {
        "PageNum": page_number,
        "PageSize": size,
        "TotalNum": len(streams),
        "TotalPage": math.ceil(len(streams) / size) if streams else 0,
        "PublishInfo": {"LiveStreamPublishInfo": [item(s) for s in page]},
    }


# --- stream ingest callback (ingest domains) ------------------------------------------------


def _stream_invalid() -> SandboxError:
    # SetLiveStreamsNotifyUrlConfig's one documented refusal of a value: 400 InvalidParam.
    return SandboxError("InvalidParam", "Parameter invalid.")


def set_stream_config(params: Params) -> dict:
    """Set writes the whole config: a parameter left out is cleared (UNCONFIRMED; Set is the
    only writer, and the console's edit form sends every field)."""
    domain = _domain(params)
    if domain.domain_type != INGEST:
        # Stream callbacks belong to ingest domains (console pages); the 2016 page's code.
        raise SandboxError("IllegalOperation", "Illegal domain operate is not permitted.", 403)
    values = {}
    for param, field in (
        ("NotifyUrl", "notify_url"),
        ("ExceptionNotifyUrl", "exception_notify_url"),
        ("SwitchNotifyUrl", "switch_notify_url"),
    ):
        url = params.get(param) or ""
        if url and check_callback_url(url, max_length=api.STREAM_URL_MAX, resolve=_resolver()):
            raise _stream_invalid()
        values[field] = url
    if not values["notify_url"] and not values["exception_notify_url"]:
        raise _stream_invalid()
    req_auth = (params.get("NotifyReqAuth") or "no").lower()
    if req_auth not in {"yes", "no"}:
        raise _stream_invalid()
    key = params.get("NotifyAuthKey") or ""
    if key and not api.is_valid_auth_key(key, stream=True):
        raise _stream_invalid()
    if req_auth == "yes" and not key:
        raise _stream_invalid()
    values.update(notify_req_auth=req_auth == "yes", notify_auth_key=key)
    SandboxStreamConfig.objects.update_or_create(domain=domain, defaults=values)
    return {}


def describe_stream_config(params: Params) -> dict:
    """A domain without a config answers 200 with no LiveStreamsNotifyConfig (UNCONFIRMED:
    only InternalError is documented)."""
    domain = _domain(params)
    config = SandboxStreamConfig.objects.filter(domain=domain).first()
    if config is None:
        return {}
    return {
        "LiveStreamsNotifyConfig": {
            "DomainName": domain.name,
            "NotifyUrl": config.notify_url,
            "ExceptionNotifyUrl": config.exception_notify_url,
            "NotifyReqAuth": "yes" if config.notify_req_auth else "no",
            "NotifyAuthKey": config.notify_auth_key,
        }
    }


def delete_stream_config(params: Params) -> dict:
    """Deleting what is not there succeeds (UNCONFIRMED: no error is documented)."""
    domain = _domain(params)
    SandboxStreamConfig.objects.filter(domain=domain).delete()
    return {}


# --- domains ----------------------------------------------------------------------------


def describe_user_domains(params: Params) -> dict:
    page_number = _int_param(params, "PageNumber", 1, 100_000) if "PageNumber" in params else 1
    page_size = (
        _int_param(params, "PageSize", 1, api.DOMAINS_PAGE_SIZE_MAX) if "PageSize" in params else 20
    )
    rows = SandboxDomain.objects.all()
    name = params.get("DomainName")
    search = params.get("DomainSearchType") or "fuzzy_match"
    if search not in api.DOMAIN_SEARCH_TYPES:
        raise malformed_param("DomainSearchType")
    if name:
        lookup = {
            "fuzzy_match": "name__contains",
            "pre_match": "name__startswith",
            "suf_match": "name__endswith",
            "full_match": "name",
        }[search]
        rows = rows.filter(**{lookup: name})
    status = params.get("DomainStatus")
    if status:
        if status not in api.DOMAIN_STATUSES:
            raise malformed_param("DomainStatus")
        rows = rows.filter(status=status)
    kind = params.get("LiveDomainType")
    if kind:
        if kind not in api.DOMAIN_TYPES:
            raise malformed_param("LiveDomainType")
        rows = rows.filter(domain_type=kind)
    if params.get("RegionName"):
        rows = rows.filter(region=params["RegionName"])
    if params.get("ResourceGroupId"):
        rows = rows.filter(resource_group_id=params["ResourceGroupId"])
    for key, value in _tags(params):
        tagged = SandboxDomainTag.objects.filter(key=key)
        if value is not None:
            tagged = tagged.filter(value=value)
        rows = rows.filter(pk__in=tagged.values("domain_id"))
    total = rows.count()
    offset = (page_number - 1) * page_size
    page = rows.order_by("name")[offset : offset + page_size]
    return {
        "PageNumber": page_number,
        "PageSize": page_size,
        "TotalCount": total,
        "Domains": {
            "PageData": [
                {
                    "DomainName": d.name,
                    "Cname": d.cname,
                    "Description": d.description,
                    "LiveDomainStatus": d.status,
                    "LiveDomainType": d.domain_type,
                    "RegionName": d.region,
                    "ResourceGroupId": d.resource_group_id,
                    "GmtCreated": api.format_time(d.created),
                    "GmtModified": api.format_time(d.modified),
                }
                for d in page
            ]
        },
    }


def _tags(params: Params) -> list[tuple[str, str | None]]:
    """Tag.N.Key / Tag.N.Value (N from 1 to 20): every one must match (a key alone: any
    value)."""
    tags = []
    for n in range(1, 21):
        key = params.get(f"Tag.{n}.Key")
        if key:
            tags.append((key, params.get(f"Tag.{n}.Value")))
        elif params.get(f"Tag.{n}.Value"):
            raise missing(f"Tag.{n}.Key")
    return tags


def describe_domain_mapping(params: Params) -> dict:
    """DescribeLiveDomainMapping: the demo account's ingest domains each feed one streaming
    domain (the pairs its pushes are drawn from). Its error table is not in the stored pages
    (UNCONFIRMED): an unknown domain is the other operations' InvalidDomain.NotFound."""
    domain = _domain(params)
    return {
        "LiveDomainModels": {
            "LiveDomainModel": [
                {"DomainName": name, "Type": kind} for name, kind in traffic.mapped(domain)
            ]
        }
    }


HANDLERS: dict[str, Callable[[Params], dict]] = {
    api.ADD_RECORD: add_record_config,
    api.UPDATE_RECORD: update_record_config,
    api.DESCRIBE_RECORD: describe_record_config,
    api.DELETE_RECORD: delete_record_config,
    api.ADD_SNAPSHOT: add_snapshot_config,
    api.UPDATE_SNAPSHOT: update_snapshot_config,
    api.DESCRIBE_SNAPSHOT: describe_snapshot_config,
    api.DELETE_SNAPSHOT: delete_snapshot_config,
    api.DESCRIBE_RECORDS: describe_notify_records,
    api.DESCRIBE_DOMAINS: describe_user_domains,
    api.SET_STREAM: set_stream_config,
    api.DESCRIBE_STREAM: describe_stream_config,
    api.DELETE_STREAM: delete_stream_config,
    api.DESCRIBE_STREAM_RECORDS: describe_stream_records,
    api.DESCRIBE_PUBLISH_LIST: describe_publish_list,
    api.DESCRIBE_MAPPING: describe_domain_mapping,
}
