"""judge_endpoint / judge_host on constructed observations and audits: every finding id, the
rate-limited and not-tested paths, and the accept-all ("probable") relay case."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.checks.registry import endpoint_checks_for as checks_for
from mailaudit.model import (
    AttemptKind,
    AuthProbe,
    CertificateInfo,
    CheckRun,
    CheckStatus,
    CommandPair,
    Confidence,
    Direction,
    EnumerationProbe,
    Finding,
    InjectionProbe,
    NameFacts,
    Observation,
    Outcome,
    ProbeFailure,
    ProbeStatus,
    ProtocolAudit,
    RcptAttempt,
    RcptTest,
    Scheme,
    ServerReply,
    Severity,
    TlsSession,
    TranscriptEvent,
    TranscriptLine,
)
from mailaudit.serial import from_data, to_data
from tests.judging import judge_endpoint, judge_host, judge_host_ports

C, S = Direction.CLIENT, Direction.SERVER
E = TranscriptEvent
OK = ServerReply(250, "2.1.5 Ok")
DENIED = ServerReply(554, "5.7.1 Relay access denied")
UNKNOWN = ServerReply(550, "5.1.1 User unknown")
AUTH_REQUIRED = ServerReply(530, "5.7.0 Authentication required")
MAIL_OK = ServerReply(250, "2.1.0 Ok")


def cert(*names: str) -> TlsSession:
    info = CertificateInfo(
        "CN=x", "CN=ca", names, "2026-01-01", "2027-01-01", "EC", 256, None, "00"
    )
    return TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, True, None, info)


def observation(scheme: Scheme = Scheme.SMTP, **changes: object) -> Observation:
    family = scheme.family
    greeting = {"smtp": "mx.example.net ESMTP", "pop3": "Dovecot ready.", "imap": "* OK ready"}[
        family
    ]
    obs = Observation(
        url=f"{scheme.value}://mx.example.net",
        scheme=scheme,
        host="mx.example.net",
        address="192.0.2.25",
        port=scheme.default_port,
        status=ProbeStatus.COMPLETED,
        greeting=greeting,
        capabilities_before_tls=() if scheme.implicit_tls else ("PIPELINING", "STARTTLS"),
        capabilities_after_tls=("PIPELINING",),
        starttls_offered=None if scheme.implicit_tls else True,
        starttls_offered_after_tls=None if scheme.implicit_tls else False,
        tls=cert("mx.example.net"),
        login_offered_before_tls=None if scheme.implicit_tls else False,
        transcript=(
            TranscriptLine(Direction.NOTE, "connect 192.0.2.25 port 25", 0, E.CONNECT),
            TranscriptLine(S, "220 mx.example.net ESMTP", 0, E.GREETING),
            TranscriptLine(C, "EHLO mailaudit.invalid", 0, E.CAPABILITIES),
            TranscriptLine(S, "250-mx.example.net", 0, E.CAPABILITIES),
            TranscriptLine(S, "250 STARTTLS", 0, E.CAPABILITIES),
            TranscriptLine(C, "STARTTLS", 0, E.STARTTLS),
            TranscriptLine(S, "220 go ahead", 0, E.STARTTLS),
            TranscriptLine(Direction.NOTE, "TLS established: TLSv1.3 x", 0, E.TLS_ESTABLISHED),
        ),
    )
    return replace(obs, **changes)  # type: ignore[arg-type]


def attempt(
    variant: str,
    rcpt: ServerReply | None,
    *,
    kind: AttemptKind = AttemptKind.RELAY,
    rcpt_to: str = "relay-test@relay-test.example",
    mail: ServerReply = MAIL_OK,
    over_tls: bool = False,
) -> RcptAttempt:
    evidence = [
        TranscriptLine(C, "MAIL FROM:<x@[192.0.2.25]>"),
        TranscriptLine(S, f"{mail.code} {mail.text}"),
    ]
    if rcpt is not None:
        evidence += [
            TranscriptLine(C, f"RCPT TO:<{rcpt_to}>"),
            TranscriptLine(S, f"{rcpt.code} {rcpt.text}"),
        ]
    return RcptAttempt(
        variant, kind, "x@[192.0.2.25]", rcpt_to, over_tls, mail, rcpt, tuple(evidence)
    )


def control(reply: ServerReply) -> RcptAttempt:
    return attempt(
        "control-invalid-local",
        reply,
        kind=AttemptKind.CONTROL,
        rcpt_to="mailaudit-no-such-user@example.net",
    )


def audit(**changes: object) -> ProtocolAudit:
    done = Outcome.DONE
    base = ProtocolAudit(
        url="smtp://mx.example.net",
        address="192.0.2.25",
        relay_test_domain="relay-test.example",
        own_domain="example.net",
        relay=RcptTest(
            done, attempts=(attempt("nmap-01-null-sender", DENIED), control(UNKNOWN)), connections=1
        ),
        relay_over_tls=RcptTest(
            done, over_tls=True, attempts=(attempt("nmap-01-null-sender", DENIED, over_tls=True),)
        ),
        submission=RcptTest(Outcome.NOT_APPLICABLE),
        auth_before_tls=AuthProbe(done, command="AUTH LOGIN", invited=False),
        starttls_injection=InjectionProbe(
            done, injected="NOOP", answered_after_tls=False, answered_before_tls=False
        ),
        vrfy=EnumerationProbe(
            done,
            command="VRFY",
            pairs=(
                CommandPair(
                    "VRFY postmaster",
                    ServerReply(502, "5.5.1 disabled"),
                    "VRFY nobody",
                    ServerReply(502, "5.5.1 disabled"),
                ),
            ),
        ),
        expn=EnumerationProbe(
            done,
            command="EXPN",
            pairs=(
                CommandPair(
                    "EXPN postmaster",
                    ServerReply(502, "5.5.2 no"),
                    "EXPN nobody",
                    ServerReply(502, "5.5.2 no"),
                ),
            ),
        ),
        names=NameFacts(
            done, ptr_names=("mx.example.net",), forward={"mx.example.net": ("192.0.2.25",)}
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def by_id(findings: list[Finding], finding_id: str) -> Finding:
    matches = [f for f in findings if f.id == finding_id]
    assert len(matches) == 1, [f.id for f in findings]
    return matches[0]


def status_of(runs: list[CheckRun], check: str) -> CheckStatus:
    return next(r.status for r in runs if r.check == check)


# ------------------------------------------------------------------------------------ baseline
def test_a_clean_mx_passes_every_check() -> None:
    findings, runs = judge_endpoint(observation(), audit())
    assert findings == []
    assert [r.check for r in runs] == list(checks_for(Scheme.SMTP))
    assert status_of(runs, "submission.accepts-unauthenticated") is CheckStatus.NOT_APPLICABLE
    assert {r.status for r in runs} == {CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE}
    assert all(r.subject == "smtp://mx.example.net" for r in runs)


def test_every_check_and_finding_id_is_in_the_catalogue() -> None:
    for scheme in Scheme:
        for check in checks_for(scheme):
            assert check in CATALOGUE, check
    for service in ("submission", "imap", "pop3"):
        assert f"{service}.plaintext-only" in CATALOGUE
        assert f"{service}.implicit-tls-missing" in CATALOGUE


@pytest.mark.parametrize(
    ("finding_id", "severity"),
    [
        ("smtp.open-relay", Severity.CRITICAL),
        ("submission.accepts-unauthenticated", Severity.HIGH),
        ("smtp.auth-before-tls", Severity.HIGH),
        ("pop3.auth-before-tls", Severity.HIGH),
        ("imap.auth-before-tls", Severity.HIGH),
        ("smtp.starttls-missing", Severity.MEDIUM),
        ("submission.starttls-missing", Severity.HIGH),
        ("imap.starttls-missing", Severity.HIGH),
        ("pop3.starttls-missing", Severity.HIGH),
        ("smtp.starttls-failed", Severity.MEDIUM),
        ("imap.starttls-failed", Severity.HIGH),
        ("submission.plaintext-only", Severity.HIGH),
        ("imap.implicit-tls-missing", Severity.INFO),
        ("smtp.starttls-injection", Severity.HIGH),
        ("pop3.starttls-readvertised", Severity.LOW),
        ("smtp.vrfy-enabled", Severity.MEDIUM),
        ("smtp.expn-enabled", Severity.MEDIUM),
        ("banner.version-disclosed", Severity.LOW),
        ("banner.hostname-mismatch", Severity.LOW),
    ],
)
def test_catalogue_severities(finding_id: str, severity: Severity) -> None:
    assert CATALOGUE[finding_id].severity is severity


# ---------------------------------------------------------------------------------- open relay
def test_accepted_foreign_recipient_is_a_confirmed_critical_relay() -> None:
    relay = RcptTest(
        Outcome.DONE,
        attempts=(
            attempt(
                "nmap-05-percent-hack-ip", OK, rcpt_to="relay-test%relay-test.example@[192.0.2.25]"
            ),
            control(UNKNOWN),
        ),
    )
    findings, runs = judge_endpoint(observation(), audit(relay=relay))
    found = by_id(findings, "smtp.open-relay")
    assert found.severity is Severity.CRITICAL
    assert found.confidence is Confidence.CONFIRMED
    assert "C: RCPT TO:<relay-test%relay-test.example@[192.0.2.25]>" in found.evidence
    assert "S: 250 2.1.5 Ok" in found.evidence
    assert "nmap-05-percent-hack-ip" in found.detail
    assert status_of(runs, "smtp.open-relay") is CheckStatus.FAILED


def test_accept_all_server_is_only_a_probable_relay_with_the_control_as_evidence() -> None:
    relay = RcptTest(Outcome.DONE, attempts=(attempt("nmap-01-null-sender", OK), control(OK)))
    findings, _ = judge_endpoint(observation(), audit(relay=relay))
    found = by_id(findings, "smtp.open-relay")
    assert found.confidence is Confidence.PROBABLE
    assert "C: RCPT TO:<mailaudit-no-such-user@example.net>" in found.evidence
    assert "bounce" in found.detail


def test_accepted_relay_over_tls_only_is_found_too() -> None:
    over_tls = RcptTest(
        Outcome.DONE, over_tls=True, attempts=(attempt("own-02-percent-hack", OK, over_tls=True),)
    )
    findings, _ = judge_endpoint(observation(), audit(relay_over_tls=over_tls))
    assert "over TLS" in by_id(findings, "smtp.open-relay").detail


def test_relay_refused_only_temporarily_is_inconclusive() -> None:
    greylisted = ServerReply(450, "4.1.2 Domain not found")
    tests = {
        "relay": RcptTest(Outcome.DONE, attempts=(attempt("nmap-01-null-sender", greylisted),)),
        "relay_over_tls": RcptTest(Outcome.NOT_APPLICABLE),
    }
    findings, runs = judge_endpoint(observation(), audit(**tests))
    assert findings == []
    assert status_of(runs, "smtp.open-relay") is CheckStatus.INCONCLUSIVE


def test_421_during_the_relay_test_is_inconclusive_and_rate_limited_never_passed() -> None:
    throttled = RcptTest(
        Outcome.INCONCLUSIVE,
        "RCPT answered 421: 4.7.0 too many errors",
        evidence=(TranscriptLine(S, "421 4.7.0 too many errors"),),
    )
    findings, runs = judge_endpoint(observation(), audit(relay=throttled))
    assert status_of(runs, "smtp.open-relay") is CheckStatus.INCONCLUSIVE
    rate = by_id(findings, "endpoint.rate-limited")
    assert "S: 421 4.7.0 too many errors" in rate.evidence


def test_relay_test_that_could_not_run_is_not_tested() -> None:
    failed = RcptTest(Outcome.FAILED, "closed: the server closed the connection")
    _, runs = judge_endpoint(observation(), audit(relay=failed))
    run = next(r for r in runs if r.check == "smtp.open-relay")
    assert run.status is CheckStatus.NOT_TESTED
    assert "closed" in (run.reason or "")


# ---------------------------------------------------------------------------------- submission
def test_submission_accepting_mail_without_auth() -> None:
    sub = RcptTest(
        Outcome.DONE,
        over_tls=True,
        attempts=(
            attempt(
                "submission-local", OK, kind=AttemptKind.LOCAL, rcpt_to="postmaster@example.net"
            ),
            attempt("submission-foreign", DENIED),
        ),
    )
    obs = observation(Scheme.SUBMISSION, url="submission://mx.example.net")
    findings, runs = judge_endpoint(obs, audit(submission=sub))
    found = by_id(findings, "submission.accepts-unauthenticated")
    assert found.severity is Severity.HIGH
    assert "C: RCPT TO:<postmaster@example.net>" in found.evidence
    assert status_of(runs, "submission.accepts-unauthenticated") is CheckStatus.FAILED


def test_submission_refusing_with_530_passes() -> None:
    sub = RcptTest(
        Outcome.DONE,
        attempts=(
            attempt("submission-local", AUTH_REQUIRED, kind=AttemptKind.LOCAL),
            attempt("submission-foreign", AUTH_REQUIRED),
        ),
    )
    findings, runs = judge_endpoint(observation(Scheme.SUBMISSION), audit(submission=sub))
    assert not [f for f in findings if f.id == "submission.accepts-unauthenticated"]
    assert status_of(runs, "submission.accepts-unauthenticated") is CheckStatus.PASSED


# --------------------------------------------------------------------------------- auth before TLS
def test_smtp_auth_before_tls_from_capabilities_and_the_active_probe() -> None:
    obs = observation(
        Scheme.SUBMISSION,
        login_offered_before_tls=True,
        auth_mechanisms_before_tls=("PLAIN", "LOGIN"),
        transcript=(
            TranscriptLine(C, "EHLO mailaudit.invalid", 0, E.CAPABILITIES),
            TranscriptLine(S, "250-AUTH PLAIN LOGIN", 0, E.CAPABILITIES),
            TranscriptLine(S, "250 STARTTLS", 0, E.CAPABILITIES),
        ),
    )
    probe = AuthProbe(
        Outcome.DONE,
        evidence=(
            TranscriptLine(C, "AUTH LOGIN"),
            TranscriptLine(S, "334 VXNlcm5hbWU6"),
            TranscriptLine(C, "*"),
        ),
        command="AUTH LOGIN",
        invited=True,
    )
    findings, _ = judge_endpoint(obs, audit(auth_before_tls=probe))
    found = by_id(findings, "smtp.auth-before-tls")
    assert found.severity is Severity.HIGH
    assert "S: 250-AUTH PLAIN LOGIN" in found.evidence
    assert "S: 334 VXNlcm5hbWU6" in found.evidence


@pytest.mark.parametrize(
    ("scheme", "finding_id"),
    [(Scheme.POP3, "pop3.auth-before-tls"), (Scheme.IMAP, "imap.auth-before-tls")],
)
def test_pop3_and_imap_login_accepted_before_tls(scheme: Scheme, finding_id: str) -> None:
    probe = AuthProbe(
        Outcome.DONE, evidence=(TranscriptLine(S, "+OK"),), command="USER probe", invited=True
    )
    findings, runs = judge_endpoint(observation(scheme), audit(auth_before_tls=probe))
    assert by_id(findings, finding_id).severity is Severity.HIGH
    assert status_of(runs, finding_id) is CheckStatus.FAILED


def test_imap_without_logindisabled_is_auth_before_tls_even_if_the_probe_was_refused() -> None:
    obs = observation(Scheme.IMAP, login_offered_before_tls=True)
    findings, _ = judge_endpoint(
        obs,
        audit(auth_before_tls=AuthProbe(Outcome.DONE, command="AUTHENTICATE PLAIN", invited=False)),
    )
    assert "LOGINDISABLED" in by_id(findings, "imap.auth-before-tls").detail


def test_auth_before_tls_not_applicable_on_implicit_tls() -> None:
    _, runs = judge_endpoint(
        observation(Scheme.IMAPS), audit(auth_before_tls=AuthProbe(Outcome.NOT_APPLICABLE))
    )
    assert status_of(runs, "imap.auth-before-tls") is CheckStatus.NOT_APPLICABLE


# -------------------------------------------------------------------------------------- STARTTLS
@pytest.mark.parametrize(
    ("scheme", "finding_id", "severity"),
    [
        (Scheme.SMTP, "smtp.starttls-missing", Severity.MEDIUM),
        (Scheme.SUBMISSION, "submission.starttls-missing", Severity.HIGH),
        (Scheme.IMAP, "imap.starttls-missing", Severity.HIGH),
        (Scheme.POP3, "pop3.starttls-missing", Severity.HIGH),
    ],
)
def test_starttls_missing(scheme: Scheme, finding_id: str, severity: Severity) -> None:
    obs = observation(scheme, starttls_offered=False, starttls_offered_after_tls=None, tls=None)
    findings, runs = judge_endpoint(
        obs,
        audit(starttls_injection=InjectionProbe(Outcome.NOT_APPLICABLE, "STARTTLS not offered")),
    )
    assert by_id(findings, finding_id).severity is severity
    assert status_of(runs, finding_id) is CheckStatus.FAILED
    assert "C: EHLO mailaudit.invalid" in by_id(findings, finding_id).evidence


@pytest.mark.parametrize(
    ("scheme", "finding_id"),
    [(Scheme.SMTP, "smtp.starttls-failed"), (Scheme.IMAP, "imap.starttls-failed")],
)
def test_starttls_advertised_but_failing_is_a_finding_not_an_unreachable_endpoint(
    scheme: Scheme, finding_id: str
) -> None:
    obs = observation(
        scheme,
        status=ProbeStatus.FAILED,
        failure=ProbeFailure(
            "tls-handshake-failed", "TLS handshake failed: no shared cipher", "tls-handshake"
        ),
        tls=None,
        starttls_offered_after_tls=None,
    )
    findings, runs = judge_endpoint(obs, None)
    assert [f.id for f in findings] == [finding_id]
    assert "no shared cipher" in findings[0].detail
    assert status_of(runs, finding_id) is CheckStatus.FAILED
    assert status_of(runs, f"{scheme.family}.starttls-injection") is CheckStatus.NOT_TESTED


@pytest.mark.parametrize("scheme", [Scheme.SMTP, Scheme.POP3, Scheme.IMAP])
def test_starttls_injection(scheme: Scheme) -> None:
    probe = InjectionProbe(
        Outcome.DONE,
        evidence=(
            TranscriptLine(C, "STARTTLS"),
            TranscriptLine(C, "NOOP"),
            TranscriptLine(S, "250 2.0.0 Ok"),
        ),
        injected="NOOP",
        answered_after_tls=True,
        answered_before_tls=False,
    )
    findings, _ = judge_endpoint(observation(scheme), audit(starttls_injection=probe))
    found = by_id(findings, f"{scheme.family}.starttls-injection")
    assert found.severity is Severity.HIGH
    assert "C: NOOP" in found.evidence


@pytest.mark.parametrize(
    ("probe", "status"),
    [
        (
            InjectionProbe(
                Outcome.DONE, injected="NOOP", answered_after_tls=False, handshake_failed=True
            ),
            CheckStatus.PASSED,
        ),
        (InjectionProbe(Outcome.DONE, injected="NOOP", starttls_refused=True), CheckStatus.PASSED),
        (
            InjectionProbe(Outcome.DONE, injected="NOOP", answered_before_tls=True),
            CheckStatus.INCONCLUSIVE,
        ),
        (InjectionProbe(Outcome.FAILED, "timeout"), CheckStatus.NOT_TESTED),
    ],
)
def test_starttls_injection_safe_and_unclear_reactions(
    probe: InjectionProbe, status: CheckStatus
) -> None:
    findings, runs = judge_endpoint(observation(), audit(starttls_injection=probe))
    assert not [f for f in findings if f.id == "smtp.starttls-injection"]
    assert status_of(runs, "smtp.starttls-injection") is status


def test_starttls_readvertised() -> None:
    obs = observation(
        Scheme.POP3, starttls_offered_after_tls=True, capabilities_after_tls=("USER", "STLS")
    )
    findings, _ = judge_endpoint(obs, audit())
    assert by_id(findings, "pop3.starttls-readvertised").severity is Severity.LOW


# ---------------------------------------------------------------------------------- VRFY / EXPN
def _vrfy(known: ServerReply, unknown: ServerReply) -> EnumerationProbe:
    return EnumerationProbe(
        Outcome.DONE,
        command="VRFY",
        pairs=(CommandPair("VRFY postmaster", known, "VRFY nobody", unknown),),
    )


@pytest.mark.parametrize(
    ("known", "unknown", "enabled"),
    [
        (
            ServerReply(250, "2.1.5 Postmaster <postmaster@example.net>"),
            ServerReply(550, "5.1.1 unknown"),
            True,
        ),
        # Postfix with disable_vrfy_command = no: 252 for known users, 550 for unknown ones
        (ServerReply(252, "2.0.0 postmaster"), ServerReply(550, "5.1.1 unknown"), True),
        # RFC 5321 §3.5.3: 252 for every name verifies nothing
        (ServerReply(252, "2.0.0 cannot verify"), ServerReply(252, "2.0.0 cannot verify"), False),
        (
            ServerReply(502, "5.5.1 VRFY command is disabled"),
            ServerReply(502, "5.5.1 disabled"),
            False,
        ),
    ],
)
def test_vrfy(known: ServerReply, unknown: ServerReply, enabled: bool) -> None:
    findings, runs = judge_endpoint(observation(), audit(vrfy=_vrfy(known, unknown)))
    assert bool([f for f in findings if f.id == "smtp.vrfy-enabled"]) is enabled
    assert status_of(runs, "smtp.vrfy-enabled") is (
        CheckStatus.FAILED if enabled else CheckStatus.PASSED
    )


def test_expn_listing_members_is_enabled_even_when_every_name_expands() -> None:
    listing = ServerReply(250, "2.1.5 Alice <alice@example.net>\n2.1.5 Bob <bob@example.net>")
    expn = EnumerationProbe(
        Outcome.DONE,
        command="EXPN",
        pairs=(CommandPair("EXPN postmaster", listing, "EXPN nobody", listing),),
    )
    findings, _ = judge_endpoint(observation(), audit(expn=expn))
    found = by_id(findings, "smtp.expn-enabled")
    assert found.severity is Severity.MEDIUM
    assert "C: EXPN postmaster" in found.evidence


# -------------------------------------------------------------------------------------- banners
@pytest.mark.parametrize(
    ("greeting", "disclosed"),
    [
        ("mx.example.net ESMTP Exim 4.96 Fri, 27 Nov 2026 03:00:00 +0000", "Exim 4.96"),
        ("mx.example.net ESMTP Sendmail 8.15.2/8.15.2; Fri, 27 Nov 2026", "Sendmail 8.15.2"),
        ("mx.example.net ESMTP Postfix 3.7.11", "Postfix 3.7.11"),
        (
            "mx.example.net Microsoft ESMTP MAIL Service, Version: 10.0.17763.1697 ready",
            "Microsoft Exchange 10.0.17763.1697",
        ),
        ("mx.example.net ESMTP Postfix (Debian/GNU)", None),
        ("mx.example.net ESMTP", None),
    ],
)
def test_version_disclosed(greeting: str, disclosed: str | None) -> None:
    findings, _ = judge_endpoint(observation(greeting=greeting), audit())
    found = [f for f in findings if f.id == "banner.version-disclosed"]
    if disclosed is None:
        assert found == []
    else:
        assert disclosed in found[0].detail
        assert found[0].severity is Severity.LOW


def test_pop3_implementation_capability_discloses_a_version() -> None:
    obs = observation(
        Scheme.POP3, capabilities_before_tls=("USER", "IMPLEMENTATION Dovecot 2.3.19", "STLS")
    )
    findings, _ = judge_endpoint(obs, audit())
    assert "Dovecot 2.3.19" in by_id(findings, "banner.version-disclosed").detail


@pytest.mark.parametrize(
    ("names", "tls", "greeting", "fragment"),
    [
        (
            NameFacts(
                Outcome.DONE,
                ptr_names=("other.example.net",),
                forward={"other.example.net": ("192.0.2.25",)},
            ),
            cert("mx.example.net"),
            None,
            "is not the PTR name",
        ),
        (NameFacts(Outcome.DONE), cert("mx.example.net"), None, "has no PTR record"),
        (
            NameFacts(
                Outcome.DONE,
                ptr_names=("mx.example.net",),
                forward={"mx.example.net": ("198.51.100.1",)},
            ),
            cert("mx.example.net"),
            None,
            "does not resolve back",
        ),
        (
            NameFacts(
                Outcome.DONE,
                ptr_names=("mx.example.net",),
                forward={"mx.example.net": ("192.0.2.25",)},
            ),
            cert("mail.example.org"),
            None,
            "do not cover",
        ),
        (
            NameFacts(
                Outcome.DONE,
                ptr_names=("mx.example.net",),
                forward={"mx.example.net": ("192.0.2.25",)},
            ),
            cert("mx.example.net"),
            "ESMTP ready",
            "fully qualified",
        ),
    ],
)
def test_hostname_mismatch(
    names: NameFacts, tls: TlsSession, greeting: str | None, fragment: str
) -> None:
    obs = observation(tls=tls, greeting=greeting) if greeting else observation(tls=tls)
    findings, runs = judge_endpoint(obs, audit(names=names))
    found = by_id(findings, "banner.hostname-mismatch")
    assert fragment in found.detail
    assert status_of(runs, "banner.hostname-mismatch") is CheckStatus.FAILED


def test_hostname_agreeing_with_a_wildcard_certificate_passes() -> None:
    _, runs = judge_endpoint(observation(tls=cert("*.example.net")), audit())
    assert status_of(runs, "banner.hostname-mismatch") is CheckStatus.PASSED


# --------------------------------------------------------------------- refused / failed / no audit
def test_rate_limited_probe_makes_every_check_inconclusive_never_passed() -> None:
    obs = observation(
        status=ProbeStatus.REFUSED,
        failure=ProbeFailure(
            "refused-by-server", "greeting 421: 4.7.0 Too many connections", "greeting"
        ),
        transcript=(TranscriptLine(S, "421 4.7.0 Too many connections"),),
    )
    findings, runs = judge_endpoint(obs, None)
    assert [f.id for f in findings] == ["endpoint.rate-limited"]
    assert {r.status for r in runs} == {CheckStatus.INCONCLUSIVE}
    assert len(runs) == len(checks_for(Scheme.SMTP))
    assert "S: 421 4.7.0 Too many connections" in findings[0].evidence


def test_dead_endpoint_makes_every_check_not_tested_with_the_reason() -> None:
    obs = observation(
        status=ProbeStatus.FAILED,
        failure=ProbeFailure("timeout", "greeting: no answer within 10 s", "greeting"),
        starttls_offered=None,
        tls=None,
    )
    findings, runs = judge_endpoint(obs, None)
    assert [f.id for f in findings] == ["endpoint.unreachable"]
    assert {r.status for r in runs} == {CheckStatus.NOT_TESTED}
    assert all("no answer within 10 s" in (r.reason or "") for r in runs)


def test_without_an_audit_the_audit_checks_are_not_tested_and_the_rest_judged() -> None:
    obs = observation(starttls_offered=False, starttls_offered_after_tls=None)
    findings, runs = judge_endpoint(obs, None)
    assert status_of(runs, "smtp.open-relay") is CheckStatus.NOT_TESTED
    assert status_of(runs, "smtp.vrfy-enabled") is CheckStatus.NOT_TESTED
    assert status_of(runs, "smtp.starttls-missing") is CheckStatus.FAILED
    assert {f.id for f in findings} == {"smtp.starttls-missing"}


def test_check_runs_name_their_findings() -> None:
    relay = RcptTest(Outcome.DONE, attempts=(attempt("nmap-01-null-sender", OK), control(UNKNOWN)))
    _, runs = judge_endpoint(observation(), audit(relay=relay))
    run = next(r for r in runs if r.check == "smtp.open-relay")
    assert run.finding_ids == ("smtp.open-relay",)


def test_protocol_audit_round_trips_through_the_serialiser() -> None:
    original = audit(
        relay=RcptTest(Outcome.DONE, attempts=(attempt("nmap-01-null-sender", OK), control(OK)))
    )
    assert from_data(ProtocolAudit, to_data(original)) == original


# ------------------------------------------------------------------------------------ host ports
def _closed(scheme: Scheme) -> Observation:
    return observation(
        scheme,
        url=f"{scheme.value}://mx.example.net",
        status=ProbeStatus.FAILED,
        failure=ProbeFailure("refused", "connection refused", "connect"),
        starttls_offered=None,
        tls=None,
    )


def test_implicit_tls_missing_next_to_starttls() -> None:
    findings, runs = judge_host(
        [observation(Scheme.IMAP, url="imap://mx.example.net"), _closed(Scheme.IMAPS)]
    )
    found = by_id(findings, "imap.implicit-tls-missing")
    assert found.severity is Severity.INFO
    assert found.subject == "imap://mx.example.net"
    assert status_of(runs, "imap.plaintext-only") is CheckStatus.PASSED


def test_plaintext_only_without_starttls_and_without_implicit_tls() -> None:
    plain = observation(Scheme.POP3, url="pop3://mx.example.net", starttls_offered=False, tls=None)
    findings = judge_host_ports([plain, _closed(Scheme.POP3S)])
    assert [f.id for f in findings] == ["pop3.plaintext-only"]
    assert findings[0].severity is Severity.HIGH


def test_implicit_tls_present_or_unknown() -> None:
    findings, runs = judge_host([observation(Scheme.SUBMISSION), observation(Scheme.SMTPS)])
    assert findings == []
    assert status_of(runs, "submission.implicit-tls-missing") is CheckStatus.PASSED
    # not probed at all: unknown, not missing
    findings, runs = judge_host([observation(Scheme.SUBMISSION)])
    assert findings == []
    assert status_of(runs, "submission.implicit-tls-missing") is CheckStatus.NOT_TESTED


def test_other_addresses_do_not_count_as_implicit_tls() -> None:
    elsewhere = observation(Scheme.IMAPS, address="198.51.100.7")
    findings = judge_host_ports([observation(Scheme.IMAP), _closed(Scheme.IMAPS), elsewhere])
    assert [f.id for f in findings] == ["imap.implicit-tls-missing"]


def test_vrfy_policy_refusal_of_the_unknown_name_proves_nothing() -> None:
    probe = _vrfy(
        ServerReply(252, "2.0.0 postmaster"), ServerReply(554, "5.7.1 Relay access denied")
    )
    findings, runs = judge_endpoint(observation(), audit(vrfy=probe))
    assert not [f for f in findings if f.id == "smtp.vrfy-enabled"]
    assert status_of(runs, "smtp.vrfy-enabled") is CheckStatus.PASSED
