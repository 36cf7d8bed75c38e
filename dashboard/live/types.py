"""Typed results of the Live API: plain dataclasses with real Python types."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dashboard.contract.api import parse_bool, parse_json_tolerant, parse_time


def _bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    try:
        return parse_bool(value)
    except ValueError:
        return default


def _text(value: Any) -> str:
    """A field as text: "" for a missing one, numbers and the like as their text."""
    if value.__class__ is str:
        return value
    return "" if value is None else str(value)


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class LiveRecordNotifyConfig:
    domain_name: str
    notify_url: str
    on_demand_url: str = ""
    need_status_notify: bool = False
    notify_req_auth: bool = False
    notify_auth_key: str = field(default="", repr=False)
    request_id: str = ""

    @classmethod
    def from_body(cls, body: dict) -> LiveRecordNotifyConfig:
        data = body.get("LiveRecordNotifyConfig") or {}
        return cls(
            domain_name=str(data.get("DomainName", "")),
            notify_url=str(data.get("NotifyUrl") or ""),
            on_demand_url=str(data.get("OnDemandUrl") or ""),
            need_status_notify=_bool(data.get("NeedStatusNotify")),
            notify_req_auth=_bool(data.get("NotifyReqAuth")),
            notify_auth_key=str(data.get("NotifyAuthKey") or ""),
            request_id=str(body.get("RequestId", "")),
        )


@dataclass(frozen=True)
class LiveSnapshotNotifyConfig:
    domain_name: str
    notify_url: str
    notify_req_auth: bool = False
    notify_auth_key: str = field(default="", repr=False)
    request_id: str = ""

    @classmethod
    def from_body(cls, body: dict) -> LiveSnapshotNotifyConfig:
        return cls(
            domain_name=str(body.get("DomainName", "")),
            notify_url=str(body.get("NotifyUrl") or ""),
            notify_req_auth=_bool(body.get("NotifyReqAuth")),
            notify_auth_key=str(body.get("NotifyAuthKey") or ""),
            request_id=str(body.get("RequestId", "")),
        )


@dataclass(frozen=True)
class LiveStreamsNotifyConfig:
    """An ingest domain's stream callback config (publish / publish_done, exceptions)."""

    domain_name: str
    notify_url: str
    exception_notify_url: str = ""
    notify_req_auth: bool = False
    notify_auth_key: str = field(default="", repr=False)
    request_id: str = ""

    @classmethod
    def from_body(cls, body: dict) -> LiveStreamsNotifyConfig:
        data = body.get("LiveStreamsNotifyConfig") or {}
        return cls(
            domain_name=_text(data.get("DomainName")),
            notify_url=_text(data.get("NotifyUrl")),
            exception_notify_url=_text(data.get("ExceptionNotifyUrl")),
            notify_req_auth=_bool(data.get("NotifyReqAuth")),
            # a number in the Chinese page's example: text here whatever it arrives as
            notify_auth_key=_text(data.get("NotifyAuthKey")),
            request_id=_text(body.get("RequestId")),
        )


@dataclass(frozen=True)
class NotifyRecord:
    app_name: str
    domain_name: str
    stream_name: str
    notify_type: str
    notify_url: str
    notify_content: str
    notify_header: str
    notify_response: str
    notify_result: str
    notify_time: dt.datetime | None
    description: str
    storage_type: str = ""

    @classmethod
    def from_item(cls, item: dict) -> NotifyRecord:
        get = item.get
        # The fields go straight into the new instance's __dict__, once: the generated
        # __init__ of a frozen dataclass sets them one by one through object.__setattr__,
        # six times slower, and the harvest reads ~30,000 records a second.
        record = object.__new__(cls)
        record.__dict__.update(
            app_name=_text(get("AppName")),
            domain_name=_text(get("DomainName")),
            stream_name=_text(get("StreamName")),
            notify_type=_text(get("NotifyType")),
            notify_url=_text(get("NotifyUrl")),
            notify_content=_text(get("NotifyContent")),
            notify_header=_text(get("NotifyHeader")),
            notify_response=_text(get("NotifyResponse")),
            notify_result=_text(get("NotifyResult")),
            notify_time=_time(get("NotifyTime")),
            description=_text(get("Description")),
            storage_type=_text(get("StorageType")),
        )
        return record

    @property
    def succeeded(self) -> bool:
        return self.notify_result == "success"

    @cached_property
    def content_json(self) -> Any | None:
        return parse_json_tolerant(self.notify_content)


