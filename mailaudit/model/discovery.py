"""The discovery model: where a setting came from, how far to trust it, what the probe saw, and
the answer. Frozen dataclasses only; `mailaudit.serial` turns a `DiscoveryResult` into JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailaudit.model.endpoint import Observation, Scheme
from mailaudit.model.findings import Finding
from mailaudit.model.scope import RefusedTarget

__all__ = [
    "Attempt",
    "Candidate",
    "DiscoveryResult",
    "ForeignRedirect",
    "IspdbFile",
    "LoginCheck",
    "LoginStatus",
    "PlaceholderUse",
    "Protocol",
    "ProviderConfig",
    "RawProvider",
    "RawServer",
    "Recommendation",
    "Security",
    "ServerSetting",
    "Source",
    "SourceOutcome",
    "SourceStatus",
    "Trust",
    "UsernameForm",
    "Verification",
    "VerificationStatus",
    "WebMail",
]


class Source(StrEnum):
    """Where a candidate setting came from, highest priority first (Thunderbird's order, with
    RFC 6186 SRV inserted before guessing)."""

    AUTOCONFIG_HTTPS = "autoconfig-https"
    AUTOCONFIG_WELLKNOWN_HTTPS = "autoconfig-wellknown-https"
    AUTOCONFIG_HTTP = "autoconfig-http"
    ISPDB = "ispdb"
    MX_AUTOCONFIG = "mx-autoconfig"
    MX_ISPDB = "mx-ispdb"
    AUTODISCOVER = "autodiscover"
    SRV = "srv"
    GUESS = "guess"

    @property
    def priority(self) -> int:
        """0 is best."""
        return _SOURCE_ORDER.index(self)

    @property
    def is_published(self) -> bool:
        """The provider (or a database) stated this setting; a guess states nothing."""
        return self is not Source.GUESS


_SOURCE_ORDER = list(Source)


class Trust(StrEnum):
    # Came over an authenticated channel from the domain's owner or a database the user chose.
    TRUSTED = "trusted"
    # Anyone on the path could have written it: plain HTTP, an HTTP hop, an unsigned SRV record
    # pointing outside the user's domain.
    UNTRUSTED = "untrusted"
    # Came over HTTPS, but a redirect led into another registrable domain: a client must ask the
    # user to confirm these settings before using them (as Thunderbird does).
    CONFIRM = "confirm"


class Protocol(StrEnum):
    IMAP = "imap"
    POP3 = "pop3"
    SMTP = "smtp"

    @property
    def is_incoming(self) -> bool:
        return self is not Protocol.SMTP


class Security(StrEnum):
    SSL = "ssl"  # implicit TLS (RFC 8314)
    STARTTLS = "starttls"
    PLAIN = "plain"


class UsernameForm(StrEnum):
    ADDRESS = "address"  # the full e-mail address
    LOCALPART = "localpart"
    OTHER = "other"  # a fixed or unusual form, e.g. "%EMAILLOCALPART%.%EMAILDOMAIN%"
    NONE = "none"  # no username given (no authentication, or a data error)


@dataclass(frozen=True)
class ServerSetting:
    """What a mail client is told to type in."""

    protocol: Protocol
    host: str
    port: int
    security: Security
    # The username with placeholders substituted when an address was given, else the template.
    username: str | None = None
    username_form: UsernameForm = UsernameForm.NONE
    # ISPDB vocabulary: password-cleartext, password-encrypted, OAuth2, none...
    auth: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int, Security]:
        """What a probe can tell apart: one probe serves every setting with the same key."""
        return (self.host, self.port, self.security)

    @property
    def scheme(self) -> Scheme:
        if self.protocol is Protocol.IMAP:
            return Scheme.IMAPS if self.security is Security.SSL else Scheme.IMAP
        if self.protocol is Protocol.POP3:
            return Scheme.POP3S if self.security is Security.SSL else Scheme.POP3
        if self.security is Security.SSL:
            return Scheme.SMTPS
        # Port 25 is the MX port even when a client is told to send there (RFC 6409 §2).
        return Scheme.SMTP if self.port == Scheme.SMTP.default_port else Scheme.SUBMISSION

    def label(self) -> str:
        return f"{self.protocol.value} {self.host}:{self.port} {self.security.value}"


@dataclass(frozen=True)
class WebMail:
    login_page: str


@dataclass(frozen=True)
class ProviderConfig:
    """One `emailProvider` of a `config-v1.1.xml` file, placeholders substituted."""

    provider_id: str
    display_name: str | None
    domains: tuple[str, ...]
    incoming: tuple[ServerSetting, ...]
    outgoing: tuple[ServerSetting, ...]
    webmail: str | None = None
    documentation: tuple[str, ...] = ()
    # Server types we do not use (exchange, ews, graph...), for the record.
    ignored_server_types: tuple[str, ...] = ()


class VerificationStatus(StrEnum):
    # The stated security worked, the certificate is valid for the host name.
    VERIFIED = "verified"
    # TLS worked but the certificate does not validate (chain or name).
    CERTIFICATE_INVALID = "certificate-invalid"
    # The server answers but offers no TLS where the setting says there is (or the setting is
    # plain to begin with).
    NO_TLS = "no-tls"
    # The server answered in a way that is not the stated protocol, or broke the dialogue.
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    # Not probed: the run ended before (a higher source answered) or probing was off.
    NOT_VERIFIED = "not-verified"

    @property
    def usable(self) -> bool:
        return self is VerificationStatus.VERIFIED


@dataclass(frozen=True)
class Verification:
    status: VerificationStatus
    detail: str
    observation: Observation | None = None
    # AUTH mechanisms (SASL names, plus USER / LOGIN) the server offered after TLS.
    mechanisms_after_tls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    setting: ServerSetting
    source: Source
    trust: Trust
    # The URL or DNS name the setting came from.
    origin: str
    verification: Verification
    # Position inside its source (first listed = the provider's first choice).
    rank_in_source: int = 0
    # The URLs that led to `origin` (redirects), first one first; empty when none.
    via: tuple[str, ...] = ()


class SourceStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not-found"  # 404, NXDOMAIN, no file: nothing published
    FAILED = "failed"  # something is there but broken: bad XML, TLS error, timeout
    SKIPPED = "skipped"  # not needed or not applicable
    # Still silent a grace period after trusted sources gave verified settings: not waited for.
    GIVEN_UP = "given-up"


@dataclass(frozen=True)
class ForeignRedirect:
    """A redirect a source followed out of the user's registrable domain `outside`: from
    `origin` to `target` (a URL, or "mailto:<address>" for an Autodiscover redirectAddr).
    `chain` is every URL fetched; `target_host` the host the settings then came from, and
    `asked_for` the address (or domain) a client would use them for."""

    source: Source
    origin: str
    target: str
    outside: str
    chain: tuple[str, ...] = ()
    target_host: str = ""
    asked_for: str = ""


@dataclass(frozen=True)
class Attempt:
    """One URL fetched or one name looked up, and what came of it."""

    target: str
    outcome: str


@dataclass(frozen=True)
class SourceOutcome:
    source: Source
    status: SourceStatus
    detail: str
    attempts: tuple[Attempt, ...] = ()
    candidates: int = 0


@dataclass(frozen=True)
class Recommendation:
    setting: ServerSetting
    source: Source
    trust: Trust
    origin: str
    mechanisms_after_tls: tuple[str, ...] = ()


class LoginStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    # Not tried: a rule forbade it (a host outside the user's domain, no TLS, no username).
    REFUSED_BY_POLICY = "refused-by-policy"
    # The dialogue broke before the password was answered (or before it was sent).
    FAILED = "failed"
    # The password was sent and no answer came within the step timeout: servers delay the
    # answer to failed logins (Dovecot's auth penalty), so this is not a server failure.
    NO_ANSWER = "no-answer"
    # Not tried: another service already rejected the password (or left it unanswered), and
    # every further attempt is one more failed login (account lockout, fail2ban; issue 10).
    NOT_TRIED = "not-tried"


@dataclass(frozen=True)
class LoginCheck:
    """The optional credential check of one recommended setting (never holds the password)."""

    protocol: Protocol
    host: str
    port: int
    status: LoginStatus
    detail: str


@dataclass(frozen=True)
class DiscoveryResult:
    query: str
    address: str | None
    domain: str
    incoming: Recommendation | None
    alternative_incoming: Recommendation | None
    outgoing: Recommendation | None
    candidates: tuple[Candidate, ...]
    sources: tuple[SourceOutcome, ...]
    findings: tuple[Finding, ...]
    provider_name: str | None = None
    webmail: str | None = None
    alternative_outgoing: Recommendation | None = None
    logins: tuple[LoginCheck, ...] = ()
    # Names whose addresses the SSRF guard refused (never contacted).
    refused_targets: tuple[RefusedTarget, ...] = ()
    elapsed_ms: int = 0


# --- config-v1.1.xml as written (ISPDB lint) -------------------------------------------------
@dataclass(frozen=True)
class RawServer:
    """A server element as written, before placeholder substitution (the linter needs this)."""

    direction: str  # incomingServer | outgoingServer
    type: str
    hostname: str | None
    port: str | None
    socket_type: str | None
    username: str | None
    authentication: tuple[str, ...]


@dataclass(frozen=True)
class RawProvider:
    provider_id: str
    display_name: str | None
    domains: tuple[str, ...]
    servers: tuple[RawServer, ...]
    webmail: str | None
    documentation: tuple[str, ...]


@dataclass(frozen=True)
class PlaceholderUse:
    """Something that looks like a placeholder (%NAME%) in an element's text or attribute."""

    tag: str
    value: str
    name: str  # without the percent signs
    closed: bool  # ends in "%"
    known: bool  # one of the placeholders clients substitute


@dataclass(frozen=True)
class IspdbFile:
    """One config-v1.1.xml file as the linter read it: unreadable (`error`), or its provider
    and the placeholders it uses."""

    name: str
    error: str | None = None
    provider: RawProvider | None = None
    placeholders: tuple[PlaceholderUse, ...] = ()
