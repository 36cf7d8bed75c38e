"""The ApsaraVideo Live OpenAPI client: the only code in the project that speaks HTTP to it.

Signing, transport, errors, retries, the shared rate limit and typed results. It imports
nothing from Django or the rest of the dashboard: `dashboard.upstream` builds the process's
client from settings, services and selectors use it, and views never import this package
(tests/test_layers.py keeps both rules).
"""

from .client import HARVEST_LANE, LiveClient
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
    DomainMapping,
    DomainsPage,
    LiveDomain,
    LiveRecordNotifyConfig,
    LiveSnapshotNotifyConfig,
    LiveStreamsNotifyConfig,
    NotifyRecord,
    NotifyRecordsPage,
    PublishedStream,
    PublishListPage,
)

__all__ = [
    "HARVEST_LANE",
    "AuthError",
    "ConfigAlreadyExistsError",
    "DomainMapping",
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
    "PublishListPage",
    "PublishedStream",
    "LiveRecordNotifyConfig",
    "LiveSnapshotNotifyConfig",
    "LiveStreamsNotifyConfig",
    "ServerError",
    "ThrottlingError",
    "is_ambiguous",
]
