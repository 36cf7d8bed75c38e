"""Logging filters."""

from __future__ import annotations

import logging


class NoClientErrorTracebacks(logging.Filter):
    """Drop django.request's records of 4xx answers (a 403, a 404).

    The server's access line already says the request was refused; Django's second line, with
    the PermissionDenied traceback, only doubled every refusal. Server errors (5xx) still log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        return status is None or status >= 500
