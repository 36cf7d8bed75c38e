"""The demo account and its callback traffic, which stays fresh as time passes.

Each domain with a recording callback has a rate of callbacks per hour. When records are
queried, the generator first fills the gap between the last generated moment and now, so
a sandbox started last week still shows the last 7 days without reseeding. Records older
than 8 days are pruned as it goes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.db import connections, transaction
from django.utils import timezone

from dashboard.contract import api

from .demo import (
    BIG_DOMAIN,
    DEFAULT_RESOURCE_GROUP,
    DEMO_DOMAINS,
    FEEDS_OF,
    INGEST_FEEDS,
    RESOURCE_GROUPS,
    STREAM_CONFIGS,
    STREAM_RATES,
    TAGS,
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

_PRUNE_AFTER = dt.timedelta(days=8)

APPS = {
    "live": ["room-101", "room-102", "keynote", "lobby-cam"],
    "edu": ["math-7a", "physics-lab", "english-b2"],
    "sports": ["match-042", "match-043", "studio"],
    "shop": ["flash-sale", "unboxing", "qa-hour"],
}

# (weight, notify type)
_TYPES = [
    (55, "file_created"),
    (12, "record_started"),
    (6, "record_paused"),
    (6, "record_resumed"),
    (9, "record_error"),
    (4, "record_force_transcode_fail"),
    (8, "transformat_error"),
]

_SUCCESS_RESPONSES = ['{"Code":0,"Msg":"Success"}', "OK", '{"status":"ok"}', "success"]

# (description, response) pairs a real receiver produces when it fails.
_FAILURES = [
    ("timeout: the callback server did not answer within 5s (5 retries)", ""),
    (
        "HTTP 404 Not Found",
        "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found"
        "</h1></center><hr><center>nginx</center></body></html>",
    ),
    ("HTTP 500 Internal Server Error", '{"error":"internal server error","trace_id":"9f1c2e"}'),
    ("connection refused", ""),
    ("HTTP 502 Bad Gateway", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ("HTTP 401 Unauthorized", '{"error":"invalid ALI-LIVE-SIGNATURE"}'),
    ("dns resolve failed: no such host {host}", ""),  # the receiver's own host
    ("ssl handshake failed: certificate verify failed", ""),
]

# Receivers sometimes echo hostile text; the dashboard must render it inert.
_HOSTILE_RESPONSES = [
    "<script>alert('callback-receiver')</script>",
    '<img src=x onerror="alert(document.cookie)">',
    '"><svg onload=alert(1)>',
]


def _content(
    rng: random.Random,
    domain: str,
    app: str,
    stream: str,
    notify_type: str,
    when: dt.datetime,
    push_args: dict | None = None,
) -> str:
    if notify_type == "file_created":
        duration = round(rng.uniform(30, 3600), 3)
        stop = when - dt.timedelta(seconds=rng.randint(1, 20))
        start = stop - dt.timedelta(seconds=duration)
        uri = f"{app}/{stream}/0_{start:%Y-%m-%d-%H:%M:%S}_{stop:%Y-%m-%d-%H:%M:%S}.flv"
        body = {
            "domain": domain,
            "app": app,
            "stream": stream,
            "uri": uri,
            "duration": duration,
            "start_time": int(start.timestamp()),
            "stop_time": int(stop.timestamp()),
            # the push URL's arguments: a session's own (its usrargs), or a made-up session id
            "push_args": {
                "vhost": domain,
                **(push_args or {"session": f"s{rng.randint(10000, 99999)}"}),
            },
        }
    elif notify_type in {"record_started", "record_paused", "record_resumed"}:
        body = {"domain": domain, "app": app, "stream": stream, "event": notify_type}
    else:
        # Error bodies are not documented publicly (UNCONFIRMED): an event plus a reason.
        reasons = {
            "record_error": "oss write failed: AccessDenied",
            "record_force_transcode_fail": "transcode template not found",
            "transformat_error": "unsupported codec in input stream",
        }
        body = {
            "domain": domain,
            "app": app,
            "stream": stream,
            "event": notify_type,
            "reason": reasons[notify_type],
        }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    roll = rng.random()
    if roll < 0.02:
        # As in the documentation's own example: a text prefix before the JSON object.
        return f"{when.month}月{when.day}日 {when:%H:%M}{text}"
    if roll < 0.03:
        return text.replace(f'"stream":"{stream}"', '"stream":"<script>alert(\'stream\')</script>"')
    return text


def _header(rng: random.Random, url: str, config: SandboxRecordConfig, when: dt.datetime) -> str:
    headers = {"Content-Type": "application/json", "User-Agent": "Alibaba-Cloud-Live/1.0"}
    if config.notify_req_auth and config.notify_auth_key:
        ts = str(int(when.timestamp()))
        host = urlsplit(url).hostname or ""
        sign = hashlib.md5(f"{host}|{ts}|{config.notify_auth_key}".encode()).hexdigest()  # noqa: S324
        headers.update({"ALI-LIVE-TIMESTAMP": ts, "ALI-LIVE-SIGNATURE": sign})
    return json.dumps(headers)


def generate(
    domain: SandboxDomain,
    config: SandboxRecordConfig,
    start: dt.datetime,
    end: dt.datetime,
    *,
    rng: random.Random | None = None,
    count: int | None = None,
) -> list[SandboxNotifyRecord]:
    """Records for one domain spread over [start, end)."""
    seconds = (end - start).total_seconds()
    if seconds <= 0:
        return []
    rng = rng or random.Random(f"{domain.name}:{start.timestamp()}")
    if count is None:
        expected = domain.records_per_hour * seconds / 3600
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
    weights = [w for w, _ in _TYPES]
    kinds = [k for _, k in _TYPES]
    apps = list(APPS.items())
    records = []
    for _ in range(count):
        when = start + dt.timedelta(seconds=rng.uniform(0, seconds))
        when = when.replace(microsecond=0)
        app, streams = (
            apps[int(hashlib.sha256(domain.name.encode()).hexdigest(), 16) % len(apps)]
            if rng.random() < 0.7
            else rng.choice(apps)
        )
        stream = rng.choice(streams)
        kind = rng.choices(kinds, weights)[0]
        failed = rng.random() * 100 < domain.failure_percent
        if failed and domain.failure_cause:
            description, response = domain.failure_cause, ""
        elif failed:
            description, response = _failure(rng, config.notify_url)
            if rng.random() < 0.1:
                response = rng.choice(_HOSTILE_RESPONSES)
        else:
            description, response = "success", rng.choice(_SUCCESS_RESPONSES)
        records.append(
            SandboxNotifyRecord(
                domain_name=domain.name,
                app_name=app,
                stream_name=stream,
                notify_type=kind,
                notify_url=config.notify_url,
                notify_content=_content(rng, domain.name, app, stream, kind, when),
                notify_header=_header(rng, config.notify_url, config, when),
                notify_response=response,
                notify_result="failed" if failed else "success",
                notify_time=when,
                description=description,
                storage_type="oss" if rng.random() < 0.85 else "vod",
            )
        )
    return records


def _stream_header(config: SandboxStreamConfig, domain: str, when: dt.datetime) -> str:
    """A stream callback is signed with the ingest domain, not the URL's host (STREAM-CALLBACKS
    3.3): md5("<ingest domain>|<timestamp>|<key>")."""
    headers = {"User-Agent": "Alibaba-Cloud-Live/1.0"}
    if config.notify_req_auth and config.notify_auth_key:
        ts = str(int(when.timestamp()))
        sign = hashlib.md5(f"{domain}|{ts}|{config.notify_auth_key}".encode()).hexdigest()  # noqa: S324
        headers.update({"ALI-LIVE-TIMESTAMP": ts, "ALI-LIVE-SIGNATURE": sign})
    return json.dumps(headers)


SESSION_MAX = dt.timedelta(hours=2)
# The streams pushed through an ingest domain have names of their own (the background
# recording traffic uses APPS' names), so a pushed stream's timeline is its pushes alone.
PUSHED_NAMES = {"live": "stage", "edu": "lesson", "sports": "feed", "shop": "drop"}
# How often a stream is pushed in one of its SESSION_MAX slots.
_SLOT_USED = 0.75


@dataclass(frozen=True)
class PushSession:
    """One push of one stream to an ingest domain, as both domains' callbacks tell it."""

    app: str
    stream: str
    began: dt.datetime
    ended: dt.datetime
    params: dict  # the stream callback's parameters besides action and time
    done_lost: bool  # no publish_done ever comes (the pusher vanished, or it was lost)
    file_lost: bool  # recorded, yet no file callback comes
    # the encoder's first connection, dropped and replaced within the second: Live's push
    # history lists it beside the push, with the same PublishTime; it has no callbacks
    blip: bool = False


