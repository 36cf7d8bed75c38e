"""Logging: filters, the request id carried through requests and tasks, JSON lines."""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType


class NoClientErrorTracebacks(logging.Filter):
    """Drop django.request's records of 4xx answers (a 403, a 404).

    The server's access line already says the request was refused; Django's second line, with
    the PermissionDenied traceback, only doubled every refusal. Server errors (5xx) still log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        return status is None or status >= 500


# --- one id per request, carried into what it starts; JSON lines ----------------------------

_context: contextvars.ContextVar[Mapping] = contextvars.ContextVar(
    "log_context", default=MappingProxyType({})
)
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_ID_HEADER = "X-Request-ID"


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return _context.get().get("request_id", "")


@contextmanager
def log_context(**values) -> Iterator[None]:
    """Inside: every log record carries `values` (request_id, user_id, path)."""
    token = _context.set({**_context.get(), **values})
    try:
        yield
    finally:
        _context.reset(token)


def carries_request_id(func):
    """For a task: the id of the request that enqueued it (its `request_id` keyword, given by
    `enqueue_with_request_id`) on every log record the task writes."""

    @functools.wraps(func)
    def run(*args, request_id: str = "", **kwargs):
        with log_context(request_id=request_id or new_request_id(), user_id="", path=""):
            return func(*args, **kwargs)

    return run


def enqueue_with_request_id(task, *args, **kwargs):
    return task.enqueue(*args, request_id=current_request_id(), **kwargs)


class ContextFilter(logging.Filter):
    """Puts the current request's id, user and path on each record (empty outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in ("request_id", "user_id", "path"):
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json)."""

    FIELDS = ("request_id", "user_id", "path", "status", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Early in MIDDLEWARE: the request's id (a well-formed incoming X-Request-ID, or a new
    one) on every log record of the request and on the response; with LOG_FORMAT=json, one
    access line per request (status, duration)."""

    access = logging.getLogger("dashboard.request")

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.access_lines = settings.LOG_FORMAT == "json"

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SAFE_ID.fullmatch(given) else new_request_id()
        request.request_id = request_id
        started = time.perf_counter()
        with log_context(request_id=request_id, user_id="", path=request.path):
            response = self.get_response(request)
            if self.access_lines:
                self.access.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "user_id": _user_id(request),
                    },
                )
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        _context.set({**_context.get(), "user_id": _user_id(request)})


def _user_id(request) -> int | str:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else ""
