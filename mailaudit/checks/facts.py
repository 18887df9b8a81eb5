"""The facts each kind of check judges: one frozen bundle per registry scope. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailaudit.model import (
    Candidate,
    Finding,
    ForeignRedirect,
    Observation,
    PolicyObservation,
    ProtocolAudit,
    Recommendation,
    Scheme,
    TlsScan,
)

__all__ = [
    "AddressFacts",
    "DiscoveryFacts",
    "DomainAuditFacts",
    "DomainFacts",
    "EndpointFacts",
    "TlsFacts",
    "TlsHostsFacts",
]


@dataclass(frozen=True)
class EndpointFacts:
    """One endpoint at one address: the probe's observation and the protocol audit (None when
    the audit did not run)."""

    observation: Observation
    audit: ProtocolAudit | None = None


@dataclass(frozen=True)
class TlsFacts:
    """One sslyze scan of one (address, port), judged at `now` (the caller's clock)."""

    scan: TlsScan
    now: datetime


@dataclass(frozen=True)
class DomainFacts:
    """A domain's DNS mail policy (MX, SPF, DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE, PTR)."""

    policy: PolicyObservation


@dataclass(frozen=True)
class AddressFacts:
    """Every port probed at one address, failed ones included (a refused 993 is evidence)."""

    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class TlsHostsFacts:
    """Every TLS scan of the run: the addresses and ports of one host name compared."""

    scans: tuple[TlsScan, ...]


@dataclass(frozen=True)
class DomainAuditFacts:
    """A domain joined with the endpoints audited for it: its DNS policy (None when not
    gathered), what discovery found (None when it did not run) and the probes of its endpoints."""

    domain: str
    policy: PolicyObservation | None
    discovery_findings: tuple[Finding, ...] | None
    observations: tuple[Observation, ...]

    @property
    def client_endpoints_found(self) -> bool:
        """A client endpoint (submission, IMAP, POP3) of the domain answered."""
        return any(o.scheme is not Scheme.SMTP and o.completed for o in self.observations)


@dataclass(frozen=True)
class DiscoveryFacts:
    """What discovery gathered for one domain: the candidates with their verification, the
    chosen settings, and the redirects that left the domain (URL or address chains)."""

    domain: str
    candidates: tuple[Candidate, ...]
    incoming: Recommendation | None
    outgoing: Recommendation | None
    foreign_redirects: tuple[ForeignRedirect, ...] = ()
