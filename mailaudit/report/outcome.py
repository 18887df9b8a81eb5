"""The fleet outcome, honestly: of the domains asked for, how many were fully audited, partly
audited (which checks, and why) and not audited at all. Pure functions over the report model.

- **audited**: everything the domain depends on was tested;
- **partly audited**: something could not be tested (a probe failed or was refused, a check was
  not tested or inconclusive, a name did not resolve) — each listed with its reason;
- **not audited**: the domain's mail servers could not be determined (its MX lookup failed, or
  the domain phase crashed), or, for a host named only by `--endpoint`, no endpoint answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mailaudit.checks.grading import untested_of_endpoint
from mailaudit.model import CheckStatus, DomainReport, EndpointReport, Report

__all__ = ["AuditStatus", "DomainOutcome", "FleetOutcome", "domain_outcome", "fleet_outcome"]

# Errors the domain phase writes when the domain's mail servers stay unknown.
_FATAL_PREFIXES = ("MX lookup failed", "not audited")


class AuditStatus(StrEnum):
    AUDITED = "audited"
    PARTLY_AUDITED = "partly-audited"
    NOT_AUDITED = "not-audited"


@dataclass(frozen=True)
class DomainOutcome:
    domain: str
    status: AuditStatus
    # What was not tested and why ("smtp://mx.example.test: probe failed: timeout ...").
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetOutcome:
    domains: tuple[DomainOutcome, ...]

    def count(self, status: AuditStatus) -> int:
        return sum(1 for d in self.domains if d.status is status)

    @property
    def any_not_audited(self) -> bool:
        return any(d.status is AuditStatus.NOT_AUDITED for d in self.domains)

    def summary_line(self) -> str:
        return (
            f"{len(self.domains)} domains: {self.count(AuditStatus.AUDITED)} fully audited, "
            f"{self.count(AuditStatus.PARTLY_AUDITED)} partly audited, "
            f"{self.count(AuditStatus.NOT_AUDITED)} not audited"
        )


def domain_outcome(
    domain: DomainReport, endpoints: Sequence[EndpointReport], *, endpoints_only: bool = False
) -> DomainOutcome:
    """`endpoints`: the EndpointReports the domain uses (its `endpoint_ids`)."""
    fatal = [e for e in domain.errors if e.startswith(_FATAL_PREFIXES)]
    missing = [f"{domain.domain}: {e}" for e in domain.errors]
    for c in domain.checks:
        if c.status in (CheckStatus.NOT_TESTED, CheckStatus.INCONCLUSIVE):
            missing.append(f"{c.subject}: {c.check} {c.status.value}: {c.reason or '-'}")
    for e in endpoints:
        missing += [f"{u.subject}: {u.what}: {u.reason}" for u in untested_of_endpoint(e)]
    if endpoints_only and not any(e.observation.completed for e in endpoints):
        fatal.append("no endpoint answered")
    if fatal:
        status = AuditStatus.NOT_AUDITED
    elif missing:
        status = AuditStatus.PARTLY_AUDITED
    else:
        status = AuditStatus.AUDITED
    return DomainOutcome(domain.domain, status, tuple(missing))


def fleet_outcome(report: Report, *, endpoints_only: Iterable[str] = ()) -> FleetOutcome:
    by_id = {e.id: e for e in report.endpoints}
    only = set(endpoints_only)
    return FleetOutcome(
        tuple(
            domain_outcome(
                d,
                [by_id[i] for i in d.endpoint_ids if i in by_id],
                endpoints_only=d.domain in only,
            )
            for d in report.domains
        )
    )
