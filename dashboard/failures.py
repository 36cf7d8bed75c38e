"""What views are told when the Live API refused or failed: one error class of the service layer.

Services and selectors translate the client's errors into `UpstreamError` (see
`dashboard.upstream.upstream_errors`), so views can show an upstream error's code, message and
RequestId without importing the client.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """The Live API refused (4xx, throttling) or did not answer (5xx, no connection).

    `refused`: it answered no, so nothing was changed. Otherwise it did not answer; for a write,
    `outcome_unknown` says a check afterwards could not tell whether the change was applied.
    """

    def __init__(
        self,
        *,
        code: str,
        message: str,
        request_id: str = "",
        status_code: int | None = None,
        refused: bool = True,
        outcome_unknown: bool = False,
    ):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
        self.status_code = status_code
        self.refused = refused
        self.outcome_unknown = outcome_unknown

    def describe(self) -> str:
        """One line for logs, sync errors and CSV notes (English, as the API sent it)."""
        if self.request_id:
            return f"{self.code}: {self.message} (RequestId {self.request_id})"
        return f"{self.code}: {self.message}"
