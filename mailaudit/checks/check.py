"""What a check is: one row of the registry (`mailaudit.checks.registry.CHECKS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mailaudit.checks.outcome import Outcome
from mailaudit.model import Scheme

__all__ = ["Check", "Scope"]


class Scope(StrEnum):
    """What a check is applied to, and so which facts bundle its judge takes."""

    ENDPOINT = "endpoint"  # EndpointFacts: one endpoint at one address
    TLS = "tls"  # TlsFacts: one TLS scan of one (address, port)
    DOMAIN = "domain"  # DomainFacts: one domain's DNS mail policy
    ADDRESS = "address"  # AddressFacts: every port probed at one address
    TLS_HOSTS = "tls-hosts"  # TlsHostsFacts: the scans of every address and port of a host
    DOMAIN_AUDIT = "domain-audit"  # DomainAuditFacts: a domain joined with its endpoints
    DISCOVERY = "discovery"  # DiscoveryFacts: the candidates discovery gathered
    REQUIREMENTS = "requirements"  # RequirementFacts: a requirements file against a report
    ISPDB = "ispdb"  # ISPDB files (`mailaudit ispdb lint`)
    AUDIT_SCOPE = "audit-scope"  # what the audit may touch (the SSRF guard, --scope)


@dataclass(frozen=True)
class Check:
    """One check: what it is called, what it says, what it applies to and how it judges.

    `judge` is pure: the facts bundle of its scope in, an `Outcome` (findings plus the runs it
    recorded) out. `ids` are every finding id it can raise; each has its words in the
    catalogue. `runs` are the check-run names it records (JUnit test cases); by default its name.
    A *gate* records no run of its own: its findings say why the other checks of its scope could
    not run (their runs say not tested / inconclusive).
    """

    name: str
    scope: Scope
    summary: str
    ids: tuple[str, ...]
    applies_to: str
    needs: tuple[str, ...]
    judge: Callable[[Any], Outcome] | None
    runs: tuple[str, ...] = ()
    gate: bool = False
    # Endpoint checks: the run name for an endpoint's scheme, None where it does not apply.
    name_for: Callable[[Scheme], str | None] | None = None

    @property
    def run_names(self) -> tuple[str, ...]:
        if self.gate:
            return ()
        return self.runs or (self.name,)
