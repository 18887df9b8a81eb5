"""Grading: what every rendering shows first — per-domain grade, counts by severity, and what
could not be tested and why. Pure functions over a `Report`; judgement, so it lives in checks/.

Grading (documented in the HTML report too) — the grade of a domain is set by the worst
*unwaived* finding on the domain itself or on any endpoint it uses:

    A  no finding above info          D  worst is high
    B  worst is low                   F  worst is critical
    C  worst is medium

Waived findings are shown but do not count. A grade is "incomplete" when something the domain
depends on could not be tested (a probe failed, a check was not tested or inconclusive, a lookup
failed); when not a single endpoint or check could be tested there is no grade at all ("?").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.model import (
    CheckStatus,
    DomainReport,
    EndpointReport,
    Finding,
    ProbeStatus,
    Report,
    Severity,
)

__all__ = [
    "GRADES",
    "DomainSummary",
    "Untested",
    "domain_findings",
    "domain_summary",
    "severity_counts",
    "untested",
    "worst",
]

# Worst unwaived severity -> grade. None (no findings) is "A" too.
GRADES: dict[Severity | None, str] = {
    None: "A",
    Severity.INFO: "A",
    Severity.LOW: "B",
    Severity.MEDIUM: "C",
    Severity.HIGH: "D",
    Severity.CRITICAL: "F",
}

SEVERITIES_WORST_FIRST = tuple(sorted(Severity, key=lambda s: -s.rank))


@dataclass(frozen=True)
class Untested:
    """Something that could not be tested, and why: never a pass, never a crash."""

    subject: str
    # "probe" (the endpoint could not be probed), "check" (not tested / inconclusive), "lookup"
    # (a domain-level error such as an MX name that does not resolve).
    kind: str
    what: str
    reason: str


@dataclass(frozen=True)
class DomainSummary:
    domain: str
    grade: str
    incomplete: bool
    worst: Severity | None
    counts: dict[Severity, int]
    waived: int
    endpoints_total: int
    endpoints_tested: int
    untested: tuple[Untested, ...]


def worst(findings: Iterable[Finding], *, include_waived: bool = False) -> Severity | None:
    severities = [f.severity for f in findings if include_waived or f.waived is None]
    return max(severities, key=lambda s: s.rank) if severities else None


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    """Unwaived findings per severity, worst first, every severity present (0 when none)."""
    counts = dict.fromkeys(SEVERITIES_WORST_FIRST, 0)
    for f in findings:
        if f.waived is None:
            counts[f.severity] += 1
    return counts


def domain_endpoints(report: Report, domain: DomainReport) -> list[EndpointReport]:
    ids = set(domain.endpoint_ids)
    return [e for e in report.endpoints if e.id in ids]


def domain_findings(report: Report, domain: DomainReport) -> list[Finding]:
    found = list(domain.findings)
    for e in domain_endpoints(report, domain):
        found += e.findings
    return found


def untested_of_endpoint(e: EndpointReport) -> list[Untested]:
    out: list[Untested] = []
    obs = e.observation
    if obs.status is not ProbeStatus.COMPLETED:
        reason = obs.failure.message if obs.failure else obs.status.value
        if obs.failure:
            reason = f"{obs.failure.reason} at {obs.failure.step}: {obs.failure.message}"
        label = "refused the session" if obs.status is ProbeStatus.REFUSED else "probe failed"
        out.append(Untested(e.url, "probe", f"{label} ({e.id})", reason))
    out += _untested_checks(e.checks)
    return out


def _untested_checks(checks: Iterable[object]) -> list[Untested]:
    out = []
    for c in checks:
        status = getattr(c, "status", None)
        if status in (CheckStatus.NOT_TESTED, CheckStatus.INCONCLUSIVE):
            label = "not tested" if status is CheckStatus.NOT_TESTED else "inconclusive"
            out.append(
                Untested(
                    getattr(c, "subject", ""),
                    "check",
                    f"{getattr(c, 'check', '?')} ({label})",
                    getattr(c, "reason", None) or label,
                )
            )
    return out


def untested(report: Report, domain: DomainReport | None = None) -> list[Untested]:
    """Everything that could not be tested: for one domain, or for the whole report."""
    # A fleet's domains are read one at a time (report.streamed): iterated, never listed.
    domains = (domain,) if domain is not None else report.domains
    out: list[Untested] = []
    for d in domains:
        out += [Untested(d.domain, "lookup", "lookup", err) for err in d.errors]
        out += _untested_checks(d.checks)
    endpoints = domain_endpoints(report, domain) if domain is not None else list(report.endpoints)
    for e in endpoints:
        out += untested_of_endpoint(e)
    return out


def domain_summary(report: Report, domain: DomainReport) -> DomainSummary:
    findings = domain_findings(report, domain)
    endpoints = domain_endpoints(report, domain)
    missing = untested(report, domain)
    tested = [e for e in endpoints if e.observation.status is ProbeStatus.COMPLETED]
    checked = [
        c
        for c in list(domain.checks) + [c for e in endpoints for c in e.checks]
        if c.status in (CheckStatus.PASSED, CheckStatus.FAILED)
    ]
    worst_severity = worst(findings)
    # An A needs something behind it: informational findings alone (e.g. "no settings found"
    # for a domain whose DNS fails validation) do not make an untested domain good.
    notable = [f for f in findings if f.severity.at_least(Severity.LOW)]
    nothing_tested = not tested and not checked and not notable
    return DomainSummary(
        domain=domain.domain,
        grade="?" if nothing_tested else GRADES[worst_severity],
        incomplete=bool(missing),
        worst=worst_severity,
        counts=severity_counts(findings),
        waived=sum(1 for f in findings if f.waived is not None),
        endpoints_total=len(endpoints),
        endpoints_tested=len(tested),
        untested=tuple(missing),
    )
