"""The sandbox's demo account, as plain data (no Django): its domains and their callbacks.

The sandbox app points DEMO_CALLBACK_HOSTS at the small local receiver `make run` serves, so
test callbacks succeed in the demo.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEMO_DOMAINS = [
    # name, type, status, description, records/hour, failure %, record cfg, snapshot cfg
    (
        "live.example-shop.com",
        "liveVideo",
        "online",
        "Shop live sales",
        1200,
        7,
        {
            "notify_url": "https://hooks.example-shop.com/live/record",
            "need_status_notify": True,
            "notify_req_auth": True,
            "notify_auth_key": "Sh0pKey2024AbCdEfGhIjKlMnOpQrSt",
        },
        {
            "notify_url": "https://hooks.example-shop.com/live/snapshot",
            "notify_req_auth": True,
            "notify_auth_key": "SnapKey0123456789abcdef",
        },
    ),
    (
        "play.edu-streams.cn",
        "liveVideo",
        "online",
        "Classroom streams",
        90,
        5,
        {
            "notify_url": "https://api.edu-streams.cn/callbacks/live-record",
            "on_demand_url": "https://api.edu-streams.cn/callbacks/on-demand",
        },
        None,
    ),
    (
        "stream.sportsnow.tv",
        "liveVideo",
        "online",
        "Match day",
        240,
        12,
        {"notify_url": "http://callbacks.sportsnow.tv/record", "need_status_notify": True},
        {"notify_url": "http://callbacks.sportsnow.tv/snapshot"},
    ),
    ("live.newsroom.example.org", "liveVideo", "offline", "Paused newsroom feed", 0, 0, None, None),
    (
        "pull.gamearena.net",
        "liveVideo",
        "configuring",
        "Esports (new)",
        40,
        15,
        {"notify_url": "https://gamearena.net/hooks/record?source=aliyun&v=2"},
        None,
    ),
    (
        "video.concerts.example.com",
        "liveVideo",
        "online",
        "Concert hall",
        0,
        0,
        None,
        {
            "notify_url": "https://media.concerts.example.com/snapshots",
            "notify_req_auth": True,
            "notify_auth_key": "C0ncertSnapshotKey99",
        },
    ),
    (
        "live.fitclass.cn",
        "liveVideo",
        "online",
        "Fitness classes",
        60,
        40,
        {
            "notify_url": "https://fitclass.cn/api/v1/live/callback",
            "notify_req_auth": True,
            "notify_auth_key": "FitClassAuthKey0000000001",
        },
        None,
    ),
    ("cdn.webinar-hub.com", "liveVideo", "online", "", 0, 0, None, None),
    ("push.example-shop.com", "liveEdge", "online", "Shop ingest", 0, 6, None, None),
    ("ingest.sportsnow.tv", "liveEdge", "online", "Sports ingest", 0, 10, None, None),
    ("push.edu-streams.cn", "liveEdge", "offline", "Classroom ingest", 0, 0, None, None),
]
BIG_DOMAIN = DEMO_DOMAINS[0][0]

# The stream callbacks (publish / publish_done) of the ingest domains, the streaming domain
# each feeds, and callbacks an hour (two a push session).
STREAM_CONFIGS = {
    "push.example-shop.com": {
        "notify_url": "https://hooks.example-shop.com/live/stream",
        "exception_notify_url": "https://hooks.example-shop.com/live/stream-exception",
        "notify_req_auth": True,
        "notify_auth_key": "ShopStreamKey0123456789abcdefABCDEF0123456789",
    },
    "ingest.sportsnow.tv": {"notify_url": "http://callbacks.sportsnow.tv/stream"},
}
STREAM_RATES = {"push.example-shop.com": 120, "ingest.sportsnow.tv": 40}
INGEST_FEEDS = {
    "push.example-shop.com": "live.example-shop.com",
    "ingest.sportsnow.tv": "stream.sportsnow.tv",
    "push.edu-streams.cn": "play.edu-streams.cn",
}
FEEDS_OF = {streaming: ingest for ingest, streaming in INGEST_FEEDS.items()}

DEMO_CALLBACK_HOSTS = sorted(
    {
        urlsplit(config["notify_url"]).hostname
        for *_, record, snapshot in DEMO_DOMAINS
        for config in (record, snapshot)
        if config
    }
    | {urlsplit(config["notify_url"]).hostname for config in STREAM_CONFIGS.values()}
)

# Resource groups and tags of the demo domains, so DescribeLiveUserDomains' ResourceGroupId and
# Tag.N.Key / Tag.N.Value filters can be exercised.
DEFAULT_RESOURCE_GROUP = "rg-acfmsandbox0001"
RESOURCE_GROUPS = {
    "live.example-shop.com": "rg-acfmshop00001",
    "push.example-shop.com": "rg-acfmshop00001",
    "stream.sportsnow.tv": "rg-acfmsports0001",
    "ingest.sportsnow.tv": "rg-acfmsports0001",
}
TAGS = {
    "live.example-shop.com": {"team": "shop", "env": "prod"},
    "push.example-shop.com": {"team": "shop", "env": "prod"},
    "play.edu-streams.cn": {"team": "edu", "env": "prod"},
    "push.edu-streams.cn": {"team": "edu", "env": "staging"},
    "stream.sportsnow.tv": {"team": "sports", "env": "prod"},
    "pull.gamearena.net": {"team": "sports", "env": "staging"},
    "live.fitclass.cn": {"team": "fitness", "env": "prod"},
}
