"""The audit's one door to the checks: every judgement the fleet engine asks for goes through
`judge`, which hands it to the check registry (`mailaudit.checks.judge`).

Pure: facts in, findings and check runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailaudit.checks import judge as registry
from mailaudit.checks.facts import (
    AddressFacts,
    DomainAuditFacts,
    DomainFacts,
    EndpointFacts,
    TlsFacts,
    TlsHostsFacts,
)
from mailaudit.checks.outcome import Outcome
from mailaudit.model import (
    CheckRun,
    Finding,
    Observation,
    PolicyObservation,
    ProtocolAudit,
    TlsScan,
)

__all__ = ["Judgement", "Kind", "Verdict", "judge"]


class Kind(StrEnum):
    ENDPOINT = "endpoint"  # one endpoint's probe and protocol audit
    TLS = "tls"  # one endpoint's TLS scan
    ADDRESS = "address"  # every probe at one address (implicit TLS beside STARTTLS)
    HOSTS = "hosts"  # TLS scans across ports and addresses of host names (consistency)
    POLICY = "policy"  # one domain's DNS policy
    MTASTS_MX = "mtasts-mx"  # one domain's MTA-STS policy against its MX probes
    DISCOVERY = "discovery"  # discovery's findings, in the light of the audited endpoints


@dataclass(frozen=True)
class Judgement:
    """What to judge; fill the fields `kind` needs."""

    kind: Kind
    observation: Observation | None = None
    observations: Sequence[Observation] = ()
    protocol_audit: ProtocolAudit | None = None
    scan: TlsScan | None = None
    scans: Sequence[TlsScan] = ()
    policy: PolicyObservation | None = None
    discovery_findings: tuple[Finding, ...] = ()
    client_endpoints_found: bool = False
    now: datetime | None = None
    # The domain a domain-level judgement is about (the subject of its check runs).
    domain: str = ""


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...] = ()
    checks: tuple[CheckRun, ...] = ()


def judge(j: Judgement) -> Verdict:
    out = _outcome(j)
    return Verdict(out.findings, out.runs)


def _outcome(j: Judgement) -> Outcome:
    match j.kind:
        case Kind.ENDPOINT:
            assert j.observation is not None
            return registry.judge_endpoint(EndpointFacts(j.observation, j.protocol_audit))
        case Kind.TLS:
            assert j.scan is not None
            assert j.now is not None
            return registry.judge_tls(TlsFacts(j.scan, j.now))
        case Kind.ADDRESS:
            return registry.judge_address(AddressFacts(tuple(j.observations)))
        case Kind.HOSTS:
            return registry.judge_tls_hosts(TlsHostsFacts(tuple(j.scans)))
        case Kind.POLICY:
            assert j.policy is not None
            return registry.judge_domain(DomainFacts(j.policy))
        case Kind.MTASTS_MX:
            assert j.policy is not None
            facts = DomainAuditFacts(j.policy.domain, j.policy, None, tuple(j.observations))
            return registry.judge_domain_audit(facts)
        case Kind.DISCOVERY:
            # The registry reads "client endpoints found" off the observations themselves.
            facts = DomainAuditFacts(
                j.domain, None, tuple(j.discovery_findings), tuple(j.observations)
            )
            return registry.judge_domain_audit(facts)
