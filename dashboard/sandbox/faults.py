"""Fault injection: latency, 5xx, throttling and dropped connections, per action.

Configured from a spec string (LIVE_SANDBOX_FAULTS, `runsandbox --faults`, or tests):
`error=0.2,throttle=0.1,latency=1.0@0.05,drop=0.02` applies to every action;
`DescribeLiveUserDomains:error=0.5` to one action; several specs are joined with `;`.
`error=RATE` answers 500 or 503 at random; `internal=RATE` always 500 InternalError and
`unavailable=RATE` always 503 ServiceUnavailable. `latency=SECONDS@RATE` adds SECONDS to
RATE of the requests before the operation runs;
`late=SECONDS@RATE` runs the operation at once and holds its answer SECONDS (what it read is
already old when it arrives). `lost=RATE` runs the operation and then drops the connection
before the answer: the change is made, the caller never hears.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from .errors import ConnectionDropped, SandboxError

_GENERIC_FAILURE = "The request processing has failed due to some unknown error"


def internal_error(action: str) -> SandboxError:
    """500 InternalError, in the shape the action's page documents."""
    if "Snapshot" in action:  # the snapshot pages: "%s, please try again later."
        return SandboxError("InternalError", f"{_GENERIC_FAILURE}, please try again later.", 500)
    return SandboxError("InternalError", f"{_GENERIC_FAILURE}.", 500)


def unavailable() -> SandboxError:
    return SandboxError(
        "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
        503,
    )


@dataclass(frozen=True)
class FaultRule:
    error_rate: float = 0.0
    internal_rate: float = 0.0
    unavailable_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    latency: float = 0.0
    latency_rate: float = 0.0
    late: float = 0.0
    late_rate: float = 0.0
    lost_rate: float = 0.0


def parse_rule(text: str) -> FaultRule:
    values: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault {part!r} must look like name=value")
        name = name.strip()
        try:
            if name in {"latency", "late"}:
                seconds, _, rate = value.partition("@")
                values[name] = float(seconds)
                values[f"{name}_rate"] = float(rate) if rate else 1.0
            elif name in {"error", "internal", "unavailable", "throttle", "drop", "lost"}:
                values[f"{name}_rate"] = float(value)
            else:
                raise ValueError(
                    f"unknown fault {name!r} (error, internal, unavailable, throttle, drop, "
                    "lost, latency, late)"
                )
        except ValueError as exc:
            raise ValueError(f"bad fault value in {part!r}: {exc}") from None
    for key, val in values.items():
        if val < 0 or (key.endswith("_rate") and val > 1):
            raise ValueError(f"fault {key} out of range: {val}")
    return FaultRule(**values)


def parse_spec(spec: str) -> dict[str, FaultRule]:
    """Map action ('*' for all) to its rule."""
    rules: dict[str, FaultRule] = {}
    for chunk in spec.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        action, sep, rest = chunk.partition(":")
        if sep and "=" not in action:
            rules[action.strip()] = parse_rule(rest)
        else:
            rules["*"] = parse_rule(chunk)
    return rules


class FaultInjector:
    def __init__(self, spec: str = "", *, rng: random.Random | None = None, sleep=None):
        import time

        self._lock = threading.Lock()
        self._rng = rng or random.Random()
        self._sleep = sleep or time.sleep
        self.rules = parse_spec(spec)

    def configure(self, spec: str) -> None:
        rules = parse_spec(spec)
        with self._lock:
            self.rules = rules

    def _rule(self, action: str) -> FaultRule | None:
        return self.rules.get(action) or self.rules.get("*")

    def after(self, action: str, rule: FaultRule | None) -> None:
        """After an action has run: maybe hold or lose the answer (the change stays made).

        `rule` is the one `apply` returned for this request: reconfiguring the faults while a
        request is in flight does not change what happens to it.
        """
        if rule is None:
            return
        with self._lock:
            draws = [self._rng.random() for _ in range(2)]
        if rule.late and draws[0] < rule.late_rate:
            self._sleep(rule.late)
        if draws[1] < rule.lost_rate:
            raise ConnectionDropped(action)

    def apply(self, action: str) -> FaultRule | None:
        """Before an action runs: maybe sleep, drop the connection, or fail."""
        with self._lock:
            rule = self._rule(action)
            if rule is None:
                return None
            draws = [self._rng.random() for _ in range(7)]
        if rule.latency and draws[0] < rule.latency_rate:
            self._sleep(rule.latency)
        if draws[1] < rule.drop_rate:
            raise ConnectionDropped(action)
        if draws[2] < rule.error_rate:
            raise (unavailable() if draws[4] < 0.5 else internal_error(action))
        if draws[5] < rule.internal_rate:
            raise internal_error(action)
        if draws[6] < rule.unavailable_rate:
            raise unavailable()
        if draws[3] < rule.throttle_rate:
            raise SandboxError("Throttling.User", "Request was denied due to user flow control.")
        return rule
