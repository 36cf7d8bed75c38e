"""Errors of the Live API client: one base class, a connection branch and a response branch.

Every response error keeps the upstream RequestId: support staff quote it to Alibaba Cloud.
"""

from __future__ import annotations


class LiveApiError(Exception):
    """Base class of everything the client raises."""

    code = ""
    request_id = ""

    def __init__(self, message: str, *, action: str = ""):
        super().__init__(message)
        self.message = message
        self.action = action


class LiveValidationError(LiveApiError, ValueError):
    """Parameters were refused by the client before anything was sent."""


class LiveConnectionError(LiveApiError):
    """No answer: connection refused or reset, DNS failure, or the server hung up."""


class LiveTimeoutError(LiveConnectionError):
    """The upstream did not answer in time."""


class LiveDeadlineExceeded(LiveApiError):
    """The call's overall deadline passed (waiting for the rate budget counts too)."""

    code = "DeadlineExceeded"


class CircuitOpenError(LiveConnectionError):
    """Recent calls failed so often that the client stopped calling for a moment."""

    code = "CircuitOpen"


class LiveResponseError(LiveApiError):
    """The upstream answered with an error body."""

    def __init__(
        self,
        message: str,
        *,
        action: str = "",
        status_code: int,
        code: str,
        request_id: str = "",
        host_id: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(message, action=action)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.host_id = host_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message} (HTTP {self.status_code}, RequestId {self.request_id})"


class ThrottlingError(LiveResponseError):
    pass


class NotFoundError(LiveResponseError):
    pass


class ConfigAlreadyExistsError(LiveResponseError):
    pass


class InvalidInputError(LiveResponseError):
    pass


class AuthError(LiveResponseError):
    """Signature, access key, time stamp or RAM permission problems."""


class ServerError(LiveResponseError):
    pass


_NOT_FOUND = {"InvalidConfig.NotFound", "ConfigNotFound", "InvalidDomain.NotFound"}
_INVALID = {"MalformedParam", "MalformedParams", "InvalidParams", "MissingParam", "MissingParams"}
_AUTH_PREFIXES = (
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidTimeStamp",
    "SignatureNonceUsed",
    "Forbidden",
    "InvalidSecurityToken",
)


def error_class_for(status_code: int, code: str) -> type[LiveResponseError]:
    if code.startswith("Throttling"):
        return ThrottlingError
    if code in _NOT_FOUND:
        return NotFoundError
    if code == "ConfigAlreadyExists":
        return ConfigAlreadyExistsError
    if code.startswith(_AUTH_PREFIXES):
        return AuthError
    if (
        code in _INVALID
        or code.endswith((".Malformed", ".Unsafe"))
        or (code.startswith("Missing") and code != "Missing")
        or code.startswith("Invalid")
    ):
        return InvalidInputError
    if status_code >= 500:
        return ServerError
    return LiveResponseError
