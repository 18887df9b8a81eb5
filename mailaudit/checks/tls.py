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

from collections.abc import Iterable
from datetime import datetime

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import TlsFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.tls_verdict import _PROTOCOL_PARTS, _context, _is_mta, _pick, _Verdict
from mailaudit.model import (
    CertificateDeployment,
    CertificateInfo,
    CipherSuite,
    Finding,
    ScanErrorReason,
    ScanPart,
    Severity,
    TlsScan,
    TlsVersion,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "MOZILLA_INTERMEDIATE_CIPHERS",
    "MOZILLA_INTERMEDIATE_TLS13_CIPHERS",
    "MOZILLA_INTERMEDIATE_VERSIONS",
    "days_left",
    "forward_secret",
    "scan_gate",
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


def days_left(info: CertificateInfo, now: datetime) -> int:
    """Whole days until the certificate expires (negative once it has)."""
    return (datetime.fromisoformat(info.not_after) - now).days


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


def scan_gate(facts: TlsFacts) -> Outcome:
    """`tls.scan-failed` when sslyze could not scan (all or part of) the endpoint; the checks
    that needed those parts say not tested in their own runs."""
    failed = _scan_failed(facts.scan)
    return Outcome((failed,) if failed is not None else ())
