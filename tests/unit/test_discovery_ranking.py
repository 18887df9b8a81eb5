"""Ranking and judging candidates (pure): source priority, IMAP before POP3, plain never
recommended, warnings where a published setting and the server disagree."""

from __future__ import annotations

from mailaudit.checks.discovery import judge_discovery
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.discovery.ranking import alternative_outgoing, auth_from_mechanisms, choose
from mailaudit.discovery.verify import classify
from mailaudit.model import (
    Candidate,
    Finding,
    Observation,
    ProbeFailure,
    ProbeStatus,
    Protocol,
    Recommendation,
    Security,
    ServerSetting,
    Severity,
    Source,
    TlsSession,
    Trust,
    UsernameForm,
    VerificationStatus,
)

TLS_OK = TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, True, None, None)
TLS_BAD = TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, False, "hostname mismatch", None)


def judge(
    domain: str,
    candidates: list[Candidate],
    incoming: Recommendation | None,
    outgoing: Recommendation | None,
) -> tuple[Finding, ...]:
    """The discovery check (mailaudit.checks.discovery) on ranked candidates, no redirects."""
    return judge_discovery(DiscoveryFacts(domain, tuple(candidates), incoming, outgoing)).findings


def setting(
    protocol: Protocol, host: str, port: int, security: Security = Security.SSL
) -> ServerSetting:
    return ServerSetting(protocol, host, port, security, "a@x.test", UsernameForm.ADDRESS)


def observed(
    s: ServerSetting,
    *,
    tls: TlsSession | None = TLS_OK,
    failure: ProbeFailure | None = None,
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
) -> Observation:
    return Observation(
        url=f"{s.scheme.value}://{s.host}:{s.port}",
        scheme=s.scheme,
        host=s.host,
        address="127.0.0.1",
        port=s.port,
        status=ProbeStatus.FAILED if failure else ProbeStatus.COMPLETED,
        failure=failure,
        tls=None if failure else tls,
        starttls_offered=None if s.scheme.implicit_tls else tls is not None,
        auth_mechanisms_after_tls=mechanisms if tls else (),
    )


def candidate(
    s: ServerSetting,
    source: Source,
    *,
    rank: int = 0,
    trust: Trust = Trust.TRUSTED,
    obs: Observation | None = None,
) -> Candidate:
    observation = obs or observed(s)
    return Candidate(s, source, trust, f"origin of {source.value}", classify(s, observation), rank)


def test_higher_source_wins_even_when_lower_sources_also_work() -> None:
    srv_imap = setting(Protocol.IMAP, "srv.x.test", 993)
    auto_imap = setting(Protocol.IMAP, "imap.x.test", 993)
    auto_smtp = setting(Protocol.SMTP, "smtp.x.test", 465)
    candidates = [
        candidate(srv_imap, Source.SRV),
        candidate(auto_imap, Source.AUTOCONFIG_HTTPS),
        candidate(auto_smtp, Source.AUTOCONFIG_HTTPS, rank=1),
    ]

    incoming, alternative, outgoing = choose(candidates)

    assert incoming is not None
    assert incoming.setting.host == "imap.x.test"
    assert incoming.source is Source.AUTOCONFIG_HTTPS
    assert alternative is None
    assert outgoing is not None
    assert outgoing.setting.host == "smtp.x.test"


def test_lower_source_wins_when_the_higher_ones_do_not_verify() -> None:
    broken = setting(Protocol.IMAP, "imap.x.test", 993)
    dead = observed(broken, failure=ProbeFailure("refused", "connection refused", "connect"))
    working = setting(Protocol.IMAP, "mail.x.test", 993)
    candidates = [
        candidate(broken, Source.AUTOCONFIG_HTTPS, obs=dead),
        candidate(working, Source.GUESS),
    ]

    incoming, _, outgoing = choose(candidates)
    findings = judge("x.test", candidates, incoming, outgoing)

    assert incoming is not None
    assert incoming.source is Source.GUESS
    ids = [f.id for f in findings]
    assert "discovery.setting-broken" in ids
    assert "discovery.guessed-only" in ids
    assert "discovery.no-settings" in ids  # nothing outgoing at all


