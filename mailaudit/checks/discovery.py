"""Judging what discovery found: the published settings that do not work, no working setting,
plaintext only, settings from an untrusted source or from guessing, redirects out of the domain.
Pure: discovery gathers and ranks candidates; this module alone turns them into findings."""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.verdict import status_of
from mailaudit.model import (
    Candidate,
    CheckStatus,
    Finding,
    ForeignRedirect,
    ProbeStatus,
    Protocol,
    Security,
    Severity,
    Source,
    Trust,
    Verification,
    VerificationStatus,
)

__all__ = [
    "CHECK",
    "is_plaintext_fallback",
    "is_refused_by_guard",
    "is_refused_by_server",
    "is_relay_without_auth",
    "judge_discovery",
    "offers_valid_starttls",
]

CHECK = "discovery"
# How a probe records that the SSRF guard refused its host (net.addresses.PrivateAddressRefused,
# prefixed "dns-" like every resolver failure); checks/ may not import net/, a test keeps the
# two equal.
GUARD_REFUSAL = "dns-private-address"
_PROTOCOL_ORDER = {Protocol.IMAP: 0, Protocol.POP3: 1, Protocol.SMTP: 2}


# ------------------------------------------------------------- facts read off a candidate
def offers_valid_starttls(verification: Verification) -> bool:
    """The server offered STARTTLS with a certificate that validates."""
    obs = verification.observation
    return bool(
        obs is not None
        and obs.failure is None
        and obs.tls is not None
        and obs.tls.certificate_valid
        and not obs.scheme.implicit_tls
    )


def is_relay_without_auth(candidate: Candidate) -> bool:
    """A guessed SMTP server that offers no AUTH after TLS is an MX, not a submission server:
    a mail client cannot send through it. (A published one may use other means, e.g. the
    client's address, so it is taken at its word.)"""
    return (
        candidate.source is Source.GUESS
        and candidate.setting.protocol is Protocol.SMTP
        and not candidate.verification.mechanisms_after_tls
    )


def is_refused_by_guard(candidate: Candidate) -> bool:
    """Never contacted: the host leads only into non-global addresses (mailaudit.net.addresses)."""
    obs = candidate.verification.observation
    return obs is not None and obs.failure is not None and obs.failure.reason == GUARD_REFUSAL


def is_refused_by_server(candidate: Candidate) -> bool:
    """The server answered, but refused to talk now (busy, try later: `NO [UNAVAILABLE]`,
    `-ERR [SYS/TEMP]`, 421): nothing can be concluded about the setting (issue 10, item 2)."""
    obs = candidate.verification.observation
    return obs is not None and obs.status is ProbeStatus.REFUSED


def is_plaintext_fallback(candidate: Candidate) -> bool:
    """The server answers, but only without TLS."""
    obs = candidate.verification.observation
    return (
        candidate.verification.status is VerificationStatus.NO_TLS
        and obs is not None
        and obs.failure is None
        and obs.tls is None
    )


# ------------------------------------------------------------------------------ the check
def judge_discovery(facts: DiscoveryFacts) -> Outcome:
    """Every discovery finding for the domain, and one run: inconclusive when a server that
    would decide it refused to talk (busy) and nothing else failed."""
    found = [_redirect(facts.domain, r) for r in facts.foreign_redirects]
    judged, busy = _judge(facts)
    found += judged
    status = status_of(found, ())
    if busy and status is CheckStatus.PASSED:
        return Outcome.single(CHECK, facts.domain, CheckStatus.INCONCLUSIVE, busy[0], found)
    return Outcome.single(CHECK, facts.domain, status, None, found)


def _redirect(domain: str, redirect: ForeignRedirect) -> Finding:
    if redirect.source is Source.AUTODISCOVER:
        detail = (
            f"Autodiscover for {domain} redirected from {redirect.origin} to {redirect.target}; "
            "followed without credentials"
        )
        return finding("discovery.cross-domain-redirect", domain, detail)
    ask = (
        f"a client must ask the user to confirm using settings from "
        f"{redirect.target_host} for {redirect.asked_for} (as Thunderbird does)"
    )
    return finding(
        "discovery.cross-domain-redirect",
        domain,
        f"{redirect.origin} redirected to {redirect.target}, outside {redirect.outside}: {ask}",
        evidence=redirect.chain,
    )