def _pushed_streams(fed: str, sessions_per_hour: float) -> list[tuple[str, str]]:
    """(app, stream) of the streams pushed for streaming domain `fed`: seven in ten of its own
    app, enough of them for `sessions_per_hour` with each pushed at most once at a time."""
    apps = list(APPS)
    home = apps[int(hashlib.sha256(fed.encode()).hexdigest(), 16) % len(apps)]
    slots_per_hour = dt.timedelta(hours=1) / SESSION_MAX
    count = max(1, math.ceil(sessions_per_hour / slots_per_hour / _SLOT_USED))
    others = [a for a in apps if a != home]
    streams = []
    for n in range(count):
        app = home if n % 10 < 7 else others[n % len(others)]
        streams.append((app, f"{PUSHED_NAMES[app]}-{101 + n}"))
    return streams


def push_sessions(
    fed: str, sessions_per_hour: float, start: dt.datetime, end: dt.datetime
) -> list[PushSession]:
    """The push sessions of the streams streaming domain `fed` records that may have callbacks
    in [start, end), oldest first: a plan drawn slot by slot (SESSION_MAX each) from a seed of
    the domain and the slot, so the ingest domain (publish / publish_done) and the streaming
    domain (record_started, the file) generate, each in its own windows, callbacks of the same
    sessions. A stream is pushed at most once in a slot, begun and ended inside it: never
    twice at once (Live refuses a second push of a stream being pushed)."""
    if sessions_per_hour <= 0:
        return []
    streams = _pushed_streams(fed, sessions_per_hour)
    span = int(SESSION_MAX.total_seconds())
    epoch = int((start - SESSION_MAX).timestamp())
    slot = dt.datetime.fromtimestamp(epoch - epoch % span, tz=dt.UTC)
    sessions = []
    while slot < end:
        rng = random.Random(f"{fed}:sessions:{int(slot.timestamp())}")
        for app, stream in streams:
            if rng.random() >= _SLOT_USED:
                continue
            # ended five minutes before the slot's end: its file (up to about three minutes
            # later) comes before the stream's next publish
            offset = rng.randint(0, span - 360)
            began = slot + dt.timedelta(seconds=offset)
            ended = began + dt.timedelta(seconds=rng.randint(60, span - offset - 300))
            params = {
                "ip": f"203.0.113.{rng.randint(2, 254)}",
                "id": stream,
                "appname": app,
                "usrargs": f"order_id={rng.randint(100000, 999999)}&team={app}",
                "node": f"cdnvideocenter{rng.randint(10, 99)}.cm3",
                "height": 720,
                "width": 1280,
            }
            done_lost, file_lost = rng.random() < 0.04, rng.random() < 0.04
            sessions.append(PushSession(app, stream, began, ended, params, done_lost, file_lost))
            if rng.random() < 0.01:  # an encoder that reconnected within its first second
                sessions.append(PushSession(app, stream, began, began, params, True, True, True))
        slot += SESSION_MAX
    sessions.sort(key=lambda s: s.began)
    return sessions


