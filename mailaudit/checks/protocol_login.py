"""`imap.logindisabled-missing` and `pop3.user-advertised-before-tls`: the server refuses login
before TLS, but its capabilities do not say so, so a client sends the credentials (IMAP LOGIN
carries the password) or the user name (POP3 USER) in the clear before it learns the login is
refused. RFC 9051 §6.2.3 wants LOGINDISABLED advertised where LOGIN is refused; RFC 2449 §6.8
lists USER only where it may be used. Pure."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_common import login_capability_lines, transcript_evidence
from mailaudit.checks.protocol_verdict import Verdict, failed, subtest
from mailaudit.model import CheckStatus, Scheme
from mailaudit.model import Outcome as SubtestOutcome

__all__ = ["IDS", "login_refusal_unannounced", "login_refused_before_tls"]

IDS = {"imap": "imap.logindisabled-missing", "pop3": "pop3.user-advertised-before-tls"}


def login_refused_before_tls(facts: EndpointFacts) -> bool:
    """IMAP or POP3 advertises login before TLS, yet the login probe shows it refused there:
    IMAP answered AUTHENTICATE with [PRIVACYREQUIRED] (RFC 5530 §3: no login without privacy,
    whatever the mechanism); POP3 refused USER and lists no SASL mechanism before TLS (so no
    other plaintext login is left). Any other refusal proves nothing about the rest."""
    obs, audit = facts.observation, facts.audit
    probe = audit.auth_before_tls if audit else None
    if not obs.login_offered_before_tls or probe is None:
        return False
    if probe.outcome is not SubtestOutcome.DONE or probe.invited is not False:
        return False
    if obs.scheme is Scheme.IMAP:
        return probe.refusal_code == "PRIVACYREQUIRED"
    if obs.scheme is Scheme.POP3:
        return set(obs.auth_mechanisms_before_tls) <= {"USER"}
    return False


def login_refusal_unannounced(facts: EndpointFacts) -> Verdict:
    obs = facts.observation
    family = obs.scheme.family
    if obs.scheme.implicit_tls:
        return Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS: no plaintext phase")
    if obs.login_offered_before_tls is None:
        return Verdict(CheckStatus.NOT_TESTED, "capabilities before TLS unknown")
    if not obs.login_offered_before_tls:
        said = "LOGINDISABLED advertised" if family == "imap" else "USER not listed"
        return Verdict(CheckStatus.PASSED, f"{said} before TLS")
    probe = facts.audit.auth_before_tls if facts.audit else None
    early = subtest(facts, probe, "login probe")
    if early is not None or probe is None:
        return early or Verdict(CheckStatus.NOT_TESTED)
    if probe.invited:
        return Verdict(
            CheckStatus.NOT_APPLICABLE,
            f"login is accepted before TLS: reported as {family}.auth-before-tls",
        )
    if not login_refused_before_tls(facts):
        return Verdict(
            CheckStatus.NOT_APPLICABLE,
            f"the refusal does not show that every login is refused before TLS: reported as "
            f"{family}.auth-before-tls",
        )
    what = (
        "the capabilities before TLS lack LOGINDISABLED, so a client sends LOGIN with the "
        "password in the clear"
        if family == "imap"
        else "CAPA lists USER before TLS, so a client sends the user name in the clear"
    )
    return failed(
        finding(
            IDS[family],
            obs.url,
            f"The server refuses login before TLS ({probe.command} answered "
            f"[{probe.refusal_code or 'no code'}]), but "
            f"{what} before it learns the login is refused.",
            evidence=transcript_evidence(login_capability_lines(obs))
            + transcript_evidence(probe.evidence),
        )
    )
