"""What the TLS checks share: the context a scan is judged in and the verdict of one check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mailaudit.checks.catalogue import finding
from mailaudit.checks.verdict import status_of
from mailaudit.model import (
    CIPHER_PARTS,
    CheckRun,
    Finding,
    ScanPart,
    Scheme,
    Severity,
    TlsScan,
)

_MTA_CONTEXT = (
    "opportunistic TLS between MTAs (port 25, RFC 7435): a sender that cannot negotiate TLS "
    "delivers in plaintext, so any encryption beats none"
)


def _context(scan: TlsScan) -> str:
    target = scan.target
    if _is_mta(scan):
        return _MTA_CONTEXT
    return (
        f"{target.scheme.value} (port {target.port}): mail clients send passwords here "
        "(RFC 8314), judged against Mozilla's intermediate profile"
    )


def _is_mta(scan: TlsScan) -> bool:
    return scan.target.scheme is Scheme.SMTP


@dataclass
class _Verdict:
    check: str
    scan: TlsScan
    findings: list[Finding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    not_applicable: bool = False

    def add(
        self,
        finding_id: str,
        detail: str,
        severity: Severity,
        evidence: Iterable[str] = (),
    ) -> None:
        target = self.scan.target
        self.findings.append(
            finding(
                finding_id,
                target.url,
                detail,
                evidence=(f"address {target.address} port {target.port}", *evidence),
                severity=severity,
                context=_context(self.scan),
            )
        )

    def needs(self, *parts: ScanPart) -> None:
        """Record the parts this check relies on that sslyze could not test."""
        for part in parts:
            error = self.scan.failed(part)
            if error is not None:
                reason = f"{error.part.value}: {error.reason.value}"
                if reason not in self.reasons:
                    self.reasons.append(reason)

    def run(self) -> CheckRun:
        status = status_of(self.findings, self.reasons, not_applicable=self.not_applicable)
        reason = "; ".join(self.reasons) or None
        return CheckRun(
            self.check, self.scan.target.url, status, reason, tuple(f.id for f in self.findings)
        )


def _pick(scan: TlsScan, client: Severity, mta: Severity) -> Severity:
    return mta if _is_mta(scan) else client


# Every protocol-version part of a scan: checks about versions need all of them tested.
_PROTOCOL_PARTS = tuple(CIPHER_PARTS.values())