def push_pair(domain: SandboxDomain) -> tuple[SandboxDomain | None, str]:
    """(the ingest domain, the streaming domain's name) of the pushes `domain` sees, whichever
    of the two it is."""
    if domain.domain_type == "liveEdge":
        return domain, INGEST_FEEDS.get(domain.name, domain.name)
    return SandboxDomain.objects.filter(name=FEEDS_OF.get(domain.name, "")).first(), domain.name


def mapped(domain: SandboxDomain) -> list[tuple[str, str]]:
    """(name, type) of the domains mapped to `domain`, as DescribeLiveDomainMapping says them:
    an ingest domain's streaming domain (`vhost`), a streaming domain's ingest one (`publish`)."""
    if domain.domain_type == "liveEdge":
        pairs = [(INGEST_FEEDS.get(domain.name, ""), "vhost")]
    else:
        pairs = [(FEEDS_OF.get(domain.name, ""), "publish")]
    names = set(
        SandboxDomain.objects.filter(name__in=[n for n, _ in pairs if n]).values_list(
            "name", flat=True
        )
    )
    return [(name, kind) for name, kind in pairs if name in names]


def _failure(rng: random.Random, url: str) -> tuple[str, str]:
    """(description, response) of one failed delivery to `url`."""
    description, response = rng.choice(_FAILURES)
    return description.replace("{host}", urlsplit(url).hostname or url), response


