"""Sample Reports built in code, shared by the report tests (and the Chromium test).

`relay_report()` looks like an audit of the lab's relay.test: an open relay (critical), a
submission endpoint that timed out (not tested), an IMAP endpoint that refused the session (421,
inconclusive), a guessed endpoint that is not offered, an MX name that does not resolve, and DNS
policy findings. `hostile_report()` has a server whose greeting, transcript and finding detail
carry markup, terminal escapes and XML-invalid characters.
"""

from __future__ import annotations

from mailaudit.model import (
    SCHEMA_VERSION,
    CertificateInfo,
    CheckRun,
    CheckStatus,
    Confidence,
    Direction,
    DomainReport,
    EndpointReport,
    Finding,
    Observation,
    ProbeFailure,
    ProbeStatus,
    Report,
    RunInfo,
    Scheme,
    Severity,
    TlsSession,
    TranscriptLine,
)

HOSTILE = '<script>alert(1)</script> "quoted" & <b>bold</b>'
# Rich markup, an ANSI escape and XML-invalid control characters, for text and JUnit.
HOSTILE_CONTROL = "[bold red]pwned[/] \x1b[31mred\x1b[0m \x00\x07 end"

RUN = RunInfo(
    tool_version="0.1.0",
    started_at="2026-11-27T03:00:00+00:00",
    finished_at="2026-11-27T03:00:07+00:00",
    duration_ms=7012,
    nameservers=("127.0.0.53:5353",),
    relay_test_domain="mailaudit-relay-test.invalid",
)


def certificate(host: str) -> CertificateInfo:
    return CertificateInfo(
        subject=f"CN={host}",
        issuer="CN=mailaudit lab CA",
        dns_names=(host,),
        not_before="2026-11-01T00:00:00+00:00",
        not_after="2027-11-01T00:00:00+00:00",
        key_type="EC",
        key_bits=256,
        signature_algorithm="sha256-EC",
        sha256_fingerprint="ab" * 32,
    )


def tls13(host: str) -> TlsSession:
    return TlsSession(
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        cipher_bits=256,
        certificate_valid=True,
        verify_error=None,
        certificate=certificate(host),
    )


def _t(direction: Direction, text: str, at_ms: int) -> TranscriptLine:
    return TranscriptLine(direction, text, at_ms)


C, S, N = Direction.CLIENT, Direction.SERVER, Direction.NOTE

RELAY_MX = EndpointReport(
    id="127.0.0.20:25",
    url="smtp://mail.relay.test",
    address="127.0.0.20",
    port=25,
    names=("mail.relay.test",),
    roles=("mx",),
    domains=("relay.test",),
    observation=Observation(
        url="smtp://mail.relay.test",
        scheme=Scheme.SMTP,
        host="mail.relay.test",
        address="127.0.0.20",
        port=25,
        status=ProbeStatus.COMPLETED,
        greeting="220 mail.relay.test ESMTP Postfix (Debian/GNU)",
        capabilities_before_tls=("PIPELINING", "SIZE 10240000", "STARTTLS", "8BITMIME"),
        capabilities_after_tls=("PIPELINING", "SIZE 10240000", "8BITMIME"),
        starttls_offered=True,
        starttls_offered_after_tls=False,
        tls=tls13("mail.relay.test"),
        login_offered_before_tls=False,
        transcript=(
            _t(S, "220 mail.relay.test ESMTP Postfix (Debian/GNU)", 2),
            _t(C, "EHLO mailaudit.invalid", 3),
            _t(S, "250-mail.relay.test", 4),
            _t(S, "250 STARTTLS", 4),
            _t(C, "STARTTLS", 5),
            _t(S, "220 2.0.0 Ready to start TLS", 6),
            _t(N, "TLS handshake: TLSv1.3 TLS_AES_256_GCM_SHA384", 20),
            _t(C, "EHLO mailaudit.invalid", 21),
            _t(S, "250 8BITMIME", 22),
            _t(C, "QUIT", 23),
            _t(S, "221 2.0.0 Bye", 24),
        ),
        elapsed_ms=31,
    ),
    findings=(
        Finding(
            id="smtp.open-relay",
            severity=Severity.CRITICAL,
            subject="smtp://mail.relay.test",
            title="Open relay: the server accepts mail for foreign domains from anyone",
            detail="RCPT TO:<probe@mailaudit-relay-test.invalid> was accepted (250) without "
            "authentication from an outside address.",
            remediation="Restrict relaying to authenticated users and your own networks "
            "(Postfix: smtpd_relay_restrictions = permit_mynetworks, "
            "permit_sasl_authenticated, reject_unauth_destination).",
            evidence=(
                "C: MAIL FROM:<probe@mailaudit.invalid>",
                "S: 250 2.1.0 Ok",
                "C: RCPT TO:<probe@mailaudit-relay-test.invalid>",
                "S: 250 2.1.5 Ok",
                "C: RSET",
            ),
            references=("RFC 5321 §3.6.2", "RFC 2505"),
            context="MX host receiving mail from the internet (port 25)",
        ),
        Finding(
            id="banner.version-disclosed",
            severity=Severity.LOW,
            subject="smtp://mail.relay.test",
            title="Banner discloses software and platform",
            detail="The greeting names Postfix and the distribution.",
            remediation="Set smtpd_banner = $myhostname ESMTP.",
            evidence=("S: 220 mail.relay.test ESMTP Postfix (Debian/GNU)",),
            confidence=Confidence.PROBABLE,
        ),
    ),
    checks=(
        CheckRun(
            "smtp.open-relay",
            "smtp://mail.relay.test",
            CheckStatus.FAILED,
            None,
            ("smtp.open-relay",),
        ),
        CheckRun("smtp.starttls", "smtp://mail.relay.test", CheckStatus.PASSED),
        CheckRun("tls.certificate", "smtp://mail.relay.test", CheckStatus.PASSED),
        CheckRun(
            "banner.version",
            "smtp://mail.relay.test",
            CheckStatus.FAILED,
            None,
            ("banner.version-disclosed",),
        ),
        CheckRun(
            "auth.before-tls",
            "smtp://mail.relay.test",
            CheckStatus.NOT_APPLICABLE,
            "port 25 offers no AUTH",
        ),
    ),
)

