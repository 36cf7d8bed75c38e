"""Operations, parameter rules and limits of the ApsaraVideo Live OpenAPI (2016-11-01)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import orjson

API_VERSION = "2016-11-01"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
RECORDS_WINDOW = dt.timedelta(days=7)

ADD_RECORD = "AddLiveRecordNotifyConfig"
UPDATE_RECORD = "UpdateLiveRecordNotifyConfig"
DESCRIBE_RECORD = "DescribeLiveRecordNotifyConfig"
DELETE_RECORD = "DeleteLiveRecordNotifyConfig"
ADD_SNAPSHOT = "AddLiveSnapshotNotifyConfig"
UPDATE_SNAPSHOT = "UpdateLiveSnapshotNotifyConfig"
DESCRIBE_SNAPSHOT = "DescribeLiveSnapshotNotifyConfig"
DELETE_SNAPSHOT = "DeleteLiveSnapshotNotifyConfig"
DESCRIBE_RECORDS = "DescribeLiveRecordNotifyRecords"
DESCRIBE_DOMAINS = "DescribeLiveUserDomains"
# Stream ingest callbacks (publish / publish_done) of ingest domains: STREAM-CALLBACKS.md.
SET_STREAM = "SetLiveStreamsNotifyUrlConfig"
DESCRIBE_STREAM = "DescribeLiveStreamsNotifyUrlConfig"
DELETE_STREAM = "DeleteLiveStreamsNotifyUrlConfig"
DESCRIBE_STREAM_RECORDS = "DescribeLiveStreamsNotifyRecords"
# Push history: which streams were really pushed (30 days), the ground truth for callbacks.
DESCRIBE_PUBLISH_LIST = "DescribeLiveStreamsPublishList"
# Which streaming domain an ingest domain feeds (and back): what joins a stream's two families
# of callbacks into one timeline (STREAM-CALLBACKS.md §5; docs/live-api.md).
DESCRIBE_MAPPING = "DescribeLiveDomainMapping"

ACTIONS = (
    ADD_RECORD,
    UPDATE_RECORD,
    DESCRIBE_RECORD,
    DELETE_RECORD,
    ADD_SNAPSHOT,
    UPDATE_SNAPSHOT,
    DESCRIBE_SNAPSHOT,
    DELETE_SNAPSHOT,
    DESCRIBE_RECORDS,
    DESCRIBE_DOMAINS,
    SET_STREAM,
    DESCRIBE_STREAM,
    DELETE_STREAM,
    DESCRIBE_STREAM_RECORDS,
    DESCRIBE_PUBLISH_LIST,
    DESCRIBE_MAPPING,
)

# Documented per-account QPS of each operation, each from its own page (docs/live-api.md).
ACTION_QPS = {
    ADD_RECORD: 30,
    UPDATE_RECORD: 30,
    DELETE_RECORD: 30,
    DESCRIBE_RECORD: 50,
    ADD_SNAPSHOT: 30,
    UPDATE_SNAPSHOT: 30,
    DELETE_SNAPSHOT: 30,
    DESCRIBE_SNAPSHOT: 30,
    DESCRIBE_RECORDS: 100,
    DESCRIBE_DOMAINS: 100,
    SET_STREAM: 15,
    DELETE_STREAM: 15,
    # The pages disagree (1,000 a minute in Chinese, 1,000 a second in English, 30 a second on
    # an old page): the most careful reading, 1,000 a minute (docs/live-api.md).
    DESCRIBE_STREAM: 1000 / 60,
    DESCRIBE_STREAM_RECORDS: 100,
    DESCRIBE_PUBLISH_LIST: 3,
    DESCRIBE_MAPPING: 500 / 60,  # 500 a minute
}

REQUIRED_PARAMS = {
    ADD_RECORD: ("DomainName", "NotifyUrl"),
    UPDATE_RECORD: ("DomainName", "NotifyUrl"),
    DESCRIBE_RECORD: ("DomainName",),
    DELETE_RECORD: ("DomainName",),
    ADD_SNAPSHOT: ("DomainName", "NotifyUrl"),
    UPDATE_SNAPSHOT: ("DomainName",),
    DESCRIBE_SNAPSHOT: ("DomainName",),
    DELETE_SNAPSHOT: ("DomainName",),
    DESCRIBE_RECORDS: ("DomainName", "StartTime", "EndTime", "PageNumber", "PageSize"),
    DESCRIBE_DOMAINS: (),
    SET_STREAM: ("DomainName",),
    DESCRIBE_STREAM: ("DomainName",),
    DELETE_STREAM: ("DomainName",),
    DESCRIBE_STREAM_RECORDS: ("DomainName", "StartTime", "EndTime"),
    DESCRIBE_PUBLISH_LIST: ("DomainName", "StartTime", "EndTime"),
    DESCRIBE_MAPPING: ("DomainName",),
}

NOTIFY_TYPES = (
    "file_created",
    "record_error",
    "record_started",
    "record_paused",
    "record_resumed",
    "record_force_transcode_fail",
    "transformat_error",
)
NOTIFY_RESULTS = ("success", "failed")
STORAGE_TYPES = ("oss", "vod", "all")
DOMAIN_STATUSES = ("online", "offline", "configuring")
DOMAIN_TYPES = ("liveVideo", "liveEdge")
# DescribeLiveDomainMapping's Type of a mapped domain: main streaming, ingest, sub-streaming
MAPPING_TYPES = ("vhost", "publish", "play")
DOMAIN_SEARCH_TYPES = ("fuzzy_match", "pre_match", "suf_match", "full_match")

RECORDS_PAGE_SIZE_MAX = 500
RECORDS_PAGE_NUMBER_MAX = 100_000
DOMAINS_PAGE_SIZE_MAX = 50
SNAPSHOT_URL_MAX = 500  # documented on the snapshot operations' pages
# The recording operations document no length limit for NotifyUrl / OnDemandUrl (UNCONFIRMED):
# the service has to stop somewhere, and a longer URL is refused with the documented
# InvalidNotifyUrl.Malformed / InvalidOnDemandUrl.Malformed rather than stored.
RECORD_URL_MAX = 1024
AUTH_KEY_RE = re.compile(r"[A-Za-z0-9]{16,32}")
# Stream callbacks take longer keys: 16 to 64 letters and digits.
STREAM_AUTH_KEY_RE = re.compile(r"[A-Za-z0-9]{16,64}")
# No limit is documented for the stream callback URLs (UNCONFIRMED): the recording one's.
STREAM_URL_MAX = RECORD_URL_MAX
STREAM_NOTIFY_TYPES = ("publish", "publish_done")
PUBLISH_WINDOW = dt.timedelta(days=30)  # how far back the push history goes, and its widest span
PUBLISH_PAGE_SIZE_MAX = 3000

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


def parse_bool(value: object) -> bool:
    """Booleans arrive as true/false, True/False (Python SDK) or yes/no (snapshot configs)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times sent to the Live API must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def parse_time(text: str) -> dt.datetime:
    """Parse `yyyy-MM-ddTHH:mm:ssZ` (UTC) into an aware datetime; ValueError otherwise.

    Checked against the exact shape first, then read by fromisoformat (in C: the harvest parses
    tens of thousands of these a second, where strptime was a seventh of its time)."""
    if not TIME_SHAPE.fullmatch(text):
        raise ValueError(f"not yyyy-MM-ddTHH:mm:ssZ: {text!r}")
    return dt.datetime.fromisoformat(text)


def is_valid_auth_key(key: str, *, stream: bool = False) -> bool:
    """A key the Live API accepts: 16–32 letters and digits, 16–64 for stream callbacks."""
    return bool((STREAM_AUTH_KEY_RE if stream else AUTH_KEY_RE).fullmatch(key))


def parse_json_tolerant(text: str) -> Any | None:
    """The first JSON object or array in `text`, even after a text prefix; None if none.

    NotifyContent is not always clean JSON: the documentation's own example starts with
    "7月26日 16:14" before the object.
    """
    if not text:
        return None
    if text[0] in "{[":
        try:  # the usual case, clean JSON: orjson reads it several times faster
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # text after the value, a lone surrogate escape…: read as below
    decoder = json.JSONDecoder()
    start = 0
    while True:
        positions = [p for p in (text.find("{", start), text.find("[", start)) if p >= 0]
        if not positions:
            return None
        position = min(positions)
        try:
            value, _ = decoder.raw_decode(text, position)
            return value
        except ValueError:
            start = position + 1
