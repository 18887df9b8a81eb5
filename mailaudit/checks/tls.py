"""Judging TLS scans: a finished `TlsScan` in, findings and check runs out. Pure: no I/O; the
clock comes in as `now`.

The yardstick is Mozilla's intermediate profile, applied in context:

- Port 25 between MTAs is opportunistic TLS (RFC 7435). A sender that cannot negotiate TLS falls
  back to plaintext, so TLS 1.0 or an anonymous suite there beats the alternative: at most low or
  info. An active attacker can strip STARTTLS on port 25 anyway, so downgrade protection is not
  judged there; certificates are checked only by senders that enforce MTA-STS or DANE (the DNS
  policy checks cover those), so an untrusted or misnamed certificate is low there.
- Submission, IMAP and POP3 (clients send passwords, RFC 8314): deprecated protocols and weak
  suites are medium or high, certificate failures high.

Every finding says in `context` which of the two it was judged in. A check whose facts sslyze could
not gather says `not_tested` with the reason, never `passed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mailaudit.checks.catalogue import finding
from mailaudit.model import CheckRun, CheckStatus, Finding, Severity
from mailaudit.net.tls import days_left
from mailaudit.probes.model import Scheme
from mailaudit.probes.tls_model import (
    CIPHER_PARTS,
    CertificateDeployment,
    CipherSuite,
    ScanErrorReason,
    ScanPart,
    TlsScan,
    TlsVersion,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "MOZILLA_INTERMEDIATE_CIPHERS",
    "MOZILLA_INTERMEDIATE_TLS13_CIPHERS",
    "MOZILLA_INTERMEDIATE_VERSIONS",
    "forward_secret",
    "judge_consistency",
    "judge_tls",
    "weaknesses",
]

# Mozilla's intermediate profile (version 5.7, as bundled with sslyze 6.3; a unit test keeps the
# two in step).
MOZILLA_INTERMEDIATE_VERSIONS = frozenset({TlsVersion.TLS_1_2, TlsVersion.TLS_1_3})
MOZILLA_INTERMEDIATE_CIPHERS = frozenset(
    {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    }
)
MOZILLA_INTERMEDIATE_TLS13_CIPHERS = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
MOZILLA_INTERMEDIATE_RSA_BITS = 2048
MOZILLA_INTERMEDIATE_EC_BITS = 256

# Days before expiry at which we warn: low within 30 days, medium within 7 (client ports).
EXPIRY_WARNING_DAYS = 30
EXPIRY_URGENT_DAYS = 7

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
        if self.not_applicable and not self.findings:
            status = CheckStatus.NOT_APPLICABLE
        elif any(f.severity.at_least(Severity.LOW) for f in self.findings):
            status = CheckStatus.FAILED
        elif self.reasons:
            status = CheckStatus.NOT_TESTED
        else:
            status = CheckStatus.PASSED
        reason = "; ".join(self.reasons) or None
        return CheckRun(
            self.check, self.scan.target.url, status, reason, tuple(f.id for f in self.findings)
        )


def _pick(scan: TlsScan, client: Severity, mta: Severity) -> Severity:
    return mta if _is_mta(scan) else client


# -------------------------------------------------------------------------- cipher suite facts


def weaknesses(suite: CipherSuite) -> tuple[str, ...]:
    """Why a cipher suite is weak, from its IANA name; () when it is not."""
    name = suite.name.upper()
    found: list[str] = []
    if "_WITH_NULL_" in name:
        found.append("no encryption (NULL)")
    if "EXPORT" in name:
        found.append("export grade")
    if suite.anonymous or "_ANON_" in name:
        found.append("anonymous (no server authentication)")
    if "RC4" in name:
        found.append("RC4")
    if "RC2" in name:
        found.append("RC2")
    if "_3DES_" in name or "DES_192_EDE3" in name:
        found.append("3DES (64-bit block, Sweet32)")
    elif "_DES_" in name or "_DES40_" in name:
        found.append("single DES")
    if "IDEA" in name:
        found.append("IDEA (64-bit block)")
    if name.endswith("_MD5"):
        found.append("MD5 MAC")
    if 0 < suite.key_bits < 128 and "EXPORT" not in name:
        found.append(f"{suite.key_bits}-bit key")
    return tuple(dict.fromkeys(found))


def _weak_severity(scan: TlsScan, reasons: tuple[str, ...]) -> Severity:
    mild = all(r.startswith(("anonymous", "3DES", "IDEA")) for r in reasons)
    if _is_mta(scan):
        only_anonymous = all(r.startswith("anonymous") for r in reasons)
        return Severity.INFO if only_anonymous else Severity.LOW
    return Severity.MEDIUM if mild else Severity.HIGH


def forward_secret(suite: CipherSuite, version: TlsVersion) -> bool:
    """TLS 1.3 always; before it only ephemeral (EC)DH key exchange (anonymous DH included)."""
    if version is TlsVersion.TLS_1_3:
        return True
    return suite.name.upper().startswith(
        ("TLS_ECDHE_", "TLS_DHE_", "TLS_DH_ANON_", "TLS_ECDH_ANON_")
    )


def _suites(scan: TlsScan, versions: Iterable[TlsVersion]) -> list[tuple[TlsVersion, CipherSuite]]:
    wanted = set(versions)
    return [(p.version, s) for p in scan.protocols if p.version in wanted for s in p.accepted]


_PROTOCOL_PARTS = tuple(CIPHER_PARTS.values())


# ------------------------------------------------------------------------------------ checks


def _check_protocols(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.protocols", scan)
    v.needs(*_PROTOCOL_PARTS)
    supported = scan.supported_versions
    deprecated = [ver for ver in supported if ver.deprecated]
    if not deprecated:
        return v
    modern = [ver for ver in supported if not ver.deprecated]
    names = ", ".join(ver.value for ver in deprecated)
    evidence = [f"accepted: {', '.join(ver.value for ver in supported)}"]
    if _is_mta(scan):
        if not modern:
            v.add(
                "tls.protocol-deprecated",
                f"Only deprecated versions are accepted ({names}): no TLS 1.2 or later for "
                "senders that refuse older versions (RFC 8996).",
                Severity.MEDIUM,
                evidence,
            )
        else:
            ssl = any(ver in (TlsVersion.SSL_2_0, TlsVersion.SSL_3_0) for ver in deprecated)
            v.add(
                "tls.protocol-deprecated",
                f"{names} accepted alongside {', '.join(m.value for m in modern)}; tolerable for "
                "old senders on port 25, where the alternative is plaintext.",
                Severity.LOW if ssl else Severity.INFO,
                evidence,
            )
        return v
    ssl = any(ver in (TlsVersion.SSL_2_0, TlsVersion.SSL_3_0) for ver in deprecated)
    severity = Severity.HIGH if ssl or not modern else Severity.MEDIUM
    v.add(
        "tls.protocol-deprecated",
        f"{names} accepted where clients send passwords; Mozilla's intermediate profile allows "
        "TLS 1.2 and 1.3 only.",
        severity,
        evidence,
    )
    return v


def _check_ciphers(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.ciphers", scan)
    v.needs(*_PROTOCOL_PARTS)
    weak: dict[str, tuple[str, ...]] = {}
    for _, suite in _suites(scan, TlsVersion):
        reasons = weaknesses(suite)
        if reasons:
            weak.setdefault(suite.name, reasons)
    if weak:
        all_reasons = tuple(dict.fromkeys(r for rs in weak.values() for r in rs))
        severity = _weak_severity(scan, all_reasons)
        detail = f"{len(weak)} weak cipher suite(s) accepted: {', '.join(all_reasons)}."
        if _is_mta(scan) and severity is Severity.INFO:
            detail += " Anonymous suites still encrypt; acceptable for opportunistic TLS."
        v.add(
            "tls.cipher-weak",
            detail,
            severity,
            [f"{n}: {', '.join(r)}" for n, r in sorted(weak.items())],
        )
    outside: set[str] = set()
    for version, suite in _suites(scan, (TlsVersion.TLS_1_2, TlsVersion.TLS_1_3)):
        allowed = (
            MOZILLA_INTERMEDIATE_TLS13_CIPHERS
            if version is TlsVersion.TLS_1_3
            else MOZILLA_INTERMEDIATE_CIPHERS
        )
        if suite.name in allowed or suite.name in weak or not forward_secret(suite, version):
            continue
        outside.add(suite.name)
    if outside:
        v.add(
            "tls.cipher-outside-profile",
            f"{len(outside)} cipher suite(s) accepted that Mozilla's intermediate profile "
            "leaves out (CBC, CCM, CAMELLIA, ARIA...); not broken, but not recommended.",
            _pick(scan, Severity.LOW, Severity.INFO),
            sorted(outside),
        )
    return v


def _check_forward_secrecy(scan: TlsScan) -> _Verdict:
    v = _Verdict("tls.forward-secrecy", scan)
    v.needs(*_PROTOCOL_PARTS)
    suites = _suites(scan, TlsVersion)
    if not suites:
        return v
    without = sorted({s.name for ver, s in suites if not forward_secret(s, ver)})
    if not without:
        return v
    with_fs = any(forward_secret(s, ver) for ver, s in suites)
    if with_fs:
        severity = _pick(scan, Severity.LOW, Severity.INFO)
        detail = (
            f"{len(without)} suite(s) without forward secrecy accepted next to suites with it; "
            "a client that prefers them loses forward secrecy."
        )
    else:
        severity = _pick(scan, Severity.MEDIUM, Severity.LOW)
        detail = "No accepted cipher suite has forward secrecy (ECDHE/DHE or TLS 1.3)."
    v.add("tls.no-forward-secrecy", detail, severity, without)
    return v


def _check_certificate(scan: TlsScan, now: datetime) -> _Verdict:
    v = _Verdict("tls.certificate", scan)
    v.needs(ScanPart.CERTIFICATE)
    if scan.failed(ScanPart.CERTIFICATE) is not None:
        return v
    if not scan.certificates:
        v.add(
            "tls.cert-untrusted",
            "The server presented no certificate (anonymous cipher suites only).",
            _pick(scan, Severity.HIGH, Severity.LOW),
        )
        return v
    for deployment in scan.certificates:
        _judge_deployment(v, scan, deployment, now)
    return v


def _judge_deployment(
    v: _Verdict, scan: TlsScan, deployment: CertificateDeployment, now: datetime
) -> None:
    leaf = deployment.leaf
    about = f"certificate {leaf.subject} (sha256 {leaf.sha256_fingerprint[:16]}...)"
    dates = f"valid {leaf.not_before} to {leaf.not_after}"
    left = days_left(leaf, now)
    not_yet = datetime.fromisoformat(leaf.not_before) > now
    if not_yet:
        v.add(
            "tls.cert-expired",
            f"The certificate is not valid yet (from {leaf.not_before}).",
            _pick(scan, Severity.HIGH, Severity.MEDIUM),
            [about, dates],
        )
    elif datetime.fromisoformat(leaf.not_after) <= now:
        v.add(
            "tls.cert-expired",
            f"The certificate expired on {leaf.not_after} ({-left} days ago).",
            _pick(scan, Severity.HIGH, Severity.MEDIUM),
            [about, dates],
        )
    elif left <= EXPIRY_WARNING_DAYS:
        urgent = left <= EXPIRY_URGENT_DAYS
        client = Severity.MEDIUM if urgent else Severity.LOW
        mta = Severity.LOW if urgent else Severity.INFO
        v.add(
            "tls.cert-expiring-soon",
            f"The certificate expires in {left} days ({leaf.not_after}).",
            _pick(scan, client, mta),
            [about, dates],
        )

    wrong = sorted(n for n, ok in deployment.name_matches.items() if not ok)
    if wrong:
        v.add(
            "tls.cert-name-mismatch",
            f"The certificate does not cover {', '.join(wrong)}.",
            _pick(scan, Severity.HIGH, Severity.LOW),
            [about, f"certificate names: {', '.join(leaf.dns_names) or '(none)'}"],
        )

    if not deployment.trusted:
        v.add(
            "tls.cert-untrusted",
            f"The chain does not lead to a trusted root ({deployment.trust_error or 'rejected'}).",
            _pick(scan, Severity.HIGH, Severity.LOW),
            [about, f"issuer: {leaf.issuer}", f"chain length: {len(deployment.chain)}"],
        )

    weak_key = _weak_key(leaf.key_type, leaf.key_bits)
    if weak_key:
        very_weak = leaf.key_type in ("RSA", "DSA") and (leaf.key_bits or 0) < 1024
        v.add(
            "tls.cert-weak-key",
            f"The certificate key is {weak_key}.",
            _pick(scan, Severity.HIGH if very_weak else Severity.MEDIUM, Severity.LOW),
            [about],
        )

    weak_sigs = [
        f"{c.subject}: {c.signature_algorithm}"
        for c in deployment.chain
        if c.subject != c.issuer and _weak_hash(c.signature_algorithm)
    ]
    if weak_sigs:
        v.add(
            "tls.cert-weak-signature",
            "A certificate in the chain is signed with MD5 or SHA-1.",
            _pick(scan, Severity.MEDIUM, Severity.LOW),
            weak_sigs,
        )

    if deployment.must_staple and not deployment.ocsp_stapled:
        v.add(
            "tls.ocsp-must-staple-missing",
            "The certificate carries the must-staple extension, but the server stapled no OCSP "
            "response.",
            _pick(scan, Severity.HIGH, Severity.MEDIUM),
            [about],
        )


def _weak_key(key_type: str, bits: int | None) -> str | None:
    if key_type == "RSA" and (bits or 0) < MOZILLA_INTERMEDIATE_RSA_BITS:
        return f"RSA {bits} bits (minimum {MOZILLA_INTERMEDIATE_RSA_BITS})"
    if key_type == "EC" and (bits or 0) < MOZILLA_INTERMEDIATE_EC_BITS:
        return f"EC {bits} bits (minimum {MOZILLA_INTERMEDIATE_EC_BITS})"
    if key_type == "DSA":
        return f"DSA {bits} bits (DSA is deprecated)"
    return None


def _weak_hash(signature_algorithm: str | None) -> bool:
    if not signature_algorithm:
        return False
    digest = signature_algorithm.lower().split("-", 1)[0]
    return digest in ("md2", "md4", "md5", "sha1")


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


def _scan_failed(scan: TlsScan) -> Finding | None:
    if not scan.errors:
        return None
    target = scan.target
    if not scan.connected:
        error = scan.errors[0]
        detail = f"Not tested: {error.reason.value} ({error.message})."
    else:
        untested = [
            e.part.value for e in scan.errors if e.reason is not ScanErrorReason.CONFIGURATION
        ]
        setup = [e.message for e in scan.errors if e.reason is ScanErrorReason.CONFIGURATION]
        details = []
        if untested:
            details.append(f"Partly tested: {', '.join(untested)} could not be scanned.")
        details.extend(f"{m}." for m in setup)
        detail = " ".join(details)
    return finding(
        "tls.scan-failed",
        target.url,
        detail,
        evidence=(
            f"address {target.address} port {target.port}",
            *(f"{e.part.value}: {e.reason.value}: {e.message}" for e in scan.errors),
        ),
        context=_context(scan),
    )


def judge_tls(scan: TlsScan, *, now: datetime) -> tuple[list[Finding], list[CheckRun]]:
    """Every TLS check of one scanned (address, port)."""
    verdicts = [
        _check_protocols(scan),
        _check_ciphers(scan),
        _check_forward_secrecy(scan),
        _check_certificate(scan, now),
        _check_heartbleed(scan),
        _check_robot(scan),
        _check_ccs(scan),
        _check_renegotiation(scan),
        _check_compression(scan),
        _check_fallback_scsv(scan),
    ]
    findings = [f for v in verdicts for f in v.findings]
    runs = [v.run() for v in verdicts]
    failed = _scan_failed(scan)
    if failed is not None:
        findings.append(failed)
    return findings, runs


# ------------------------------------------------------------------------------- consistency


def judge_consistency(scans: Sequence[TlsScan]) -> list[Finding]:
    """`tls.inconsistent` for each host whose addresses (same port) accept different protocol
    versions or present different certificates, or whose ports differ in certificate. Protocol
    sets are compared between ports of one kind only (port 25 may rightly differ from client
    ports). Low at most: the weaker side is also judged on its own scan."""
    by_host: dict[str, list[TlsScan]] = {}
    for scan in scans:
        if scan.connected:
            by_host.setdefault(scan.target.host, []).append(scan)
    findings: list[Finding] = []
    for host, group in sorted(by_host.items()):
        if len(group) < 2:
            continue
        findings.extend(_inconsistent_addresses(host, group))
        findings.extend(_inconsistent_ports(host, group))
    return findings


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
