"""From verified candidates to the answer. Pure. (The findings about them are judged in
`mailaudit.checks.discovery`.)

Ranking follows Thunderbird's rule, with verification added: the highest-priority source wins;
a lower source wins only when every higher one failed, and "failed" includes "its settings did
not verify". Within a source, IMAP comes before POP3 and the provider's own order is kept.
Plain (no TLS) settings are never recommended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from mailaudit.checks.discovery import is_relay_without_auth, offers_valid_starttls
from mailaudit.model import (
    Candidate,
    Protocol,
    Recommendation,
    Security,
    ServerSetting,
    Trust,
    VerificationStatus,
)

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