def _outcome(rng: random.Random, domain: SandboxDomain, url: str) -> tuple[str, str, str]:
    """(result, description, response) of one delivery."""
    if rng.random() * 100 < domain.failure_percent:
        return "failed", domain.failure_cause or _failure(rng, url)[0], ""
    return "success", "success", rng.choice(_SUCCESS_RESPONSES)


def generate_streams(
    domain: SandboxDomain, config: SandboxStreamConfig, start: dt.datetime, end: dt.datetime
) -> list[SandboxNotifyRecord]:
    """An ingest domain's publish / publish_done callbacks over [start, end), of the push
    sessions of the streaming domain it feeds (one in twenty-five never gets its
    publish_done)."""
    if end <= start or not config.notify_url:
        return []
    rng = random.Random(f"{domain.name}:streams:{start.timestamp()}")
    fed = INGEST_FEEDS.get(domain.name, domain.name)
    records = []
    for session in push_sessions(fed, domain.records_per_hour / 2, start, end):
        if session.blip:
            continue
        events = [("publish", session.began)]
        if not session.done_lost:
            events.append(("publish_done", session.ended))
        for action, when in events:
            if not start <= when < end:
                continue
            result, description, response = _outcome(rng, domain, config.notify_url)
            content = {"action": action, "app": domain.name, **session.params}
            content["time"] = int(when.timestamp())
            records.append(
                SandboxNotifyRecord(
                    domain_name=domain.name,
                    app_name=session.app,
                    stream_name=session.stream,
                    notify_type=action,
                    notify_url=config.notify_url,
                    notify_content=json.dumps(content, separators=(",", ":")),
                    notify_header=_stream_header(config, domain.name, when),
                    notify_response=response,
                    notify_result=result,
                    notify_time=when,
                    description=description,
                    storage_type="",
                )
            )
    return records


def generate_session_recordings(
    domain: SandboxDomain, config: SandboxRecordConfig, start: dt.datetime, end: dt.datetime
) -> list[SandboxNotifyRecord]:
    """A streaming domain's recording callbacks of the push sessions its ingest domain saw:
    record_started a few seconds after the publish (with status notifications on) and the
    file some seconds to minutes after the push ends (one in twenty-five never comes)."""
    ingest = SandboxDomain.objects.filter(name=FEEDS_OF.get(domain.name, "")).first()
    if ingest is None or end <= start:
        return []
    rng = random.Random(f"{domain.name}:sessions:{start.timestamp()}")
    records = []
    for session in push_sessions(domain.name, ingest.records_per_hour / 2, start, end):
        if session.blip:
            continue
        pushed = dict(parse_qsl(session.params["usrargs"]))
        events = []
        if config.need_status_notify:
            events.append(("record_started", session.began + dt.timedelta(seconds=3)))
        if not session.file_lost:
            # written after the push ends: seconds to minutes later
            trail = dt.timedelta(seconds=5 + session.began.second * 3)
            events.append(("file_created", session.ended + trail))
        for kind, when in events:
            if not start <= when < end:
                continue
            result, description, response = _outcome(rng, domain, config.notify_url)
            content = _content(
                rng, domain.name, session.app, session.stream, kind, when, push_args=pushed
            )
            records.append(
                SandboxNotifyRecord(
                    domain_name=domain.name,
                    app_name=session.app,
                    stream_name=session.stream,
                    notify_type=kind,
                    notify_url=config.notify_url,
                    notify_content=content,
                    notify_header=_header(rng, config.notify_url, config, when),
                    notify_response=response,
                    notify_result=result,
                    notify_time=when,
                    description=description,
                    storage_type="oss",
                )
            )
    return records


def _generated(domain: SandboxDomain, start: dt.datetime, end: dt.datetime, count=None):
    """The callbacks of one domain over [start, end): its recording callbacks, or its stream
    callbacks for an ingest domain; [] when it has no config to send them."""
    if domain.domain_type == "liveEdge":
        config = SandboxStreamConfig.objects.filter(domain=domain).first()
        return generate_streams(domain, config, start, end) if config else []
    config = SandboxRecordConfig.objects.filter(domain=domain).first()
    if config is None:
        return []
    return generate(domain, config, start, end, count=count) + generate_session_recordings(
        domain, config, start, end
    )


