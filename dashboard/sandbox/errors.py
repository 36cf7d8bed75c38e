"""Errors the sandbox answers with: the Live API's codes, HTTP statuses and messages, word for
word where the documentation gives them (docs/live-api.md, "Errors", lists each with its
source; the ones marked UNCONFIRMED there follow the gateway's usual pattern)."""

from __future__ import annotations


class SandboxError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ConnectionDropped(Exception):
    """Raised by fault injection: the server closes the connection without answering."""


# --- the gateway (every operation) -------------------------------------------------------


def missing(name: str) -> SandboxError:
    return SandboxError(f"Missing{name}", f"{name} is mandatory for this action.")


def invalid_version() -> SandboxError:
    return SandboxError("InvalidVersion", "Specified parameter Version is not valid.")


def invalid_signature_method() -> SandboxError:  # UNCONFIRMED wording
    return SandboxError("InvalidSignatureMethod", "Specified signature method is not supported.")


def invalid_signature_version() -> SandboxError:  # UNCONFIRMED wording
    return SandboxError("InvalidSignatureVersion", "Specified signature version is not supported.")


def forbidden() -> SandboxError:
    # UpdateLiveRecordNotifyConfig / DeleteLiveRecordNotifyConfig pages: 400, this message.
    return SandboxError("Forbidden", "Ram Permission is forbidden.")


def domain_not_found() -> SandboxError:
    # UpdateLiveRecordNotifyConfig page: 400, "Specified Domain is invalid."
    return SandboxError("InvalidDomain.NotFound", "Specified Domain is invalid.")


# --- the recording callback operations -----------------------------------------------------


def record_config_exists() -> SandboxError:
    return SandboxError("ConfigAlreadyExists", "Config has already exist.")


def record_config_not_found() -> SandboxError:
    return SandboxError("InvalidConfig.NotFound", "Config does not exist.", 404)


def url_error(param: str, verdict) -> SandboxError:
    """A recording operation's URL refusal: Invalid<Param>.Malformed / .Unsafe."""
    if verdict.unsafe:
        return SandboxError(f"Invalid{param}.Unsafe", f"Specified {param} is not safe.")
    return SandboxError(f"Invalid{param}.Malformed", f"Specified {param} is invalid.")


def malformed_param(name: str) -> SandboxError:  # UNCONFIRMED: the gateway's usual pattern
    return SandboxError(f"Invalid{name}.Malformed", f"Specified parameter {name} is not valid.")


# --- the snapshot callback operations --------------------------------------------------------


def snapshot_error(code: str, detail: str, status: int = 400) -> SandboxError:
    """The snapshot operations document every message as "%s, please check and try again
    later." (MissingParam, MalformedParam, ConfigNotFound; ConfigAlreadyExists is a 409)."""
    return SandboxError(code, f"{detail}, please check and try again later.", status)


# --- the records query ---------------------------------------------------------------------


def records_error(code: str, detail: str) -> SandboxError:
    """DescribeLiveRecordNotifyRecords documents MalformedParams and MissingParams as "%s"."""
    return SandboxError(code, detail)
