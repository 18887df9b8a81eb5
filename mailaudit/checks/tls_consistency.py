"""`tls.inconsistent`: addresses or ports of one host that differ in TLS versions or certificates."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import TlsHostsFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.tls_verdict import _MTA_CONTEXT
from mailaudit.checks.verdict import status_of
from mailaudit.model import (
    Finding,
    Scheme,
    Severity,
    TlsScan,
)

__all__ = ["CHECK", "judge_consistency"]

CHECK = "tls.consistency"


def judge_consistency(facts: TlsHostsFacts) -> Outcome:
    """`tls.inconsistent` for each host whose addresses (same port) accept different protocol
    versions or present different certificates, or whose ports differ in certificate. Protocol
    sets are compared between ports of one kind only (port 25 may rightly differ from client
    ports). Low at most: the weaker side is also judged on its own scan. One run per host with
    two or more scans (the subject is the host name)."""
    scans = facts.scans
    by_host: dict[str, list[TlsScan]] = {}
    for scan in scans:
        if scan.connected:
            by_host.setdefault(scan.target.host, []).append(scan)
    outcomes: list[Outcome] = []
    for host, group in sorted(by_host.items()):
        if len(group) < 2:
            continue
        found = _inconsistent_addresses(host, group) + _inconsistent_ports(host, group)
        outcomes.append(Outcome.single(CHECK, host, status_of(found, ()), None, found))
    return Outcome.of(outcomes)


def _versions_text(scan: TlsScan) -> str:
    return ", ".join(v.value for v in scan.supported_versions) or "(none)"


def _leaves(scan: TlsScan) -> frozenset[str]:
    return frozenset(d.leaf.sha256_fingerprint for d in scan.certificates)


def _where(scan: TlsScan) -> str:
    return f"{scan.target.url} at {scan.target.address}"


def _inconsistent_addresses(host: str, group: list[TlsScan]) -> list[Finding]:
    findings: list[Finding] = []
    by_port: dict[int, list[TlsScan]] = {}
    for scan in group:
        by_port.setdefault(scan.target.port, []).append(scan)
    for port, same_port in sorted(by_port.items()):
        if len({s.target.address for s in same_port}) < 2:
            continue
        mta = same_port[0].target.scheme is Scheme.SMTP
        context = _MTA_CONTEXT if mta else None
        complete = [s for s in same_port if s.scan_complete_for_protocols]
        if len({frozenset(s.supported_versions) for s in complete}) > 1:
            findings.append(
                finding(
                    "tls.inconsistent",
                    host,
                    f"Addresses of {host} accept different TLS versions on port {port}.",
                    evidence=[f"{_where(s)}: {_versions_text(s)}" for s in complete],
                    severity=Severity.LOW,
                    context=context,
                )
            )
        with_certs = [s for s in same_port if s.certificates]
        if len({_leaves(s) for s in with_certs}) > 1:
            findings.append(
                finding(
                    "tls.inconsistent",
                    host,
                    f"Addresses of {host} present different certificates on port {port}.",
                    evidence=[
                        f"{_where(s)}: {', '.join(sorted(f[:16] for f in _leaves(s)))}"
                        for s in with_certs
                    ],
                    severity=Severity.LOW,
                    context=context,
                )
            )
    return findings


def _inconsistent_ports(host: str, group: list[TlsScan]) -> list[Finding]:
    findings: list[Finding] = []
    by_address: dict[str, list[TlsScan]] = {}
    for scan in group:
        by_address.setdefault(scan.target.address, []).append(scan)
    for address, same_address in sorted(by_address.items()):
        clients = [
            s
            for s in same_address
            if s.target.scheme is not Scheme.SMTP and s.scan_complete_for_protocols
        ]
        if len({frozenset(s.supported_versions) for s in clients}) > 1:
            findings.append(
                finding(
                    "tls.inconsistent",
                    host,
                    f"Client ports of {host} at {address} accept different TLS versions.",
                    evidence=[f"{_where(s)}: {_versions_text(s)}" for s in clients],
                    severity=Severity.LOW,
                )
            )
        with_certs = [s for s in same_address if s.certificates]
        if len({_leaves(s) for s in with_certs}) > 1:
            findings.append(
                finding(
                    "tls.inconsistent",
                    host,
                    f"Ports of {host} at {address} present different certificates.",
                    evidence=[
                        f"{_where(s)}: {', '.join(sorted(f[:16] for f in _leaves(s)))}"
                        for s in with_certs
                    ],
                    severity=Severity.INFO,
                )
            )
    return findings
