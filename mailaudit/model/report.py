"""The Report: one model for everything a run found, rendered many ways (text, JSON, HTML,
SARIF, JUnit) and never re-scanned to re-render. `mailaudit.serial` is its only serialiser;
`SCHEMA_VERSION` changes whenever the JSON shape changes."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailaudit.model.audit import ProtocolAudit
from mailaudit.model.discovery import DiscoveryResult
from mailaudit.model.endpoint import Observation
from mailaudit.model.findings import CheckRun, Finding, Severity
from mailaudit.model.policy import PolicyObservation
from mailaudit.model.tls import TlsScan

__all__ = [
    "SCHEMA_VERSION",
    "DomainReport",
    "EndpointReport",
    "Report",
    "RunInfo",
]

SCHEMA_VERSION = "1.1"


@dataclass(frozen=True)
class EndpointReport:
    """One (address, port) audited once, whichever names and domains lead to it."""

    id: str  # "address:port"
    url: str
    address: str | None
    port: int
    # Every name that led here and why: "mx", "client" (from discovery), "guess", "explicit".
    names: tuple[str, ...]
    roles: tuple[str, ...]
    domains: tuple[str, ...]
    observation: Observation
    protocol_audit: ProtocolAudit | None = None
    tls_scan: TlsScan | None = None
    findings: tuple[Finding, ...] = ()
    checks: tuple[CheckRun, ...] = ()


@dataclass(frozen=True)
class DomainReport:
    domain: str
    # Ids of the EndpointReports this domain uses.
    endpoint_ids: tuple[str, ...]
    # Guessed endpoints that were not there (connection refused, no such name): not findings.
    not_offered: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    checks: tuple[CheckRun, ...] = ()
    errors: tuple[str, ...] = ()
    # The client settings discovery found (what to type into a mail client).
    discovery: DiscoveryResult | None = None
    policy: PolicyObservation | None = None


@dataclass(frozen=True)
class RunInfo:
    tool_version: str
    started_at: str
    finished_at: str
    duration_ms: int
    nameservers: tuple[str, ...] = ()
    relay_test_domain: str | None = None
    command: str = "audit"


@dataclass(frozen=True)
class Report:
    schema_version: str
    run: RunInfo
    domains: tuple[DomainReport, ...]
    endpoints: tuple[EndpointReport, ...]
    extra: dict[str, str] = field(default_factory=dict)

    def all_findings(self) -> list[Finding]:
        found = [f for d in self.domains for f in d.findings]
        found += [f for e in self.endpoints for f in e.findings]
        return found

    def worst_severity(self) -> Severity | None:
        findings = self.all_findings()
        return max((f.severity for f in findings), key=lambda s: s.rank) if findings else None

    def endpoint(self, endpoint_id: str) -> EndpointReport:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(endpoint_id)
