"""What a rule finds right now: per subject, firing or not, with the numbers that say why.

Pure reading (selectors of the archive, the rollups and the incidents); the state machine that
turns findings into notifications is in services.py.

Subjects: `domain:<id>` (failure rate, silence), `host:<id>:<host>` (consecutive failures),
`incident:<id>` (a new incident).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet

from dashboard.archive.models import ArchivedRecord
from dashboard.archive.selectors import (
    delivery_counts,
    harvested_until_by_domain,
    missing_in_window,
)
from dashboard.domains.models import Domain
from dashboard.incidents.models import Incident

from .models import AlertRule

# Windows include their end (a record stamped exactly "now" counts); the archive's own ranges
# are half-open, so the end moves on by the smallest step.
TICK = dt.timedelta(microseconds=1)
# An archive complete up to this close to now is caught up: a window ends at now.
CAUGHT_UP = dt.timedelta(minutes=1)
# How far back "consecutive failures" looks for a host's latest deliveries.
CONSECUTIVE_LOOKBACK = dt.timedelta(hours=24)


@dataclass
class Finding:
    subject: str
    domain: Domain
    firing: bool | None  # None: cannot tell now (the archive is behind): change nothing
    numbers: dict = field(default_factory=dict)
    host: str = ""
    incident_id: int | None = None
    muted: bool = False  # its incident is muted: what it brings is recorded, not sent


def domains_in_scope(rule: AlertRule) -> QuerySet[Domain]:
    domains = Domain.objects.filter(gone_at__isnull=True)
    if rule.scope == AlertRule.Scope.DOMAIN:
        return domains.filter(pk=rule.domain_id)
    if rule.scope == AlertRule.Scope.TEAM:
        return domains.filter(team_id=rule.team_id)
    return domains


def evaluate(rule: AlertRule, now: dt.datetime) -> list[Finding]:
    domains = list(domains_in_scope(rule).select_related("record_config"))
    if not domains:
        return []
    return {
        AlertRule.Condition.FAILURE_RATE: _failure_rate,
        AlertRule.Condition.CONSECUTIVE: _consecutive,
        AlertRule.Condition.INCIDENT: _incidents,
        AlertRule.Condition.SILENCE: _silence,
        AlertRule.Condition.MISSING: _missing,
    }[rule.condition](rule, domains, now)


def _failure_rate(rule: AlertRule, domains: list[Domain], now: dt.datetime) -> list[Finding]:
    """Fires when more than X% of at least N deliveries failed within the window.

    The window ends now, or where the archive is complete for a domain whose harvest is more
    than a minute behind (to the minute, so domains harvested to the same minute are counted
    together): a harvester minutes behind is not read as fewer deliveries — "not enough to
    judge", a recovery — and one that holds none of the window yet (catching up after a
    restart) decides nothing."""
    window = dt.timedelta(minutes=rule.window_minutes)
    complete = harvested_until_by_domain(domain_ids=[d.pk for d in domains])
    findings = []
    ends: dict[dt.datetime, list[Domain]] = {}
    for domain in domains:
        end = complete.get(domain.pk)
        if end is None or end < now - window:
            findings.append(Finding(subject=f"domain:{domain.pk}", domain=domain, firing=None))
            continue
        # caught up (within a harvest pass): now; behind: to the minute it is complete to
        end = now if end >= now - CAUGHT_UP else end.replace(second=0, microsecond=0)
        ends.setdefault(end, []).append(domain)
    for end, group in ends.items():
        counts = delivery_counts(
            domain_ids=[d.pk for d in group], start=end - window, end=end + TICK
        )
        for domain in group:
            totals = counts[domain.pk]
            enough = totals.total >= rule.min_deliveries
            # rate > X%, in integers: failed * 100 > X * total
            over = totals.failed * 100 > (rule.threshold_percent or 0) * totals.total
            findings.append(
                Finding(
                    subject=f"domain:{domain.pk}",
                    domain=domain,
                    firing=enough and over,
                    numbers={
                        "failed": totals.failed,
                        "total": totals.total,
                        "rate": round(100 * totals.rate, 1) if totals.rate is not None else None,
                        "window_minutes": rule.window_minutes,
                        "threshold_percent": rule.threshold_percent,
                        "min_deliveries": rule.min_deliveries,
                    },
                )
            )
    return findings


def _consecutive(rule: AlertRule, domains: list[Domain], now: dt.datetime) -> list[Finding]:
    """Fires for a receiver host whose latest K deliveries all failed."""
    k = rule.consecutive
    findings = []
    for domain in domains:
        rows = (
            ArchivedRecord.objects.filter(
                domain=domain, notify_time__gte=now - CONSECUTIVE_LOOKBACK, notify_time__lte=now
            )
            .order_by("-notify_time", "-pk")
            .values_list("receiver_host", "notify_result", "notify_time")[: 50 * k]
        )
        latest: dict[str, list[tuple[str, dt.datetime]]] = {}
        for host, result, when in rows:
            runs = latest.setdefault(host, [])
            if len(runs) < k:
                runs.append((result, when))
        for host, runs in latest.items():
            failed_run = 0
            for result, _when in runs:
                if result == "success":
                    break
                failed_run += 1
            findings.append(
                Finding(
                    subject=f"host:{domain.pk}:{host}",
                    domain=domain,
                    host=host,
                    firing=failed_run >= k,
                    numbers={"consecutive_failures": failed_run, "threshold": k},
                )
            )
    return findings


def _incidents(rule: AlertRule, domains: list[Domain], now: dt.datetime) -> list[Finding]:
    """Fires once per incident opened after the rule was made; recovers when it resolves."""
    incidents = Incident.objects.filter(domain__in=domains, opened_at__gte=rule.created_at).exclude(
        state=Incident.State.RESOLVED
    )
    by_id = {d.pk: d for d in domains}
    return [
        Finding(
            subject=f"incident:{incident.pk}",
            domain=by_id[incident.domain_id],
            host=incident.receiver_host,
            incident_id=incident.pk,
            firing=True,  # a resolved one is no longer found: that is its recovery
            numbers={"cause": incident.cause, "failures": incident.count},
            muted=incident.state_at(now) == Incident.State.MUTED,
        )
        for incident in incidents.order_by("pk")
    ]


def _silence(rule: AlertRule, domains: list[Domain], now: dt.datetime) -> list[Finding]:
    """Fires for an online domain with a recording callback that sent nothing in the window.

    The window ends where the archive is complete for the domain, so a harvester that is
    behind is not mistaken for a silent domain; when the archive is more than a window behind,
    nothing is decided."""
    window = dt.timedelta(minutes=rule.window_minutes)
    watched = [d for d in domains if d.status == Domain.Status.ONLINE and d.record_config_or_none]
    complete = harvested_until_by_domain(domain_ids=[d.pk for d in watched])
    findings = []
    for domain in watched:
        end = complete.get(domain.pk)
        if end is None or end < now - window:
            findings.append(Finding(subject=f"domain:{domain.pk}", domain=domain, firing=None))
            continue
        counts = delivery_counts(domain_ids=[domain.pk], start=end - window, end=end + TICK)
        counts = counts[domain.pk]
        last = (
            ArchivedRecord.objects.filter(domain=domain)
            .order_by("-notify_time")
            .values_list("notify_time", flat=True)
            .first()
        )
        findings.append(
            Finding(
                subject=f"domain:{domain.pk}",
                domain=domain,
                firing=counts.total == 0,
                numbers={
                    "total": counts.total,
                    "window_minutes": rule.window_minutes,
                    "last_callback": last.isoformat() if last else None,
                },
            )
        )
    return findings


def _missing(rule: AlertRule, domains: list[Domain], now: dt.datetime) -> list[Finding]:
    """Fires for an ingest domain with a push that began or ended within the window and whose
    expected stream callbacks never came (Live's push history against the archive,
    archive/pushes.py). The window ends where the domain's pushes are checked; when the check
    is more than a window behind, nothing is decided."""
    window = dt.timedelta(minutes=rule.window_minutes)
    findings = []
    for domain in domains:
        if domain.domain_type != Domain.Type.INGEST:
            continue
        end, pushes = missing_in_window(domain_id=domain.pk, window=window)
        if end is None or end < now - window:
            findings.append(Finding(subject=f"domain:{domain.pk}", domain=domain, firing=None))
            continue
        findings.append(
            Finding(
                subject=f"domain:{domain.pk}",
                domain=domain,
                firing=bool(pushes),
                numbers={
                    "pushes": len(pushes),
                    "window_minutes": rule.window_minutes,
                    "streams": sorted({f"{p.app_name}/{p.stream_name}" for p in pushes})[:5],
                    "callbacks": sum(len(p.missing_types) for p in pushes),
                },
            )
        )
    return findings