def _judge(facts: DiscoveryFacts) -> tuple[list[Finding], list[str]]:
    """The findings, and why parts could not be judged (servers that said busy)."""
    domain, candidates = facts.domain, facts.candidates
    incoming, outgoing = facts.incoming, facts.outgoing
    findings: list[Finding] = []
    busy: list[str] = []
    seen: set[tuple[Source, tuple[str, int, Security]]] = set()
    ranked = sorted(
        candidates,
        key=lambda c: (c.source.priority, _PROTOCOL_ORDER[c.setting.protocol], c.rank_in_source),
    )
    for candidate in ranked:
        if not candidate.source.is_published or (candidate.source, candidate.setting.key) in seen:
            continue
        seen.add((candidate.source, candidate.setting.key))
        if is_refused_by_server(candidate):
            # Busy is not broken: a server that says "try later" may work in a minute.
            busy.append(
                f"{candidate.source.value} says {candidate.setting.label()}: the server refused "
                f"the session ({candidate.verification.detail})"
            )
            continue
        findings.extend(_published(domain, candidate))
    # One finding per id and domain, naming every role it concerns: ids with subjects are what
    # report diffs and SARIF fingerprints key on.
    plaintext_roles: list[str] = []
    plaintext_evidence: list[str] = []
    missing_roles: list[str] = []
    missing_evidence: list[str] = []
    for role, chosen, protocols in (
        ("incoming", incoming, (Protocol.IMAP, Protocol.POP3)),
        ("outgoing", outgoing, (Protocol.SMTP,)),
    ):
        if chosen is not None:
            continue
        relevant = [c for c in candidates if c.setting.protocol in protocols]
        plain = [c for c in relevant if is_plaintext_fallback(c)]
        refused = [c for c in relevant if is_refused_by_server(c)]
        if refused and not plain:
            # No setting worked, but a server said busy: whether one would is unknown.
            busy.append(f"{role}: {refused[0].setting.label()} refused the session (busy)")
        elif plain:
            plaintext_roles.append(role)
            plaintext_evidence += [f"{c.setting.label()} ({c.source.value})" for c in plain]
        else:
            missing_roles.append(role)
            missing_evidence += [
                f"{c.setting.label()}: "
                + ("no AUTH after TLS" if is_relay_without_auth(c) else c.verification.status.value)
                for c in relevant
            ][:10]
    if plaintext_roles:
        findings.append(
            finding(
                "discovery.plaintext-only",
                domain,
                f"no {' or '.join(plaintext_roles)} setting with TLS works; the server(s) answer "
                "only without TLS, so passwords would cross the network in clear text. "
                "Not recommended.",
                evidence=plaintext_evidence,
            )
        )
    if missing_roles:
        findings.append(
            finding(
                "discovery.no-settings",
                domain,
                f"no working {' or '.join(missing_roles)} setting found",
                evidence=missing_evidence,
            )
        )
    untrusted = [r for r in (incoming, outgoing) if r is not None and r.trust is Trust.UNTRUSTED]
    if untrusted:
        findings.append(
            finding(
                "discovery.untrusted-source",
                domain,
                "the recommended settings came over an unauthenticated channel "
                f"({', '.join(sorted({r.source.value for r in untrusted}))}); they were verified "
                "by a TLS handshake, but a client that trusts this source could be misled",
                evidence=tuple(sorted({r.origin for r in untrusted})),
            )
        )
    guessed = [r for r in (incoming, outgoing) if r is not None and r.source is Source.GUESS]
    if guessed:
        findings.append(
            finding(
                "discovery.guessed-only",
                domain,
                "no published source gave a working setting; found by guessing: "
                + ", ".join(r.setting.label() for r in guessed),
            )
        )
    return findings, busy


def _published(domain: str, candidate: Candidate) -> Iterable[Finding]:
    verification = candidate.verification
    status = verification.status
    label = f"{candidate.source.value} says {candidate.setting.label()}"
    evidence = (candidate.origin, verification.detail)
    if status is VerificationStatus.VERIFIED or status is VerificationStatus.NOT_VERIFIED:
        return
    if is_refused_by_guard(candidate):
        return  # the SSRF guard's own finding (scope.private-address-refused) says it once
    if candidate.setting.security is Security.PLAIN:
        if offers_valid_starttls(verification):
            yield finding(
                "discovery.source-conflict",
                domain,
                f"{label}, but the server offers STARTTLS with a valid certificate: publish "
                "STARTTLS",
                evidence=evidence,
                severity=Severity.LOW,
            )
        return
    if status is VerificationStatus.NO_TLS:
        yield finding(
            "discovery.source-conflict",
            domain,
            f"{label}, but the server does not do {candidate.setting.security.value} there: "
            f"{verification.detail}",
            evidence=evidence,
        )
        return
    yield finding(
        "discovery.setting-broken",
        domain,
        f"{label}: {status.value}: {verification.detail}",
        evidence=evidence,
    )
