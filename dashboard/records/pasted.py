"""What a URL pasted into the header search names: a stream, or a receiver.

Support staff are handed the URL a customer pushes to or plays from, whole — its auth_key and
business parameters too — or the URL their callbacks should reach. The forms Live documents:

    rtmp://push.example.com/live/cam?auth_key=…           (push and RTMP play; rtmps too)
    http://play.example.com/live/cam.flv?auth_key=…        (HTTP-FLV; https too)
    https://play.example.com/live/cam.m3u8                 (HLS)
    artc://play.example.com/live/cam                       (RTS)
    srt://push.example.com:1105?streamid=#!::h=push.example.com,r=/live/cam?auth_key=…,m=publish

A stream's URL names its domain (the host), app and stream (the path's two parts; on the web,
the playback format's suffix is no part of the name).
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

# Live's own protocols: a URL of one of these is a stream's, whatever its host
STREAM_SCHEMES = frozenset({"rtmp", "rtmps", "artc", "srt"})
# plain web URLs: a stream's when its host is one of the domains (HTTP-FLV, HLS); otherwise
# a receiver's (the callbacks sent to that host)
WEB_SCHEMES = frozenset({"http", "https"})
PLAY_SUFFIXES = (".flv", ".m3u8")


class Pasted(NamedTuple):
    scheme: str
    host: str  # lower case, no port
    app: str  # "" when the path names no app and stream
    stream: str


# What a URL copied out of a chat or a sentence brings along: quotes and brackets around it,
# a full stop or comma after it (Chinese ones too: “…”，。）
_AROUND = "\"'“”‘’<>《》「」【】（）()"
_AFTER = "，。；：、！？.,;:!?"


def pasted_url(text: str) -> Pasted | None:
    """The parts of `text` as a stream's or receiver's URL, or None when it is not one."""
    text = text.strip(_AROUND).rstrip(_AFTER).strip(_AROUND)
    if "://" not in text or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:  # a bracketed host that is no address, a port out of range
        return None
    scheme = parts.scheme.lower()
    if scheme not in STREAM_SCHEMES | WEB_SCHEMES or not host:
        return None
    path = parts.path
    if scheme == "srt":  # the stream is in the streamid: h=<host>,r=/<app>/<stream>?…,m=…
        stream_id = text.partition("streamid=")[2].removeprefix("#!::")
        fields = dict(field.partition("=")[::2] for field in stream_id.split(","))
        host = fields.get("h", "").strip().lower() or host
        path = fields.get("r", "").partition("?")[0]
    names = unquote(path).strip("/").split("/")
    if len(names) != 2 or not all(names):
        return Pasted(scheme, host, "", "")
    app, stream = names
    if scheme in WEB_SCHEMES:  # HTTP-FLV, HLS: the format's suffix (RTMP and RTS have none)
        stream = _without_suffix(stream)
    return Pasted(scheme, host, app, stream)


def _without_suffix(stream: str) -> str:
    lowered = stream.lower()
    for suffix in PLAY_SUFFIXES:
        if lowered.endswith(suffix) and len(stream) > len(suffix):
            return stream[: -len(suffix)]
    return stream


def pasted_path(text: str) -> tuple[str, str] | None:
    """The app and stream of a URL's path copied without its scheme and host (the tail of a
    player's address: /live/cam.m3u8, live/cam.flv?auth_key=…, /live/cam/), or None when
    `text` is no such path or names them as they are."""
    text = text.strip(_AROUND).rstrip(_AFTER).strip(_AROUND)
    if "://" in text or any(c.isspace() for c in text):
        return None
    names = unquote(text.partition("?")[0]).strip("/").split("/")
    if len(names) != 2 or not all(names):
        return None
    app, stream = names[0], _without_suffix(names[1])
    return None if f"{app}/{stream}" == text else (app, stream)


# a URL inside a line of chat: its scheme, then printable ASCII (the Chinese text around it —
# "推流地址：rtmp://…，请查一下" — is not part of it)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~]+")


def pasted_in_text(text: str) -> Pasted | None:
    """The first stream's or receiver's URL in a line of text pasted whole ("the push URL is
    rtmp://… please check"), or None."""
    for found in _URL_IN_TEXT.finditer(text):
        if (pasted := pasted_url(found.group())) is not None:
            return pasted
    return None
