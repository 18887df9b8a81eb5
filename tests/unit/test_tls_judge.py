"""judge_tls on constructed scans: the same facts judged on port 25 (opportunistic TLS between
MTAs) and on client ports (passwords), certificates, vulnerabilities, failures as data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.checks.tls import forward_secret, weaknesses
from mailaudit.model import (
    CertificateDeployment,
    CertificateInfo,
    CheckStatus,
    CipherSuite,
    Finding,
    ProtocolScan,
    ScanError,
    ScanErrorReason,
    ScanPart,
    Scheme,
    Severity,
    TlsScan,
    TlsTarget,
    TlsVersion,
    Vulnerabilities,
)
from mailaudit.serial import from_data, to_data
from tests.judging import judge_consistency, judge_tls

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

GOOD_12 = CipherSuite(
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    128,
    False,
    "ECDH",
    "X25519",
    253,
)
GOOD_13 = CipherSuite(
    "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 256, False, "ECDH", "X25519", 253
)
CBC_SHA = CipherSuite(
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES128-SHA",
    128,
    False,
    "ECDH",
    "prime256v1",
    256,
)
ANON = CipherSuite(
    "TLS_DH_anon_WITH_AES_128_CBC_SHA", "ADH-AES128-SHA", 128, True, "DH", None, 2048
)
RC4 = CipherSuite("TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA", 128, False)
TRIPLE_DES = CipherSuite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", 168, False)
STATIC_RSA = CipherSuite("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", 128, False)


def cert(
    *,
    names: tuple[str, ...] = ("mail.example.test",),
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=300),
    key_type: str = "EC",
    key_bits: int | None = 256,
    signature: str = "sha256-EC",
) -> CertificateInfo:
    return CertificateInfo(
        subject=f"CN={names[0] if names else 'x'}",
        issuer="CN=Example CA",
        dns_names=names,
        not_before=not_before.isoformat(),
        not_after=not_after.isoformat(),
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=signature,
        sha256_fingerprint="ab" * 32,
    )


def deployment(leaf: CertificateInfo | None = None, **kw: object) -> CertificateDeployment:
    leaf = leaf or cert()
    values: dict[str, object] = {
        "chain": (leaf,),
        "trusted": True,
        "trust_error": None,
        "name_matches": {"mail.example.test": True},
    }
    values.update(kw)
    return CertificateDeployment(**values)  # type: ignore[arg-type]


def protocols(**accepted: tuple[CipherSuite, ...]) -> tuple[ProtocolScan, ...]:
    """protocols(TLS_1_2=(...), TLS_1_3=(...)): the others are scanned and refused."""
    return tuple(ProtocolScan(v, accepted.get(v.name, ())) for v in TlsVersion)


CLEAN_VULNS = Vulnerabilities(
    heartbleed=False,
    robot="not_vulnerable_rsa_not_supported",
    ccs_injection=False,
    secure_renegotiation=True,
    client_renegotiation_dos=False,
    compression=False,
    fallback_scsv=True,
)


def scan(
    scheme: Scheme = Scheme.SUBMISSION,
    *,
    protos: tuple[ProtocolScan, ...] | None = None,
    certs: tuple[CertificateDeployment, ...] | None = None,
    vulns: Vulnerabilities = CLEAN_VULNS,
    errors: tuple[ScanError, ...] = (),
    address: str = "192.0.2.10",
    port: int | None = None,
    host: str = "mail.example.test",
) -> TlsScan:
    return TlsScan(
        target=TlsTarget(host, address, port or scheme.default_port, scheme),
        connected=True,
        protocols=protos
        if protos is not None
        else protocols(TLS_1_2=(GOOD_12,), TLS_1_3=(GOOD_13,)),
        certificates=certs if certs is not None else (deployment(),),
        vulnerabilities=vulns,
        errors=errors,
    )


def ids(findings: list[Finding], at_least: Severity = Severity.INFO) -> list[str]:
    return sorted(f.id for f in findings if f.severity.at_least(at_least))


def only(findings: list[Finding], finding_id: str) -> Finding:
    matching = [f for f in findings if f.id == finding_id]
    assert len(matching) == 1, findings
    return matching[0]


# ------------------------------------------------------------------------------ clean servers


@pytest.mark.parametrize("scheme", list(Scheme))
def test_a_mozilla_intermediate_server_has_no_finding(scheme: Scheme) -> None:
    findings, runs = judge_tls(scan(scheme), now=NOW)
    assert findings == []
    assert {r.status for r in runs} <= {CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE}
    assert all(r.subject == scan(scheme).target.url for r in runs)


def test_every_finding_id_used_is_in_the_catalogue() -> None:
    for finding_id in (
        "tls.protocol-deprecated",
        "tls.cipher-weak",
        "tls.cipher-outside-profile",
        "tls.no-forward-secrecy",
        "tls.cert-expired",
        "tls.cert-expiring-soon",
        "tls.cert-name-mismatch",
        "tls.cert-untrusted",
        "tls.cert-weak-key",
        "tls.cert-weak-signature",
        "tls.ocsp-must-staple-missing",
        "tls.vuln.heartbleed",
        "tls.vuln.robot",
        "tls.vuln.ccs-injection",
        "tls.vuln.insecure-renegotiation",
        "tls.vuln.compression",
        "tls.no-fallback-scsv",
        "tls.scan-failed",
        "tls.inconsistent",
    ):
        assert finding_id in CATALOGUE


# ------------------------------------------------------------------------ protocols in context


def test_tls10_on_submission_is_medium_and_says_clients_send_passwords() -> None:
    # Given TLS 1.0 next to TLS 1.2 and 1.3 on port 587
    s = scan(protos=protocols(TLS_1_0=(CBC_SHA,), TLS_1_2=(GOOD_12,), TLS_1_3=(GOOD_13,)))
    # When judged
    findings, runs = judge_tls(s, now=NOW)
    # Then one medium protocol finding, in the client context
    f = only(findings, "tls.protocol-deprecated")
    assert f.severity is Severity.MEDIUM
    assert f.context is not None
    assert "passwords" in f.context
    assert "TLSv1.0" in f.detail
    assert next(r for r in runs if r.check == "tls.protocols").status is CheckStatus.FAILED


def test_tls10_on_port_25_is_info_in_the_opportunistic_context() -> None:
    s = scan(
        Scheme.SMTP, protos=protocols(TLS_1_0=(CBC_SHA,), TLS_1_2=(GOOD_12,), TLS_1_3=(GOOD_13,))
    )
    findings, _ = judge_tls(s, now=NOW)
    f = only(findings, "tls.protocol-deprecated")
    assert f.severity is Severity.INFO
    assert f.context is not None
    assert "RFC 7435" in f.context
    assert not [x for x in findings if x.severity.at_least(Severity.MEDIUM)]


def test_sslv3_is_high_on_imap_and_low_on_port_25() -> None:
    protos = protocols(SSL_3_0=(CBC_SHA,), TLS_1_2=(GOOD_12,))
    client, _ = judge_tls(scan(Scheme.IMAP, protos=protos), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, protos=protos), now=NOW)
    assert only(client, "tls.protocol-deprecated").severity is Severity.HIGH
    assert only(mta, "tls.protocol-deprecated").severity is Severity.LOW


def test_port_25_with_nothing_newer_than_tls11_is_medium() -> None:
    s = scan(Scheme.SMTP, protos=protocols(TLS_1_0=(CBC_SHA,), TLS_1_1=(CBC_SHA,)))
    findings, _ = judge_tls(s, now=NOW)
    assert only(findings, "tls.protocol-deprecated").severity is Severity.MEDIUM


def test_only_tls11_on_pop3s_is_high() -> None:
    s = scan(Scheme.POP3S, protos=protocols(TLS_1_1=(CBC_SHA,)))
    findings, _ = judge_tls(s, now=NOW)
    assert only(findings, "tls.protocol-deprecated").severity is Severity.HIGH


# ---------------------------------------------------------------------------- cipher suites


def test_anonymous_suites_are_info_on_port_25_and_medium_on_submission() -> None:
    protos = protocols(TLS_1_2=(GOOD_12, ANON), TLS_1_3=(GOOD_13,))
    mta, _ = judge_tls(scan(Scheme.SMTP, protos=protos), now=NOW)
    client, _ = judge_tls(scan(Scheme.SUBMISSION, protos=protos), now=NOW)
    assert only(mta, "tls.cipher-weak").severity is Severity.INFO
    assert only(client, "tls.cipher-weak").severity is Severity.MEDIUM
    assert any(
        "TLS_DH_anon_WITH_AES_128_CBC_SHA" in e for e in only(client, "tls.cipher-weak").evidence
    )


def test_rc4_is_high_on_imaps_and_low_on_port_25() -> None:
    protos = protocols(TLS_1_2=(GOOD_12, RC4))
    client, _ = judge_tls(scan(Scheme.IMAPS, protos=protos), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, protos=protos), now=NOW)
    assert only(client, "tls.cipher-weak").severity is Severity.HIGH
    assert only(mta, "tls.cipher-weak").severity is Severity.LOW


def test_3des_alone_is_medium_on_client_ports() -> None:
    findings, _ = judge_tls(scan(protos=protocols(TLS_1_2=(GOOD_12, TRIPLE_DES))), now=NOW)
    assert only(findings, "tls.cipher-weak").severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TLS_RSA_WITH_NULL_SHA", "no encryption (NULL)"),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "export grade"),
        ("TLS_RSA_WITH_DES_CBC_SHA", "single DES"),
        ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "3DES (64-bit block, Sweet32)"),
        ("TLS_RSA_WITH_IDEA_CBC_SHA", "IDEA (64-bit block)"),
        ("TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "anonymous (no server authentication)"),
    ],
)
def test_weaknesses_by_name(name: str, expected: str) -> None:
    assert expected in weaknesses(CipherSuite(name, name, 128, "anon" in name))


@pytest.mark.parametrize("suite", [GOOD_12, CBC_SHA, STATIC_RSA])
def test_sound_suites_are_not_weak(suite: CipherSuite) -> None:
    assert weaknesses(suite) == ()


def test_cbc_suites_are_outside_the_profile_low_on_client_ports_info_on_25() -> None:
    protos = protocols(TLS_1_2=(GOOD_12, CBC_SHA), TLS_1_3=(GOOD_13,))
    client, _ = judge_tls(scan(Scheme.IMAPS, protos=protos), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, protos=protos), now=NOW)
    assert ids(client) == ["tls.cipher-outside-profile"]
    assert only(client, "tls.cipher-outside-profile").severity is Severity.LOW
    assert only(mta, "tls.cipher-outside-profile").severity is Severity.INFO


def test_forward_secrecy_by_key_exchange() -> None:
    assert forward_secret(GOOD_12, TlsVersion.TLS_1_2)
    assert forward_secret(ANON, TlsVersion.TLS_1_2)
    assert forward_secret(STATIC_RSA, TlsVersion.TLS_1_3)  # every TLS 1.3 suite
    assert not forward_secret(STATIC_RSA, TlsVersion.TLS_1_2)


def test_some_suites_without_forward_secrecy_is_low() -> None:
    findings, _ = judge_tls(scan(protos=protocols(TLS_1_2=(GOOD_12, STATIC_RSA))), now=NOW)
    f = only(findings, "tls.no-forward-secrecy")
    assert f.severity is Severity.LOW
    assert "TLS_RSA_WITH_AES_128_GCM_SHA256" in f.evidence


def test_no_forward_secrecy_at_all_is_medium_on_client_ports_low_on_25() -> None:
    protos = protocols(TLS_1_2=(STATIC_RSA,))
    client, _ = judge_tls(scan(protos=protos), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, protos=protos), now=NOW)
    assert only(client, "tls.no-forward-secrecy").severity is Severity.MEDIUM
    assert only(mta, "tls.no-forward-secrecy").severity is Severity.LOW


# ------------------------------------------------------------------------------ certificates


def test_expired_certificate_is_high_on_client_ports_and_medium_on_25() -> None:
    leaf = cert(not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=3))
    client, runs = judge_tls(scan(certs=(deployment(leaf),)), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, certs=(deployment(leaf),)), now=NOW)
    assert ids(client) == ["tls.cert-expired"]
    assert only(client, "tls.cert-expired").severity is Severity.HIGH
    assert "3 days ago" in only(client, "tls.cert-expired").detail
    assert only(mta, "tls.cert-expired").severity is Severity.MEDIUM
    assert next(r for r in runs if r.check == "tls.certificate").status is CheckStatus.FAILED


def test_not_yet_valid_counts_as_expired() -> None:
    leaf = cert(not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=300))
    findings, _ = judge_tls(scan(certs=(deployment(leaf),)), now=NOW)
    assert "not valid yet" in only(findings, "tls.cert-expired").detail


@pytest.mark.parametrize(
    ("days", "client", "mta"),
    [(20, Severity.LOW, Severity.INFO), (5, Severity.MEDIUM, Severity.LOW)],
)
def test_expiring_soon(days: int, client: Severity, mta: Severity) -> None:
    leaf = cert(not_after=NOW + timedelta(days=days, hours=1))
    c, _ = judge_tls(scan(certs=(deployment(leaf),)), now=NOW)
    m, _ = judge_tls(scan(Scheme.SMTP, certs=(deployment(leaf),)), now=NOW)
    assert ids(c) == ["tls.cert-expiring-soon"]
    assert only(c, "tls.cert-expiring-soon").severity is client
    assert only(m, "tls.cert-expiring-soon").severity is mta


def test_far_expiry_gives_nothing() -> None:
    findings, _ = judge_tls(
        scan(certs=(deployment(cert(not_after=NOW + timedelta(days=31))),)), now=NOW
    )
    assert findings == []


def test_wrong_name_lists_every_uncovered_name() -> None:
    d = deployment(
        name_matches={
            "mail.example.test": False,
            "imap.example.test": False,
            "ok.example.test": True,
        }
    )
    client, _ = judge_tls(scan(Scheme.IMAPS, certs=(d,)), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, certs=(d,)), now=NOW)
    f = only(client, "tls.cert-name-mismatch")
    assert ids(client) == ["tls.cert-name-mismatch"]
    assert f.severity is Severity.HIGH
    assert "imap.example.test, mail.example.test" in f.detail
    assert only(mta, "tls.cert-name-mismatch").severity is Severity.LOW


def test_untrusted_chain_is_high_on_client_ports_low_on_25() -> None:
    d = deployment(trusted=False, trust_error="no trusted anchor for issuer CN=Rogue CA")
    client, _ = judge_tls(scan(Scheme.POP3S, certs=(d,)), now=NOW)
    mta, _ = judge_tls(scan(Scheme.SMTP, certs=(d,)), now=NOW)
    assert ids(client) == ["tls.cert-untrusted"]
    assert "Rogue CA" in only(client, "tls.cert-untrusted").detail
    assert only(client, "tls.cert-untrusted").severity is Severity.HIGH
    assert only(mta, "tls.cert-untrusted").severity is Severity.LOW


def test_no_certificate_at_all_is_untrusted() -> None:
    findings, _ = judge_tls(scan(certs=()), now=NOW)
    assert ids(findings) == ["tls.cert-untrusted"]


@pytest.mark.parametrize(
    ("key_type", "bits", "severity"),
    [
        ("RSA", 1024, Severity.MEDIUM),
        ("RSA", 512, Severity.HIGH),
        ("EC", 224, Severity.MEDIUM),
        ("DSA", 2048, Severity.MEDIUM),
    ],
)
def test_weak_keys(key_type: str, bits: int, severity: Severity) -> None:
    leaf = cert(key_type=key_type, key_bits=bits)
    findings, _ = judge_tls(scan(certs=(deployment(leaf),)), now=NOW)
    assert only(findings, "tls.cert-weak-key").severity is severity
    mta, _ = judge_tls(scan(Scheme.SMTP, certs=(deployment(leaf),)), now=NOW)
    assert only(mta, "tls.cert-weak-key").severity is Severity.LOW


@pytest.mark.parametrize(
    ("key_type", "bits"), [("RSA", 2048), ("RSA", 4096), ("EC", 256), ("EC", 384), ("Ed25519", 256)]
)
def test_strong_keys(key_type: str, bits: int) -> None:
    findings, _ = judge_tls(
        scan(certs=(deployment(cert(key_type=key_type, key_bits=bits)),)), now=NOW
    )
    assert findings == []


def test_sha1_signed_leaf_is_weak_but_a_self_signed_root_is_not_judged() -> None:
    leaf = cert(signature="sha1-RSA", key_type="RSA", key_bits=2048)
    root = CertificateInfo(
        "CN=Root",
        "CN=Root",
        (),
        leaf.not_before,
        leaf.not_after,
        "RSA",
        2048,
        "sha1-RSA",
        "cd" * 32,
    )
    findings, _ = judge_tls(scan(certs=(deployment(leaf, chain=(leaf, root)),)), now=NOW)
    f = only(findings, "tls.cert-weak-signature")
    assert f.evidence[1:] == ("CN=mail.example.test: sha1-RSA",)


def test_must_staple_without_staple() -> None:
    findings, _ = judge_tls(scan(certs=(deployment(must_staple=True),)), now=NOW)
    assert ids(findings) == ["tls.ocsp-must-staple-missing"]
    stapled, _ = judge_tls(
        scan(certs=(deployment(must_staple=True, ocsp_stapled=True, ocsp_status="good"),)), now=NOW
    )
    assert stapled == []


# --------------------------------------------------------------------------- vulnerabilities


@pytest.mark.parametrize(
    ("vulns", "finding_id", "client", "mta"),
    [
        (
            Vulnerabilities(heartbleed=True),
            "tls.vuln.heartbleed",
            Severity.CRITICAL,
            Severity.CRITICAL,
        ),
        (
            Vulnerabilities(robot="vulnerable_strong_oracle"),
            "tls.vuln.robot",
            Severity.HIGH,
            Severity.MEDIUM,
        ),
        (
            Vulnerabilities(robot="vulnerable_weak_oracle"),
            "tls.vuln.robot",
            Severity.MEDIUM,
            Severity.LOW,
        ),
        (
            Vulnerabilities(ccs_injection=True),
            "tls.vuln.ccs-injection",
            Severity.HIGH,
            Severity.MEDIUM,
        ),
        (
            Vulnerabilities(secure_renegotiation=False),
            "tls.vuln.insecure-renegotiation",
            Severity.MEDIUM,
            Severity.LOW,
        ),
        (
            Vulnerabilities(client_renegotiation_dos=True),
            "tls.vuln.insecure-renegotiation",
            Severity.LOW,
            Severity.LOW,
        ),
        (Vulnerabilities(compression=True), "tls.vuln.compression", Severity.MEDIUM, Severity.LOW),
    ],
)
def test_vulnerabilities(
    vulns: Vulnerabilities, finding_id: str, client: Severity, mta: Severity
) -> None:
    merged = replace(CLEAN_VULNS, **{k: v for k, v in vars(vulns).items() if v is not None})
    c, _ = judge_tls(scan(Scheme.IMAPS, vulns=merged), now=NOW)
    m, _ = judge_tls(scan(Scheme.SMTP, vulns=merged), now=NOW)
    assert ids(c) == [finding_id]
    assert only(c, finding_id).severity is client
    assert only(m, finding_id).severity is mta


def test_missing_fallback_scsv_matters_only_with_something_to_fall_back_to() -> None:
    no_scsv = replace(CLEAN_VULNS, fallback_scsv=False)
    modern_only, runs = judge_tls(scan(vulns=no_scsv), now=NOW)
    assert modern_only == []
    assert (
        next(r for r in runs if r.check == "tls.fallback-scsv").status is CheckStatus.NOT_APPLICABLE
    )

    legacy = protocols(TLS_1_0=(CBC_SHA,), TLS_1_2=(GOOD_12,))
    client, _ = judge_tls(scan(protos=legacy, vulns=no_scsv), now=NOW)
    assert only(client, "tls.no-fallback-scsv").severity is Severity.LOW
    # On port 25 whoever can downgrade can strip STARTTLS: not judged.
    mta, mta_runs = judge_tls(scan(Scheme.SMTP, protos=legacy, vulns=no_scsv), now=NOW)
    assert "tls.no-fallback-scsv" not in ids(mta)
    assert (
        next(r for r in mta_runs if r.check == "tls.fallback-scsv").status
        is CheckStatus.NOT_APPLICABLE
    )


# ---------------------------------------------------------------------- failures are data


def test_a_dead_endpoint_is_not_tested_never_passed() -> None:
    # Given a scan that could not connect
    dead = TlsScan(
        target=TlsTarget("mail.example.test", "192.0.2.10", 25, Scheme.SMTP),
        connected=False,
        errors=(ScanError(ScanPart.CONNECTIVITY, ScanErrorReason.TIMEOUT, "timed out"),),
    )
    # When judged
    findings, runs = judge_tls(dead, now=NOW)
    # Then only the scan-failed finding, with the reason, and every applicable check not tested
    assert ids(findings) == ["tls.scan-failed"]
    f = findings[0]
    assert f.severity is Severity.INFO
    assert "timeout" in f.detail
    assert all(r.status in (CheckStatus.NOT_TESTED, CheckStatus.NOT_APPLICABLE) for r in runs)
    assert all(
        r.reason == "connectivity: timeout" for r in runs if r.status is CheckStatus.NOT_TESTED
    )
    assert CheckStatus.PASSED not in {r.status for r in runs}


def test_one_failed_command_leaves_only_its_check_not_tested() -> None:
    s = scan(
        vulns=replace(CLEAN_VULNS, robot=None),
        errors=(ScanError(ScanPart.ROBOT, ScanErrorReason.CONNECTIVITY, "reset"),),
    )
    findings, runs = judge_tls(s, now=NOW)
    assert ids(findings) == ["tls.scan-failed"]
    assert "robot" in findings[0].detail
    status = {r.check: r.status for r in runs}
    assert status["tls.vuln.robot"] is CheckStatus.NOT_TESTED
    assert status["tls.certificate"] is CheckStatus.PASSED


def test_a_failed_certificate_scan_gives_no_certificate_findings() -> None:
    s = scan(
        certs=(), errors=(ScanError(ScanPart.CERTIFICATE, ScanErrorReason.CONNECTIVITY, "reset"),)
    )
    findings, runs = judge_tls(s, now=NOW)
    assert ids(findings) == ["tls.scan-failed"]
    assert next(r for r in runs if r.check == "tls.certificate").status is CheckStatus.NOT_TESTED


# ----------------------------------------------------------------------------- consistency


def test_addresses_with_different_protocols_are_inconsistent() -> None:
    a = scan(Scheme.IMAPS, address="192.0.2.10")
    b = scan(
        Scheme.IMAPS,
        address="2001:db8::10",
        protos=protocols(TLS_1_0=(CBC_SHA,), TLS_1_2=(GOOD_12,)),
    )
    findings = judge_consistency([a, b])
    assert [f.id for f in findings] == ["tls.inconsistent"]
    f = findings[0]
    assert f.subject == "mail.example.test"
    assert f.severity is Severity.LOW  # drift; each address is judged on its own too
    assert any("2001:db8::10" in e and "TLSv1.0" in e for e in f.evidence)


def test_addresses_with_different_certificates_are_inconsistent() -> None:
    other = deployment(replace(cert(), sha256_fingerprint="ef" * 32))
    findings = judge_consistency(
        [scan(address="192.0.2.10"), scan(address="192.0.2.11", certs=(other,))]
    )
    assert [(f.id, f.severity) for f in findings] == [("tls.inconsistent", Severity.LOW)]


def test_port_25_may_differ_from_client_ports_in_protocols() -> None:
    mta = scan(
        Scheme.SMTP, protos=protocols(TLS_1_0=(CBC_SHA,), TLS_1_2=(GOOD_12,), TLS_1_3=(GOOD_13,))
    )
    assert judge_consistency([mta, scan(Scheme.SUBMISSION), scan(Scheme.IMAPS)]) == []


def test_client_ports_with_different_protocols_are_inconsistent() -> None:
    legacy = scan(Scheme.POP3S, protos=protocols(TLS_1_1=(CBC_SHA,), TLS_1_2=(GOOD_12,)))
    findings = judge_consistency([scan(Scheme.IMAPS), legacy])
    assert [(f.id, f.severity) for f in findings] == [("tls.inconsistent", Severity.LOW)]


def test_consistency_ignores_dead_scans_and_single_endpoints() -> None:
    dead = TlsScan(TlsTarget("mail.example.test", "192.0.2.11", 993, Scheme.IMAPS), connected=False)
    assert judge_consistency([scan(Scheme.IMAPS), dead]) == []
    assert judge_consistency([scan()]) == []


# ---------------------------------------------------------------------------- serialisation


def test_a_scan_round_trips_through_the_serialiser() -> None:
    s = scan(
        Scheme.SMTP,
        protos=protocols(TLS_1_0=(ANON,), TLS_1_2=(GOOD_12, STATIC_RSA), TLS_1_3=(GOOD_13,)),
        certs=(
            deployment(store_results={"Mozilla": "candidates exhausted", "Supplied CA file": ""}),
        ),
        errors=(ScanError(ScanPart.ROBOT, ScanErrorReason.TIMEOUT, "slow"),),
    )
    assert from_data(TlsScan, to_data(s)) == s


def test_an_unreadable_ca_file_is_reported_but_does_not_stop_the_certificate_check() -> None:
    s = scan(
        certs=(deployment(trusted=False, trust_error="no trusted anchor for issuer CN=Lab CA"),),
        errors=(
            ScanError(
                ScanPart.CERTIFICATE, ScanErrorReason.CONFIGURATION, "CA file x cannot be read"
            ),
        ),
    )
    findings, runs = judge_tls(s, now=NOW)
    assert ids(findings) == ["tls.cert-untrusted", "tls.scan-failed"]
    assert only(findings, "tls.scan-failed").detail == "CA file x cannot be read."
    assert next(r for r in runs if r.check == "tls.certificate").status is CheckStatus.FAILED