@dataclass(frozen=True)
class NotifyRecordsPage:
    # The page's records as the API gave them: `records` reads them on first use (the
    # harvest goes from these straight to the archive's rows, archive/store.py).
    items: list[dict]
    page_number: int
    page_size: int
    total_num: int
    total_page: int
    request_id: str = ""

    @cached_property
    def records(self) -> list[NotifyRecord]:
        return [NotifyRecord.from_item(i) for i in self.items]

    @classmethod
    def from_body(cls, body: dict) -> NotifyRecordsPage:
        return cls(
            items=list(body.get("CallbackList") or []),
            page_number=int(body.get("PageNum") or 1),
            page_size=int(body.get("PageSize") or 0),
            total_num=int(body.get("TotalNum") or 0),
            total_page=int(body.get("TotalPage") or 0),
            request_id=str(body.get("RequestId", "")),
        )

    @classmethod
    def from_stream_body(cls, body: dict) -> NotifyRecordsPage:
        """A page of DescribeLiveStreamsNotifyRecords: the same fields, other wrappers."""
        items = (body.get("NotifyRecordsInfo") or {}).get("LiveStreamNotifyRecordsInfo") or []
        return cls(
            items=list(items),
            page_number=int(body.get("PageNum") or 1),
            page_size=int(body.get("PageSize") or 0),
            total_num=int(body.get("TotalNum") or 0),
            total_page=int(body.get("TotalPage") or 0),
            request_id=str(body.get("RequestId", "")),
        )


@dataclass(frozen=True)
class LiveDomain:
    name: str
    domain_type: str
    status: str
    region: str = ""
    cname: str = ""
    description: str = ""
    resource_group_id: str = ""
    created: dt.datetime | None = None
    modified: dt.datetime | None = None

    @classmethod
    def from_item(cls, item: dict) -> LiveDomain:
        return cls(
            name=str(item.get("DomainName", "")),
            domain_type=str(item.get("LiveDomainType") or ""),
            status=str(item.get("LiveDomainStatus") or ""),
            region=str(item.get("RegionName") or ""),
            cname=str(item.get("Cname") or ""),
            description=str(item.get("Description") or ""),
            resource_group_id=str(item.get("ResourceGroupId") or ""),
            created=_time(item.get("GmtCreated")),
            modified=_time(item.get("GmtModified")),
        )


@dataclass(frozen=True)
class DomainsPage:
    domains: list[LiveDomain]
    page_number: int
    page_size: int
    total_count: int
    request_id: str = ""

    @classmethod
    def from_body(cls, body: dict) -> DomainsPage:
        data = (body.get("Domains") or {}).get("PageData") or []
        return cls(
            domains=[LiveDomain.from_item(i) for i in data],
            page_number=int(body.get("PageNumber") or 1),
            page_size=int(body.get("PageSize") or 0),
            total_count=int(body.get("TotalCount") or 0),
            request_id=str(body.get("RequestId", "")),
        )


@dataclass(frozen=True)
class PublishedStream:
    """One push session from the push history (DescribeLiveStreamsPublishList)."""

    domain_name: str
    app_name: str
    stream_name: str
    publish_domain: str
    publish_time: dt.datetime | None
    stop_time: dt.datetime | None  # None while it is still pushing (UNCONFIRMED: left out)
    client_addr: str = ""
    edge_node_addr: str = ""
    publish_type: str = ""

    @classmethod
    def from_item(cls, item: dict) -> PublishedStream:
        return cls(
            domain_name=_text(item.get("DomainName")),
            app_name=_text(item.get("AppName")),
            stream_name=_text(item.get("StreamName")),
            publish_domain=_text(item.get("PublishDomain")),
            publish_time=_time(item.get("PublishTime")),
            stop_time=_time(item.get("StopTime")),
            client_addr=_text(item.get("ClientAddr")),
            edge_node_addr=_text(item.get("EdgeNodeAddr")),
            publish_type=_text(item.get("PublishType")),
        )


@dataclass(frozen=True)
class PublishListPage:
    streams: list[PublishedStream]
    page_number: int
    total_num: int
    total_page: int
    request_id: str = ""

    @classmethod
    def from_body(cls, body: dict) -> PublishListPage:
        items = (body.get("PublishInfo") or {}).get("LiveStreamPublishInfo") or []
        return cls(
            streams=[PublishedStream.from_item(i) for i in items],
            page_number=int(body.get("PageNum") or 1),
            total_num=int(body.get("TotalNum") or 0),
            total_page=int(body.get("TotalPage") or 0),
            request_id=_text(body.get("RequestId")),
        )


@dataclass(frozen=True)
class DomainMapping:
    """A domain mapped to the one asked about (DescribeLiveDomainMapping): its name and type —
    `vhost` a main streaming domain, `publish` an ingest domain, `play` a sub-streaming one."""

    domain_name: str
    type: str

    @classmethod
    def list_from_body(cls, body: dict) -> list[DomainMapping]:
        """The answer's mappings: `{"LiveDomainModels": {"LiveDomainModel": [...]}}`, as the
        current pages show it, or a bare list under LiveDomainModels, as an older one does."""
        models = body.get("LiveDomainModels") or []
        if isinstance(models, dict):
            models = models.get("LiveDomainModel") or []
        if isinstance(models, dict):  # one mapping, as XML-to-JSON may give it
            models = [models]
        return [
            cls(domain_name=_text(m.get("DomainName")), type=_text(m.get("Type")))
            for m in models
            if isinstance(m, dict) and m.get("DomainName")
        ]
