"""From a `DiscoveryResult` to what the page shows: settings in plain words, where each came
from and how far it can be trusted. Pure; the words themselves are translated by the templates
(`N_` only marks them for extraction)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailaudit.discovery.query import Query, parse_query
from mailaudit.model import (
    Candidate,
    DiscoveryResult,
    Protocol,
    Recommendation,
    Security,
    Source,
    SourceOutcome,
    SourceStatus,
    Trust,
    VerificationStatus,
)
from mailaudit.serve.i18n import N_

MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 (path), less the angle brackets
MAX_LOCALPART = 64
# An unquoted local part: RFC 5322 atext and dots, plus letters and digits of any script
# (RFC 6531). Quoted local parts are not accepted here: no provider hands them out.
_ATEXT = re.compile(r"^[\w!#$%&'*+/=?^`{|}~.-]+$")

SOURCE_NAMES: dict[Source, str] = {
    Source.AUTOCONFIG_HTTPS: N_("Your provider's configuration file (autoconfig, HTTPS)"),
    Source.AUTOCONFIG_WELLKNOWN_HTTPS: N_(
        "Your provider's configuration file on its web site (.well-known, HTTPS)"
    ),
    Source.AUTOCONFIG_HTTP: N_("Your provider's configuration file over plain HTTP"),
    Source.ISPDB: N_("Thunderbird's provider database (ISPDB)"),
    Source.MX_AUTOCONFIG: N_("The configuration file of the provider that receives your mail (MX)"),
    Source.MX_ISPDB: N_("Thunderbird's database entry for the provider that receives your mail"),
    Source.AUTODISCOVER: N_("Microsoft Autodiscover"),
    Source.SRV: N_("DNS service records (SRV)"),
    Source.GUESS: N_("Guessing common server names (imap., smtp., mail. ...)"),
}

SOURCE_STATUS: dict[SourceStatus, str] = {
    SourceStatus.FOUND: N_("found settings"),
    SourceStatus.NOT_FOUND: N_("nothing published"),
    SourceStatus.FAILED: N_("did not work"),
    SourceStatus.SKIPPED: N_("not needed"),
    SourceStatus.GIVEN_UP: N_("given up: other sources had already answered"),
}

VERIFICATION: dict[VerificationStatus, str] = {
    VerificationStatus.VERIFIED: N_("works: encrypted, certificate valid for the name"),
    VerificationStatus.CERTIFICATE_INVALID: N_("certificate not valid for this name"),
    VerificationStatus.NO_TLS: N_("no encryption offered"),
    VerificationStatus.FAILED: N_("did not answer as a mail server should"),
    VerificationStatus.UNREACHABLE: N_("could not connect"),
    VerificationStatus.NOT_VERIFIED: N_("not tested"),
}

# Why a trusted setting is trusted depends on where it came from.
TRUSTED_BECAUSE: dict[Source, str] = {
    Source.AUTOCONFIG_HTTPS: N_(
        "Trusted: your provider published it over HTTPS, with a valid certificate."
    ),
    Source.AUTOCONFIG_WELLKNOWN_HTTPS: N_(
        "Trusted: your provider published it over HTTPS, with a valid certificate."
    ),
    Source.MX_AUTOCONFIG: N_(
        "Trusted: the provider that receives your mail published it over HTTPS, with a valid "
        "certificate."
    ),
    Source.ISPDB: N_("Trusted: Thunderbird's database of providers lists it."),
    Source.MX_ISPDB: N_("Trusted: Thunderbird's database of providers lists it."),
    Source.AUTODISCOVER: N_(
        "Trusted: your provider's Autodiscover service gave it over HTTPS, with a valid "
        "certificate."
    ),
    Source.SRV: N_("Trusted: a DNS record of your own domain points to a server inside it."),
    Source.GUESS: N_("A server name inside your own domain that answered correctly."),
    Source.AUTOCONFIG_HTTP: N_(
        "Trusted: your provider published it over HTTPS, with a valid certificate."
    ),
}
UNTRUSTED = N_(
    "Not trusted on its own: anyone on the way could have changed it (plain HTTP, or an "
    "unsigned pointer to another domain). We still connected to the server and checked it."
)


def trust_text(source: Source, trust: Trust) -> str:
    return TRUSTED_BECAUSE[source] if trust is Trust.TRUSTED else UNTRUSTED


SECURITY_LABEL = {Security.SSL: "SSL/TLS", Security.STARTTLS: "STARTTLS", Security.PLAIN: "—"}


@dataclass(frozen=True)
class SettingView:
    role: str  # "incoming" | "outgoing"
    alternative: bool
    protocol: str  # IMAP, POP3, SMTP: as every mail client shows them
    host: str
    port: int
    security: str  # SSL/TLS or STARTTLS: as mail clients show them
    is_implicit_tls: bool
    username: str | None
    username_is_address: bool
    source: Source
    source_name: str
    trust: Trust
    trust_text: str
    origin: str
    mechanisms: tuple[str, ...]


@dataclass(frozen=True)
class CandidateView:
    label: str
    verified: bool
    status_text: str
    detail: str


@dataclass(frozen=True)
class SourceView:
    source: Source
    name: str
    status: SourceStatus
    status_text: str
    detail: str
    candidates: tuple[CandidateView, ...]


@dataclass(frozen=True)
class AnswerView:
    who: str
    domain: str
    provider: str | None
    incoming: SettingView | None
    incoming_alternative: SettingView | None
    outgoing: SettingView | None
    outgoing_alternative: SettingView | None
    findings: tuple[tuple[str, str, str], ...]  # severity, id, title
    webmail: str | None
    elapsed_ms: int
    # (host, address) the guard did not let the discovery connect to.
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def settings(self) -> tuple[SettingView, ...]:
        chosen = (
            self.incoming,
            self.incoming_alternative,
            self.outgoing,
            self.outgoing_alternative,
        )
        return tuple(s for s in chosen if s is not None)

    @property
    def found_anything(self) -> bool:
        return self.incoming is not None or self.outgoing is not None


def echoed(text: str) -> str:
    """What the form shows back of what was typed: no control characters, not too long.
    (Escaping is the template's job.)"""
    return "".join(
        c for c in text[: MAX_ADDRESS + 1] if not unicodedata.category(c).startswith("C")
    )


def check_address(text: str) -> tuple[Query | None, str | None]:
    """The query, or a message id saying why not (the page translates it). Stricter than the
    CLI: the page is for addresses people really have."""
    if len(text) > MAX_ADDRESS:
        return None, N_("That is too long for an email address (at most 254 characters).")
    if any(unicodedata.category(c).startswith("C") for c in text):
        return None, N_("The address contains control characters. Please type it again.")
    cleaned = text.strip()
    if not cleaned:
        return None, N_("Please type your email address.")
    local, at, _ = cleaned.rpartition("@")
    if at and (len(local) > MAX_LOCALPART or not _ATEXT.match(local)):
        return None, N_("That does not look like an email address.")
    try:
        return parse_query(cleaned), None
    except ValueError:
        return None, N_("That does not look like an email address.")


def source_view(outcome: SourceOutcome, candidates: tuple[Candidate, ...]) -> SourceView:
    return SourceView(
        source=outcome.source,
        name=SOURCE_NAMES[outcome.source],
        status=outcome.status,
        status_text=SOURCE_STATUS[outcome.status],
        detail=outcome.detail,
        candidates=tuple(
            CandidateView(
                label=c.setting.label(),
                verified=c.verification.status is VerificationStatus.VERIFIED,
                status_text=VERIFICATION[c.verification.status],
                detail=c.verification.detail,
            )
            for c in candidates
        ),
    )


def source_views(result: DiscoveryResult) -> tuple[SourceView, ...]:
    """Each source of a finished result, as the page shows it while the sources answer."""
    return tuple(
        source_view(o, tuple(c for c in result.candidates if c.source is o.source))
        for o in result.sources
    )


def answer_view(result: DiscoveryResult) -> AnswerView:
    return AnswerView(
        refused=tuple((t.host, t.address) for t in result.refused_targets),
        who=result.address or result.domain,
        domain=result.domain,
        provider=result.provider_name,
        incoming=_setting(result.incoming, alternative=False),
        incoming_alternative=_setting(result.alternative_incoming, alternative=True),
        outgoing=_setting(result.outgoing, alternative=False),
        outgoing_alternative=_setting(result.alternative_outgoing, alternative=True),
        findings=tuple((f.severity.value, f.id, f.title) for f in result.findings),
        webmail=result.webmail,
        elapsed_ms=result.elapsed_ms,
    )


def _setting(rec: Recommendation | None, *, alternative: bool) -> SettingView | None:
    if rec is None:
        return None
    s = rec.setting
    return SettingView(
        role="outgoing" if s.protocol is Protocol.SMTP else "incoming",
        alternative=alternative,
        protocol=s.protocol.value.upper(),
        host=s.host,
        port=s.port,
        security=SECURITY_LABEL[s.security],
        is_implicit_tls=s.security is Security.SSL,
        username=s.username,
        username_is_address=s.username is not None and "@" in s.username,
        source=rec.source,
        source_name=SOURCE_NAMES[rec.source],
        trust=rec.trust,
        trust_text=trust_text(rec.source, rec.trust),
        origin=rec.origin,
        mechanisms=rec.mechanisms_after_tls,
    )