def test_imap_preferred_pop3_alternative_within_a_source() -> None:
    pop = setting(Protocol.POP3, "pop.x.test", 995)
    imap = setting(Protocol.IMAP, "imap.x.test", 993)
    candidates = [
        candidate(pop, Source.AUTOCONFIG_HTTPS, rank=0),
        candidate(imap, Source.AUTOCONFIG_HTTPS, rank=1),
    ]

    incoming, alternative, _ = choose(candidates)

    assert incoming is not None
    assert incoming.setting.protocol is Protocol.IMAP
    assert alternative is not None
    assert alternative.setting.protocol is Protocol.POP3


def test_provider_order_kept_within_a_source() -> None:
    first = setting(Protocol.SMTP, "smtp.x.test", 587, Security.STARTTLS)
    second = setting(Protocol.SMTP, "smtp.x.test", 465)
    candidates = [
        candidate(second, Source.ISPDB, rank=1),
        candidate(first, Source.ISPDB, rank=0),
    ]

    _, _, outgoing = choose(candidates)

    assert outgoing is not None
    assert outgoing.setting.port == 587


def test_plain_is_never_recommended_and_said_loudly() -> None:
    plain_imap = setting(Protocol.IMAP, "mail.x.test", 143, Security.PLAIN)
    plain_smtp = setting(Protocol.SMTP, "mail.x.test", 587, Security.PLAIN)
    candidates = [
        candidate(plain_imap, Source.AUTOCONFIG_HTTPS, obs=observed(plain_imap, tls=None)),
        candidate(plain_smtp, Source.AUTOCONFIG_HTTPS, obs=observed(plain_smtp, tls=None)),
    ]

    incoming, alternative, outgoing = choose(candidates)
    findings = judge("x.test", candidates, incoming, outgoing)

    assert (incoming, alternative, outgoing) == (None, None, None)
    # one finding per id and domain, naming both roles (diffs and SARIF key on id + subject)
    (loud,) = [f for f in findings if f.id == "discovery.plaintext-only"]
    assert loud.severity is Severity.HIGH
    assert "no incoming or outgoing setting with TLS works" in loud.detail
    assert len(loud.evidence) == 2


def test_plain_setting_upgraded_when_the_server_offers_valid_starttls() -> None:
    plain = setting(Protocol.IMAP, "mail.x.test", 143, Security.PLAIN)
    candidates = [candidate(plain, Source.ISPDB)]

    incoming, _, outgoing = choose(candidates)
    findings = judge("x.test", candidates, incoming, outgoing)

    assert incoming is not None
    assert incoming.setting.security is Security.STARTTLS
    conflict = [f for f in findings if f.id == "discovery.source-conflict"]
    assert len(conflict) == 1
    assert "publish STARTTLS" in conflict[0].detail


def test_ssl_on_a_port_without_tls_is_a_conflict() -> None:
    wrong = setting(Protocol.IMAP, "imap.x.test", 143, Security.SSL)
    failure = ProbeFailure("tls-handshake-failed", "wrong version number", "connect")
    candidates = [candidate(wrong, Source.AUTOCONFIG_HTTPS, obs=observed(wrong, failure=failure))]

    assert candidates[0].verification.status is VerificationStatus.NO_TLS
    findings = judge("x.test", candidates, None, None)

    conflict = [f for f in findings if f.id == "discovery.source-conflict"]
    assert len(conflict) == 1
    assert "does not do ssl" in conflict[0].detail


def test_invalid_certificate_is_not_recommended() -> None:
    imap = setting(Protocol.IMAP, "imap.x.test", 993)
    candidates = [candidate(imap, Source.AUTOCONFIG_HTTPS, obs=observed(imap, tls=TLS_BAD))]

    incoming, _, _ = choose(candidates)

    assert incoming is None
    assert candidates[0].verification.status is VerificationStatus.CERTIFICATE_INVALID
    assert "hostname mismatch" in candidates[0].verification.detail


def test_untrusted_recommendation_is_reported() -> None:
    imap = setting(Protocol.IMAP, "imap.x.test", 993)
    smtp = setting(Protocol.SMTP, "smtp.x.test", 465)
    candidates = [
        candidate(imap, Source.AUTOCONFIG_HTTP, trust=Trust.UNTRUSTED),
        candidate(smtp, Source.AUTOCONFIG_HTTP, trust=Trust.UNTRUSTED, rank=1),
    ]

    incoming, _, outgoing = choose(candidates)
    findings = judge("x.test", candidates, incoming, outgoing)

    assert incoming is not None
    assert incoming.trust is Trust.UNTRUSTED
    assert [f.id for f in findings] == ["discovery.untrusted-source"]


