"""TLS vulnerability checks: Heartbleed, ROBOT, CCS injection, renegotiation, compression,
fallback SCSV."""

from __future__ import annotations

from mailaudit.checks.tls_verdict import _PROTOCOL_PARTS, _is_mta, _pick, _Verdict
from mailaudit.model import (
    ScanPart,
    Severity,
    TlsScan,
)


def _check_heartbleed(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.vuln.heartbleed", scan)
    v.needs(ScanPart.HEARTBLEED)
    if scan.vulnerabilities.heartbleed:
        v.add(
            "tls.vuln.heartbleed",
            "The server leaks memory through TLS heartbeats: private keys and passwords can be "
            "read by anyone who connects.",
            Severity.CRITICAL,
        )
    return v


def _check_robot(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.vuln.robot", scan)
    v.needs(ScanPart.ROBOT)
    robot = scan.vulnerabilities.robot
    if robot == "vulnerable_strong_oracle":
        v.add(
            "tls.vuln.robot",
            "A strong RSA padding oracle: recorded RSA key exchanges can be decrypted.",
            _pick(scan, Severity.HIGH, Severity.MEDIUM),
            [f"sslyze: {robot}"],
        )
    elif robot == "vulnerable_weak_oracle":
        v.add(
            "tls.vuln.robot",
            "A weak RSA padding oracle: exploiting it takes many connections.",
            _pick(scan, Severity.MEDIUM, Severity.LOW),
            [f"sslyze: {robot}"],
        )
    elif robot == "unknown_inconsistent_results":
        v.reasons.append("robot: inconsistent results")
    return v


def _check_ccs(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.vuln.ccs-injection", scan)
    v.needs(ScanPart.CCS_INJECTION)
    if scan.vulnerabilities.ccs_injection:
        v.add(
            "tls.vuln.ccs-injection",
            "An attacker in the path can force weak keys (OpenSSL ChangeCipherSpec injection).",
            _pick(scan, Severity.HIGH, Severity.MEDIUM),
        )
    return v


def _check_renegotiation(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.vuln.insecure-renegotiation", scan)
    v.needs(ScanPart.RENEGOTIATION)
    vulns = scan.vulnerabilities
    if vulns.secure_renegotiation is False:
        v.add(
            "tls.vuln.insecure-renegotiation",
            "The server does not support secure renegotiation (RFC 5746): an attacker in the "
            "path can prefix the client's session with data of its own.",
            _pick(scan, Severity.MEDIUM, Severity.LOW),
            ["secure renegotiation: not supported"],
        )
    if vulns.client_renegotiation_dos:
        v.add(
            "tls.vuln.insecure-renegotiation",
            "The server honours client-initiated renegotiation, a cheap way to load its CPU.",
            Severity.LOW,
            ["client-initiated renegotiation: accepted"],
        )
    return v


def _check_compression(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.vuln.compression", scan)
    v.needs(ScanPart.COMPRESSION)
    if scan.vulnerabilities.compression:
        v.add(
            "tls.vuln.compression",
            "TLS compression is on: secrets in the stream can be recovered (CRIME).",
            _pick(scan, Severity.MEDIUM, Severity.LOW),
        )
    return v


def _check_fallback_scsv(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.fallback-scsv", scan)
    if _is_mta(scan):
        # On port 25 an attacker who can downgrade can simply strip STARTTLS.
        v.not_applicable = True
        return v
    v.needs(ScanPart.FALLBACK_SCSV, *_PROTOCOL_PARTS)
    supported = scan.supported_versions
    below_top = [
        ver for ver in supported if ver.deprecated and any(o.rank > ver.rank for o in supported)
    ]
    if not below_top:
        # Nothing older to fall back to: the check has no object.
        v.not_applicable = not v.reasons
        return v
    if scan.vulnerabilities.fallback_scsv is False:
        v.add(
            "tls.no-fallback-scsv",
            f"The server accepts {', '.join(x.value for x in below_top)} and does not signal "
            "downgrade attempts (TLS_FALLBACK_SCSV).",
            Severity.LOW,
        )
    return v