_COLUMNS = [f for f in SandboxNotifyRecord._meta.concrete_fields if not f.primary_key]


def insert_records(rows: list[SandboxNotifyRecord]) -> None:
    """Insert many records with one executemany per batch: the ORM's bulk_create costs far
    more Python time per row, which made seeding the 200,000-record domain take a minute."""
    if not rows:
        return
    connection = connections[SANDBOX_ALIAS]
    quote = connection.ops.quote_name
    table = quote(SandboxNotifyRecord._meta.db_table)
    names = ", ".join(quote(f.column) for f in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), 5000):
            batch = rows[offset : offset + 5000]
            cursor.executemany(
                sql,
                [
                    tuple(f.get_db_prep_save(getattr(r, f.attname), connection) for f in _COLUMNS)
                    for r in batch
                ],
            )


def top_up(domain: SandboxDomain, now: dt.datetime) -> int:
    """Generate the records that "happened" since the last query; returns how many."""
    since = domain.records_generated_until
    if not domain.records_per_hour or since is None or now - since < dt.timedelta(seconds=1):
        return 0
    with transaction.atomic(using=SANDBOX_ALIAS):
        # Claim the gap first, so concurrent queries never generate it twice.
        claimed = SandboxDomain.objects.filter(pk=domain.pk, records_generated_until=since).update(
            records_generated_until=now
        )
        domain.records_generated_until = now
        if not claimed:
            return 0
        rows = _generated(domain, since, now)
        insert_records(rows)
        if since.hour != now.hour:
            SandboxNotifyRecord.objects.filter(
                domain_name=domain.name, notify_time__lt=now - _PRUNE_AFTER
            ).delete()
    return len(rows)


def seed_demo_account(
    *,
    big_domain_records: int,
    rate_scale: float = 1.0,
    now: dt.datetime | None = None,
    progress=None,
) -> bool:
    """Create the demo account once; returns False when it already exists."""
    # One transaction: a single commit instead of one per batch (much faster on SQLite), and
    # a half-seeded account can never be left behind.
    with transaction.atomic(using=SANDBOX_ALIAS):
        if SandboxDomain.objects.select_for_update().exists():
            return False
        _seed(big_domain_records, rate_scale, now or timezone.now(), progress)
    return True


def _seed(big_domain_records: int, rate_scale: float, now: dt.datetime, progress) -> None:
    window_start = now - api.RECORDS_WINDOW
    for index, (name, kind, status, description, rate, failure, record, snapshot) in enumerate(
        DEMO_DOMAINS
    ):
        if name == BIG_DOMAIN and big_domain_records:
            rate = max(1, round(big_domain_records / (api.RECORDS_WINDOW.total_seconds() / 3600)))
        else:
            rate = max(1, round(rate * rate_scale)) if rate else 0
        created = now - dt.timedelta(days=400 - index * 30)
        domain = SandboxDomain.objects.create(
            name=name,
            domain_type=kind,
            status=status,
            description=description,
            cname=f"{name}.w.alikunlun.com",
            created=created,
            modified=created + dt.timedelta(days=3),
            records_per_hour=rate if record else 0,
            failure_percent=failure,
            records_generated_until=now,
            resource_group_id=RESOURCE_GROUPS.get(name, DEFAULT_RESOURCE_GROUP),
        )
        for key, value in TAGS.get(name, {}).items():
            SandboxDomainTag.objects.create(domain=domain, key=key, value=value)
        if snapshot:
            SandboxSnapshotConfig.objects.create(domain=domain, **snapshot)
        stream = STREAM_CONFIGS.get(name)
        if stream:
            SandboxStreamConfig.objects.create(domain=domain, **stream)
            domain.records_per_hour = max(1, round(STREAM_RATES[name] * rate_scale))
            domain.save(update_fields=["records_per_hour"])
        if record:
            SandboxRecordConfig.objects.create(domain=domain, **record)
    # The traffic once every domain exists: a streaming domain's recordings follow the push
    # sessions its ingest domain saw.
    for domain in SandboxDomain.objects.filter(records_per_hour__gt=0):
        count = big_domain_records if domain.name == BIG_DOMAIN else None
        rows = _generated(domain, window_start, now, count=count)
        for offset in range(0, len(rows), 50_000):
            insert_records(rows[offset : offset + 50_000])
            if progress:
                progress(domain.name, min(offset + 50_000, len(rows)), len(rows))
