"""Retry policy as small pure functions: which errors retry, and how long to wait."""

from __future__ import annotations

import random
from collections.abc import Callable

from .errors import (
    CircuitOpenError,
    LiveApiError,
    LiveConnectionError,
    ServerError,
    ThrottlingError,
)

BASE_DELAY = 0.5
MAX_DELAY = 8.0
MAX_ATTEMPTS = 3


def should_retry(error: LiveApiError) -> bool:
    if isinstance(error, CircuitOpenError):
        return False
    return isinstance(error, ThrottlingError | ServerError | LiveConnectionError)


def is_ambiguous(error: LiveApiError) -> bool:
    """Might the request have been applied although we saw an error?"""
    return isinstance(error, ServerError | LiveConnectionError) and not isinstance(
        error, CircuitOpenError
    )


def full_jitter() -> float:
    return random.random()


def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    jitter: Callable[[], float] = full_jitter,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry).

    Exponential backoff with full jitter (base 0.5 s, cap 8 s); a server's retry-after
    hint wins when present.
    """
    if retry_after is not None and retry_after >= 0:
        return min(MAX_DELAY, retry_after)
    return jitter() * min(MAX_DELAY, BASE_DELAY * 2**attempt)