RELAY_SUBMISSION = EndpointReport(
    id="127.0.0.21:587",
    url="submission://smtp.relay.test",
    address="127.0.0.21",
    port=587,
    names=("smtp.relay.test",),
    roles=("guess",),
    domains=("relay.test",),
    observation=Observation(
        url="submission://smtp.relay.test",
        scheme=Scheme.SUBMISSION,
        host="smtp.relay.test",
        address="127.0.0.21",
        port=587,
        status=ProbeStatus.FAILED,
        failure=ProbeFailure("timeout", "no greeting within 10 s", "greeting"),
        transcript=(_t(N, "connected to 127.0.0.21:587", 1), _t(N, "timeout: no greeting", 10001)),
        elapsed_ms=10002,
    ),
    findings=(
        Finding(
            id="endpoint.unreachable",
            severity=Severity.INFO,
            subject="submission://smtp.relay.test",
            title="Endpoint could not be tested",
            detail="timeout at greeting: no greeting within 10 s",
            remediation="Check that the service listens and answers within the timeout.",
        ),
    ),
    checks=(
        CheckRun(
            "submission.auth-required",
            "submission://smtp.relay.test",
            CheckStatus.NOT_TESTED,
            "timeout at greeting",
        ),
        CheckRun(
            "smtp.starttls",
            "submission://smtp.relay.test",
            CheckStatus.NOT_TESTED,
            "timeout at greeting",
        ),
    ),
)

RELAY_IMAP = EndpointReport(
    id="127.0.0.22:143",
    url="imap://imap.relay.test",
    address="127.0.0.22",
    port=143,
    names=("imap.relay.test",),
    roles=("client",),
    domains=("relay.test",),
    observation=Observation(
        url="imap://imap.relay.test",
        scheme=Scheme.IMAP,
        host="imap.relay.test",
        address="127.0.0.22",
        port=143,
        status=ProbeStatus.REFUSED,
        failure=ProbeFailure("refused", "* BYE Too many connections from your IP", "greeting"),
        greeting="* BYE Too many connections from your IP",
        transcript=(_t(S, "* BYE Too many connections from your IP", 3),),
        elapsed_ms=4,
    ),
    findings=(
        Finding(
            id="endpoint.rate-limited",
            severity=Severity.INFO,
            subject="imap://imap.relay.test",
            title="Endpoint refused the session (rate limiting): results inconclusive",
            detail="BYE at greeting",
            remediation="Re-run later.",
            references=("RFC 5321 §4.2.5 (421)",),
        ),
    ),
    checks=(
        CheckRun(
            "imap.login-before-tls",
            "imap://imap.relay.test",
            CheckStatus.INCONCLUSIVE,
            "server refused the session: * BYE Too many connections",
        ),
    ),
)

