"""The verdict of one DNS policy check and the gates the checks share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mailaudit.checks.catalogue import finding
from mailaudit.checks.verdict import status_of
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    Finding,
    Lookup,
    PolicyObservation,
    Severity,
)


@dataclass
class _Verdict:
    check: str
    findings: list[Finding] = field(default_factory=list)
    status: CheckStatus | None = None
    reasons: list[str] = field(default_factory=list)

    def add(
        self,
        finding_id: str,
        subject: str,
        detail: str,
        *,
        evidence: Iterable[str] = (),
        severity: Severity | None = None,
    ) -> None:
        self.findings.append(
            finding(finding_id, subject, detail, evidence=evidence, severity=severity)
        )

    def not_tested(self, reason: str) -> None:
        self.reasons.append(reason)

    def run(self, subject: str) -> CheckRun:
        status = self.status or status_of(self.findings, self.reasons)
        reason = "; ".join(self.reasons) or None
        return CheckRun(self.check, subject, status, reason, tuple(f.id for f in self.findings))


def _failed(lookup: Lookup) -> str:
    return f"{lookup.rdtype} {lookup.name}: {lookup.error}"


def _mx_gate(obs: PolicyObservation, check: str) -> _Verdict | None:
    """Checks about the MX hosts: not tested when the MX lookup failed, not applicable to a
    domain without MX hosts (null MX or none)."""
    if obs.mx.lookup.failed:
        return _Verdict(check, reasons=[_failed(obs.mx.lookup)])
    if obs.mx.is_null_mx:
        return _not_applicable(check, "the domain accepts no mail (null MX)")
    if not obs.mx.mail_hosts:
        return _not_applicable(check, "no MX hosts")
    return None


def _not_applicable(check: str, reason: str) -> _Verdict:
    return _Verdict(check, status=CheckStatus.NOT_APPLICABLE, reasons=[reason])
