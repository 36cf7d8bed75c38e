"""Errors the sandbox answers with, in the Live API's codes, HTTP statuses and message shapes."""

from __future__ import annotations


class SandboxError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ConnectionDropped(Exception):
    """Raised by fault injection: the server closes the connection without answering."""


def snapshot_error(code: str, detail: str) -> SandboxError:
    # The snapshot operations phrase every message this way (REFERENCE.md).
    return SandboxError(code, f"{detail}, please check and try again later.")


def missing(name: str) -> SandboxError:
    return SandboxError(f"Missing{name}", f"{name} is mandatory for this action.")


def domain_not_found(name: str) -> SandboxError:
    # The docs list both 400 and 404 for this code (UNCONFIRMED); 404 reads as "not found".
    return SandboxError("InvalidDomain.NotFound", f"The domain {name} does not exist.", 404)


def url_error(param: str, verdict) -> SandboxError:
    """A recording operation's URL refusal, word for word as documented (docs/live-api.md)."""
    if verdict.unsafe:
        return SandboxError(f"Invalid{param}.Unsafe", f"Specified {param} is not safe.")
    return SandboxError(f"Invalid{param}.Malformed", f"Specified {param} is invalid.")
