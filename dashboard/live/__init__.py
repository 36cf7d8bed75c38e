"""The ApsaraVideo Live OpenAPI client: the only code in the project that speaks HTTP to it.

Signing, transport, errors, retries, the shared rate limit and typed results. Views never
import this package; services and selectors do, through `get_client()`.
"""

from .client import LiveClient, get_client, reset_client
from .errors import (
    AuthError,
    ConfigAlreadyExistsError,
    InvalidInputError,
    LiveApiError,
    LiveConnectionError,
    LiveDeadlineExceeded,
    LiveResponseError,
    LiveTimeoutError,
    LiveValidationError,
    NotFoundError,
    ServerError,
    ThrottlingError,
)
from .retry import is_ambiguous
from .types import (
    DomainsPage,
    LiveDomain,
    NotifyRecord,
    NotifyRecordsPage,
    RecordNotifyConfig,
    SnapshotNotifyConfig,
)

__all__ = [
    "AuthError",
    "ConfigAlreadyExistsError",
    "DomainsPage",
    "InvalidInputError",
    "LiveApiError",
    "LiveClient",
    "LiveConnectionError",
    "LiveDeadlineExceeded",
    "LiveDomain",
    "LiveResponseError",
    "LiveTimeoutError",
    "LiveValidationError",
    "NotFoundError",
    "NotifyRecord",
    "NotifyRecordsPage",
    "RecordNotifyConfig",
    "ServerError",
    "SnapshotNotifyConfig",
    "ThrottlingError",
    "get_client",
    "is_ambiguous",
    "reset_client",
]
