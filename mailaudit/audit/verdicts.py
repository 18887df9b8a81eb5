"""The audit's one door to the checks: every judgement the fleet engine asks for goes through
`judge`, so moving to the check registry (issue 11 notes) is a change in this module only.

Pure: facts in, findings and check runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailaudit.checks.audit_discovery import judge_discovery_in_audit
from mailaudit.checks.dns_policy import judge_mx_certificates, judge_policy
from mailaudit.checks.protocol import judge_endpoint, judge_host
from mailaudit.checks.tls import judge_consistency, judge_tls
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


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...] = ()
    checks: tuple[CheckRun, ...] = ()


def judge(j: Judgement) -> Verdict:
    match j.kind:
        case Kind.ENDPOINT:
            assert j.observation is not None
            found, runs = judge_endpoint(j.observation, j.protocol_audit)
        case Kind.TLS:
            assert j.scan is not None
            assert j.now is not None
            found, runs = judge_tls(j.scan, now=j.now)
        case Kind.ADDRESS:
            found, runs = judge_host(list(j.observations))
        case Kind.HOSTS:
            found, runs = judge_consistency(j.scans), []
        case Kind.POLICY:
            assert j.policy is not None
            found, runs = judge_policy(j.policy)
        case Kind.MTASTS_MX:
            assert j.policy is not None
            found, run = judge_mx_certificates(j.policy, j.observations)
            runs = [run]
        case Kind.DISCOVERY:
            found = judge_discovery_in_audit(
                j.discovery_findings, client_endpoints_found=j.client_endpoints_found
            )
            runs = []
    return Verdict(tuple(found), tuple(runs))
