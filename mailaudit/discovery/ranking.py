"""From verified candidates to the answer, and the warnings. Pure.

Ranking follows Thunderbird's rule, with verification added: the highest-priority source wins;
a lower source wins only when every higher one failed, and "failed" includes "its settings did
not verify". Within a source, IMAP comes before POP3 and the provider's own order is kept.
Plain (no TLS) settings are never recommended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from mailaudit.checks.catalogue import finding
from mailaudit.discovery.verify import offers_valid_starttls
from mailaudit.model import (
    Candidate,
    Finding,
    Protocol,
    Recommendation,
    Security,
    ServerSetting,
    Severity,
    Source,
    Trust,
    VerificationStatus,
)
from mailaudit.net.addresses import PrivateAddressRefused

_OAUTH = {"XOAUTH2", "OAUTHBEARER"}
_HASHED = {"CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "APOP"}
_CLEARTEXT = {"PLAIN", "LOGIN", "USER"}


def usable_setting(candidate: Candidate) -> ServerSetting | None:
    """The setting a client can use safely, or None. A plain setting whose server offers
    STARTTLS with a valid certificate is usable as STARTTLS."""
    if candidate.verification.status is VerificationStatus.VERIFIED:
        if is_relay_without_auth(candidate):
            return None
        return candidate.setting
    if candidate.setting.security is Security.PLAIN and offers_valid_starttls(
        candidate.verification
    ):
        return replace(candidate.setting, security=Security.STARTTLS)
    return None


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
    return obs is not None and obs.failure is not None and obs.failure.reason == _REFUSED


_REFUSED = f"dns-{PrivateAddressRefused.reason}"


def is_plaintext_fallback(candidate: Candidate) -> bool:
    """The server answers, but only without TLS."""
    obs = candidate.verification.observation
    return (
        candidate.verification.status is VerificationStatus.NO_TLS
        and obs is not None
        and obs.failure is None
        and obs.tls is None
    )


def is_foreign_untrusted(candidate: Candidate, home: str) -> bool:
    """An unauthenticated source naming a host outside the user's registrable domain `home`:
    whoever rewrote a plain-HTTP answer could point it at their own host, with a perfectly
    valid certificate for it; a cross-domain HTTPS redirect (Trust.CONFIRM) needs the user's
    confirmation. Such a candidate is ranked below every other."""
    host = candidate.setting.host
    inside = host == home or host.endswith("." + home)
    return candidate.trust is not Trust.TRUSTED and not inside


def ordered(candidates: Iterable[Candidate], home: str | None = None) -> list[Candidate]:
    return sorted(
        candidates,
        key=lambda c: (
            home is not None and is_foreign_untrusted(c, home),
            c.source.priority,
            _PROTOCOL_ORDER[c.setting.protocol],
            c.rank_in_source,
        ),
    )


_PROTOCOL_ORDER = {Protocol.IMAP: 0, Protocol.POP3: 1, Protocol.SMTP: 2}


def recommend(
    candidates: Sequence[Candidate], protocols: frozenset[Protocol], *, home: str | None = None
) -> Recommendation | None:
    for candidate in ordered((c for c in candidates if c.setting.protocol in protocols), home):
        setting = usable_setting(candidate)
        if setting is None:
            continue
        mechanisms = candidate.verification.mechanisms_after_tls
        if not setting.auth:
            setting = replace(setting, auth=auth_from_mechanisms(setting.protocol, mechanisms))
        return Recommendation(
            setting=setting,
            source=candidate.source,
            trust=candidate.trust,
            origin=candidate.origin,
            mechanisms_after_tls=mechanisms,
        )
    return None


def auth_from_mechanisms(protocol: Protocol, mechanisms: Sequence[str]) -> tuple[str, ...]:
    """ISPDB vocabulary for what the server offered after TLS."""
    offered = {m.upper() for m in mechanisms}
    out: list[str] = []
    # IMAP LOGIN and POP3 USER/PASS need no SASL mechanism: a password works once under TLS.
    if offered & _CLEARTEXT or protocol is not Protocol.SMTP:
        out.append("password-cleartext")
    if offered & _HASHED:
        out.append("password-encrypted")
    if offered & _OAUTH:
        out.append("OAuth2")
    return tuple(out)


def choose(
    candidates: Sequence[Candidate], *, home: str | None = None
) -> tuple[Recommendation | None, Recommendation | None, Recommendation | None]:
    """(incoming, alternative incoming, outgoing). `home` is the user's registrable domain."""
    incoming = recommend(candidates, frozenset({Protocol.IMAP, Protocol.POP3}), home=home)
    alternative = None
    if incoming is not None:
        other = Protocol.POP3 if incoming.setting.protocol is Protocol.IMAP else Protocol.IMAP
        alternative = recommend(candidates, frozenset({other}), home=home)
    outgoing = recommend(candidates, frozenset({Protocol.SMTP}), home=home)
    return incoming, alternative, outgoing


def alternative_outgoing(
    candidates: Sequence[Candidate], outgoing: Recommendation | None, *, home: str | None = None
) -> Recommendation | None:
    """The next usable SMTP setting on another port or host (e.g. 587 STARTTLS beside 465),
    for networks that block one of them."""
    if outgoing is None:
        return None
    taken = (outgoing.setting.host, outgoing.setting.port)
    others = [c for c in candidates if (c.setting.host, c.setting.port) != taken]
    return recommend(others, frozenset({Protocol.SMTP}), home=home)


def judge(
    domain: str,
    candidates: Sequence[Candidate],
    incoming: Recommendation | None,
    outgoing: Recommendation | None,
) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    seen: set[tuple[Source, tuple[str, int, Security]]] = set()
    for candidate in ordered(candidates):
        if not candidate.source.is_published or (candidate.source, candidate.setting.key) in seen:
            continue
        seen.add((candidate.source, candidate.setting.key))
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
        if plain:
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
    return tuple(findings)


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
