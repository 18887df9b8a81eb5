"""Login before TLS and the STARTTLS checks of one endpoint: `<family>.auth-before-tls`,
`<service>.starttls-missing`, `<service>.starttls-failed`, `<family>.starttls-injection`,
`<family>.starttls-readvertised`. Pure."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_common import (
    capability_lines,
    login_capability_lines,
    service_of,
    transcript_evidence,
)
from mailaudit.checks.protocol_login import IDS, login_refused_before_tls
from mailaudit.checks.protocol_verdict import Verdict, failed, subtest, upgrade_failed
from mailaudit.model import CheckStatus, Scheme
from mailaudit.model import Outcome as SubtestOutcome

__all__ = [
    "auth_before_tls",
    "starttls_failed",
    "starttls_injection",
    "starttls_missing",
    "starttls_readvertised",
]


def auth_before_tls(facts: EndpointFacts) -> Verdict:
    obs = facts.observation
    if obs.scheme.implicit_tls:
        return Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS: no plaintext phase")
    probe = facts.audit.auth_before_tls if facts.audit else None
    invited = bool(probe and probe.outcome is SubtestOutcome.DONE and probe.invited)
    offered = bool(obs.login_offered_before_tls)
    family = obs.scheme.family
    if offered and not invited and login_refused_before_tls(facts):
        return Verdict(
            CheckStatus.PASSED,
            f"login is advertised before TLS but refused there: reported as {IDS[family]}",
        )
    if offered or invited:
        parts = []
        if offered:
            parts.append(
                {
                    "smtp": "AUTH is advertised before TLS ("
                    + " ".join(obs.auth_mechanisms_before_tls)
                    + ")",
                    "pop3": "CAPA offers USER/SASL login before TLS",
                    "imap": "the capabilities before TLS lack LOGINDISABLED",
                }[family]
            )
        if invited and probe is not None:
            parts.append(
                f"the server answered {probe.command} with an invitation to send "
                "credentials in the clear"
            )
        evidence = transcript_evidence(login_capability_lines(obs))
        if probe is not None and probe.outcome is SubtestOutcome.DONE:
            evidence += transcript_evidence(probe.evidence)
        return failed(
            finding(f"{family}.auth-before-tls", obs.url, "; ".join(parts) + ".", evidence=evidence)
        )
    if obs.login_offered_before_tls is None and upgrade_failed(obs):
        return Verdict(CheckStatus.NOT_TESTED, "capabilities before TLS unknown")
    early = subtest(facts, probe, "login probe")
    if early is not None:
        if early.status is CheckStatus.NOT_TESTED and obs.login_offered_before_tls is False:
            return Verdict(
                CheckStatus.PASSED,
                f"no login offered before TLS (the active login probe did not run: {early.reason})",
            )
        return early
    after = obs.auth_mechanisms_after_tls
    return Verdict(
        CheckStatus.PASSED,
        "no login offered or accepted before TLS"
        + (f"; after TLS: {' '.join(after)}" if after else ""),
    )


def starttls_missing(facts: EndpointFacts) -> Verdict:
    obs = facts.observation
    if obs.scheme.implicit_tls:
        return Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
    if obs.starttls_offered:
        return Verdict(CheckStatus.PASSED, "STARTTLS offered")
    is_mx = obs.scheme is Scheme.SMTP
    return failed(
        finding(
            f"{service_of(obs.scheme)}.starttls-missing",
            obs.url,
            "The capabilities before TLS do not include STARTTLS"
            + ("; senders deliver to this MX in the clear." if is_mx else "."),
            evidence=transcript_evidence(capability_lines(obs)),
            context="opportunistic TLS between MTAs (port 25)" if is_mx else None,
        )
    )


def starttls_failed(facts: EndpointFacts) -> Verdict:
    obs = facts.observation
    if obs.scheme.implicit_tls:
        return Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
    if not obs.starttls_offered:
        return Verdict(CheckStatus.NOT_APPLICABLE, "STARTTLS not offered")
    if not upgrade_failed(obs):
        return Verdict(CheckStatus.PASSED, "STARTTLS upgrade succeeded")
    failure = obs.failure
    assert failure is not None
    return failed(
        finding(
            f"{service_of(obs.scheme)}.starttls-failed",
            obs.url,
            f"STARTTLS is advertised but the upgrade failed: {failure.message}",
            evidence=transcript_evidence(obs.transcript[-6:]),
        )
    )


def starttls_injection(facts: EndpointFacts) -> Verdict:
    probe = facts.audit.starttls_injection if facts.audit else None
    early = subtest(facts, probe, "injection test")
    if early is not None or probe is None:
        return early or Verdict(CheckStatus.NOT_TESTED)
    if probe.answered_after_tls:
        return failed(
            finding(
                f"{facts.observation.scheme.family}.starttls-injection",
                facts.observation.url,
                f"The server answered the command {probe.injected!r}, sent in the same packet "
                "as STARTTLS, after the TLS handshake: it executes plaintext commands as if "
                "they had arrived over TLS.",
                evidence=transcript_evidence(probe.evidence),
            )
        )
    if probe.answered_before_tls:
        return Verdict(
            CheckStatus.INCONCLUSIVE,
            "the server answered the pipelined command in the clear before the handshake",
        )
    if probe.starttls_refused:
        return Verdict(CheckStatus.PASSED, "STARTTLS with a pipelined command was refused")
    if probe.handshake_failed:
        return Verdict(
            CheckStatus.PASSED,
            "the injected bytes broke the TLS handshake: they were not executed",
        )
    return Verdict(CheckStatus.PASSED, "the injected command was discarded")


def starttls_readvertised(facts: EndpointFacts) -> Verdict:
    obs = facts.observation
    if obs.scheme.implicit_tls:
        return Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
    if obs.starttls_offered_after_tls is None:
        return Verdict(CheckStatus.NOT_APPLICABLE, "no STARTTLS upgrade")
    if not obs.starttls_offered_after_tls:
        return Verdict(CheckStatus.PASSED, "STARTTLS not offered again after TLS")
    return failed(
        finding(
            f"{obs.scheme.family}.starttls-readvertised",
            obs.url,
            "The capabilities after the TLS handshake still offer STARTTLS.",
            evidence=tuple(f"capability after TLS: {c}" for c in obs.capabilities_after_tls[:12]),
        )
    )