def test_missing_starttls_classified() -> None:
    s = setting(Protocol.SMTP, "smtp.x.test", 587, Security.STARTTLS)

    verification = classify(s, observed(s, tls=None))

    assert verification.status is VerificationStatus.NO_TLS
    assert "does not offer STARTTLS" in verification.detail


def test_auth_from_mechanisms() -> None:
    assert auth_from_mechanisms(Protocol.SMTP, ["PLAIN", "LOGIN"]) == ("password-cleartext",)
    assert auth_from_mechanisms(Protocol.SMTP, ["CRAM-MD5", "XOAUTH2"]) == (
        "password-encrypted",
        "OAuth2",
    )
    # IMAP LOGIN works without any SASL mechanism.
    assert auth_from_mechanisms(Protocol.IMAP, []) == ("password-cleartext",)


def test_untrusted_source_pointing_off_the_domain_is_ranked_last() -> None:
    # Given: plain-HTTP autoconfig (rewritable on the path) names a foreign host with a valid
    # certificate of its own, and a guess finds the domain's own server.
    foreign = setting(Protocol.IMAP, "imap.attacker.example", 993)
    own = setting(Protocol.IMAP, "imap.x.test", 993)
    candidates = [
        candidate(foreign, Source.AUTOCONFIG_HTTP, trust=Trust.UNTRUSTED),
        candidate(own, Source.GUESS),
    ]

    incoming, _, _ = choose(candidates, home="x.test")

    # Then: the domain's own, verified server wins despite its lower source.
    assert incoming is not None
    assert incoming.setting.host == "imap.x.test"


def test_untrusted_source_inside_the_domain_keeps_its_rank() -> None:
    inside = setting(Protocol.IMAP, "mail.x.test", 993)
    own = setting(Protocol.IMAP, "imap.x.test", 993)
    candidates = [
        candidate(inside, Source.AUTOCONFIG_HTTP, trust=Trust.UNTRUSTED),
        candidate(own, Source.GUESS),
    ]

    incoming, _, _ = choose(candidates, home="x.test")

    assert incoming is not None
    assert incoming.source is Source.AUTOCONFIG_HTTP


def test_guessed_smtp_without_auth_is_not_a_submission_server() -> None:
    mx = setting(Protocol.SMTP, "mail.x.test", 25, Security.STARTTLS)
    candidates = [candidate(mx, Source.GUESS, obs=observed(mx, mechanisms=()))]

    _, _, outgoing = choose(candidates)
    findings = judge("x.test", candidates, None, outgoing)

    assert outgoing is None
    (no_outgoing,) = [f for f in findings if f.id == "discovery.no-settings"]
    assert "outgoing" in no_outgoing.detail
    assert "no AUTH after TLS" in no_outgoing.evidence[0]


def test_reset_during_the_handshake_is_not_proof_of_a_plain_port() -> None:
    s = setting(Protocol.IMAP, "imap.x.test", 993)
    reset = ProbeFailure(
        "tls-handshake-failed",
        "TLS handshake failed: [Errno 104] Connection reset by peer",
        "connect",
    )
    plain = ProbeFailure(
        "tls-handshake-failed",
        "TLS handshake failed: [SSL: WRONG_VERSION_NUMBER] wrong version number",
        "connect",
    )

    assert classify(s, observed(s, failure=reset)).status is VerificationStatus.FAILED
    assert classify(s, observed(s, failure=plain)).status is VerificationStatus.NO_TLS


def test_alternative_outgoing_is_another_port() -> None:
    ssl = setting(Protocol.SMTP, "smtp.x.test", 465)
    starttls = setting(Protocol.SMTP, "smtp.x.test", 587, Security.STARTTLS)
    candidates = [candidate(ssl, Source.GUESS, rank=0), candidate(starttls, Source.GUESS, rank=1)]

    _, _, outgoing = choose(candidates)
    alternative = alternative_outgoing(candidates, outgoing)

    assert outgoing is not None
    assert outgoing.setting.port == 465
    assert alternative is not None
    assert alternative.setting.port == 587