RELAY_DOMAIN = DomainReport(
    domain="relay.test",
    endpoint_ids=("127.0.0.20:25", "127.0.0.21:587", "127.0.0.22:143"),
    not_offered=("pop3://pop3.relay.test", "pop3s://pop3.relay.test"),
    findings=(
        Finding(
            id="dmarc.policy-none",
            severity=Severity.MEDIUM,
            subject="relay.test",
            title="DMARC policy is p=none",
            detail="_dmarc.relay.test: v=DMARC1; p=none",
            remediation="Move to p=quarantine, then p=reject, once reports look clean.",
            evidence=('_dmarc.relay.test. TXT "v=DMARC1; p=none"',),
            references=("RFC 7489 §6.3", "https://dmarc.org/overview/"),
        ),
        Finding(
            id="mtasts.missing",
            severity=Severity.LOW,
            subject="relay.test",
            title="No MTA-STS policy",
            detail="_mta-sts.relay.test has no TXT record.",
            remediation="Publish an MTA-STS policy in mode enforce.",
            references=("RFC 8461",),
        ),
    ),
    checks=(
        CheckRun("dmarc.policy", "relay.test", CheckStatus.FAILED, None, ("dmarc.policy-none",)),
        CheckRun("spf.record", "relay.test", CheckStatus.PASSED),
        CheckRun("mtasts.record", "relay.test", CheckStatus.FAILED, None, ("mtasts.missing",)),
        CheckRun(
            "dane.tlsa",
            "relay.test",
            CheckStatus.NOT_TESTED,
            "the resolver does not validate DNSSEC",
        ),
    ),
    errors=("smtp://mx2.relay.test: name does not resolve",),
)


def relay_report() -> Report:
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RUN,
        domains=(RELAY_DOMAIN,),
        endpoints=(RELAY_IMAP, RELAY_MX, RELAY_SUBMISSION),
    )


HOSTILE_MX = EndpointReport(
    id="127.0.0.30:25",
    url="smtp://mail.hostile.test",
    address="127.0.0.30",
    port=25,
    names=("mail.hostile.test",),
    roles=("mx",),
    domains=("hostile.test",),
    observation=Observation(
        url="smtp://mail.hostile.test",
        scheme=Scheme.SMTP,
        host="mail.hostile.test",
        address="127.0.0.30",
        port=25,
        status=ProbeStatus.COMPLETED,
        greeting=f"220 mail.hostile.test ESMTP {HOSTILE}",
        capabilities_before_tls=(HOSTILE, "STARTTLS"),
        capabilities_after_tls=(HOSTILE_CONTROL,),
        starttls_offered=True,
        tls=tls13("mail.hostile.test"),
        login_offered_before_tls=False,
        transcript=(
            _t(S, f"220 mail.hostile.test ESMTP {HOSTILE}", 2),
            _t(C, "EHLO mailaudit.invalid", 3),
            _t(S, f"250-{HOSTILE_CONTROL}", 4),
            _t(S, "250 STARTTLS", 4),
        ),
        elapsed_ms=12,
    ),
    findings=(
        Finding(
            id="banner.version-disclosed",
            severity=Severity.LOW,
            subject="smtp://mail.hostile.test",
            title="Banner discloses software and platform",
            detail=f"The greeting says: {HOSTILE} {HOSTILE_CONTROL}",
            remediation="Do not put markup in banners.",
            evidence=(f"S: 220 mail.hostile.test ESMTP {HOSTILE}", f"S: 250-{HOSTILE_CONTROL}"),
            references=(f"RFC 5321 §4.2 {HOSTILE}", "javascript:alert(1)"),
            context=HOSTILE,
        ),
    ),
    checks=(
        CheckRun(
            "banner.version",
            "smtp://mail.hostile.test",
            CheckStatus.FAILED,
            HOSTILE_CONTROL,
            ("banner.version-disclosed",),
        ),
        CheckRun(
            f"odd.{HOSTILE}",
            "smtp://mail.hostile.test",
            CheckStatus.INCONCLUSIVE,
            f"{HOSTILE} {HOSTILE_CONTROL}",
        ),
    ),
)


def hostile_report() -> Report:
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RUN,
        domains=(
            DomainReport(
                domain="hostile.test",
                endpoint_ids=(HOSTILE_MX.id,),
                errors=(f"lookup failed: {HOSTILE}",),
            ),
        ),
        endpoints=(HOSTILE_MX,),
        extra={"note": HOSTILE},
    )


def clean_report() -> Report:
    """One domain, one endpoint, every check passed and no findings."""
    mx = EndpointReport(
        id="127.0.0.10:25",
        url="smtp://mail.good.test",
        address="127.0.0.10",
        port=25,
        names=("mail.good.test",),
        roles=("mx",),
        domains=("good.test",),
        observation=Observation(
            url="smtp://mail.good.test",
            scheme=Scheme.SMTP,
            host="mail.good.test",
            address="127.0.0.10",
            port=25,
            status=ProbeStatus.COMPLETED,
            greeting="220 mail.good.test ESMTP",
            starttls_offered=True,
            tls=tls13("mail.good.test"),
            login_offered_before_tls=False,
        ),
        checks=(CheckRun("smtp.starttls", "smtp://mail.good.test", CheckStatus.PASSED),),
    )
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RUN,
        domains=(DomainReport("good.test", (mx.id,)),),
        endpoints=(mx,),
    )
