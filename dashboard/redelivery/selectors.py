"""Reading redelivery attempts and runs."""

from __future__ import annotations

from .models import RedeliveryAttempt, RedeliveryRun


def latest_attempts(*, record_ids: list[int]) -> dict[int, RedeliveryAttempt]:
    """The newest redelivery attempt of each record (the explorer's badges)."""
    found: dict[int, RedeliveryAttempt] = {}
    rows = (
        RedeliveryAttempt.objects.filter(record_id__in=record_ids)
        .exclude(outcome=RedeliveryAttempt.Outcome.SKIPPED)
        .order_by("record_id", "-created_at", "-pk")
    )
    for attempt in rows:
        found.setdefault(attempt.record_id, attempt)
    return found


def record_attempts(*, record_id: int) -> list[RedeliveryAttempt]:
    return list(RedeliveryAttempt.objects.filter(record_id=record_id).select_related("run")[:100])


def run_attempts(*, run: RedeliveryRun, limit: int = 500) -> list[RedeliveryAttempt]:
    return list(run.attempts.select_related("record").order_by("-pk")[:limit])


def redelivered_count(*, rows) -> int:
    """Of these archived records, how many were redelivered successfully already (a run skips
    them unless told otherwise)."""
    return (
        rows.filter(redeliveries__outcome=RedeliveryAttempt.Outcome.DELIVERED)
        .order_by()
        .values("pk")
        .distinct()
        .count()
    )
