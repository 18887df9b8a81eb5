"""Endpoints and observations: the facts a probe gathered about one endpoint at one address,
including the TLS session it negotiated and the certificate it was shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mailaudit.errors import UsageError
from mailaudit.model.findings import TranscriptLine
from mailaudit.names import ascii_host

__all__ = [
    "HOSTNAME",
    "CertificateInfo",
    "Endpoint",
    "Observation",
    "ProbeFailure",
    "ProbeStatus",
    "Scheme",
    "TlsSession",
]

# The shape of a host name (letters, digits, `-`, `_`; labels up to 63, 253 in all).
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$"
)


class Scheme(StrEnum):
    SMTP = "smtp"  # port 25, STARTTLS (MTA to MTA)
    SUBMISSION = "submission"  # port 587, STARTTLS
    SMTPS = "smtps"  # port 465, implicit TLS (RFC 8314)
    IMAP = "imap"  # 143, STARTTLS
    IMAPS = "imaps"  # 993
    POP3 = "pop3"  # 110, STLS
    POP3S = "pop3s"  # 995

    @property
    def family(self) -> str:
        """The protocol spoken: smtp, imap or pop3."""
        return _FAMILY[self]

    @property
    def implicit_tls(self) -> bool:
        return self in (Scheme.SMTPS, Scheme.IMAPS, Scheme.POP3S)

    @property
    def default_port(self) -> int:
        return _PORT[self]

    @property
    def is_submission(self) -> bool:
        return self in (Scheme.SUBMISSION, Scheme.SMTPS)


_FAMILY = {
    Scheme.SMTP: "smtp",
    Scheme.SUBMISSION: "smtp",
    Scheme.SMTPS: "smtp",
    Scheme.IMAP: "imap",
    Scheme.IMAPS: "imap",
    Scheme.POP3: "pop3",
    Scheme.POP3S: "pop3",
}
_PORT = {
    Scheme.SMTP: 25,
    Scheme.SUBMISSION: 587,
    Scheme.SMTPS: 465,
    Scheme.IMAP: 143,
    Scheme.IMAPS: 993,
    Scheme.POP3: 110,
    Scheme.POP3S: 995,
}


@dataclass(frozen=True)
class Endpoint:
    scheme: Scheme
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == self.scheme.default_port:
            return f"{self.scheme.value}://{host}"
        return f"{self.scheme.value}://{host}:{self.port}"

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """`scheme://host[:port]`; raises UsageError (a ValueError) with a message fit for a user."""
        scheme_text, sep, rest = url.partition("://")
        if not sep:
            raise UsageError(f"{url!r}: expected SCHEME://HOST[:PORT]")
        try:
            scheme = Scheme(scheme_text.lower())
        except ValueError:
            known = ", ".join(s.value for s in Scheme)
            raise UsageError(f"{url!r}: unknown scheme {scheme_text!r} (one of {known})") from None
        rest = rest.rstrip("/")
        if rest.startswith("["):
            host, _, tail = rest[1:].partition("]")
            port_text = tail[1:] if tail.startswith(":") else ""
        elif rest.count(":") == 1:
            host, _, port_text = rest.partition(":")
        else:
            host, port_text = rest, ""
        if not host:
            raise UsageError(f"{url!r}: no host")
        if port_text and not port_text.isdigit():
            raise UsageError(f"{url!r}: bad port")
        port = int(port_text) if port_text else scheme.default_port
        if not 0 < port < 65536:
            raise UsageError(f"{url!r}: bad port")
        return cls(scheme, ascii_host(host), port)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    not_before: str  # ISO 8601, UTC
    not_after: str
    key_type: str
    key_bits: int | None
    signature_algorithm: str | None
    sha256_fingerprint: str


@dataclass(frozen=True)
class TlsSession:
    version: str
    cipher: str
    cipher_bits: int | None
    # Chain and name validated against the trust store and the name we connected to.
    certificate_valid: bool
    verify_error: str | None
    certificate: CertificateInfo | None


class ProbeStatus(StrEnum):
    COMPLETED = "completed"
    # Connected, but the server refused to talk to us now (421, 554 greeting, EHLO refused):
    # nothing can be concluded.
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class ProbeFailure:
    # dns, refused, unreachable, timeout, budget-exceeded, closed, protocol, tls, too-much-data...
    reason: str
    message: str
    # The step that failed: resolve, connect, greeting, capabilities, starttls, tls-handshake...
    step: str


@dataclass(frozen=True)
class Observation:
    """What one probe of one endpoint at one address saw."""

    url: str
    scheme: Scheme
    host: str
    address: str | None
    port: int
    status: ProbeStatus
    failure: ProbeFailure | None = None
    greeting: str | None = None
    # Capabilities: EHLO keywords with parameters ("AUTH PLAIN LOGIN"), CAPA lines or IMAP
    # capability atoms, before and after TLS.
    capabilities_before_tls: tuple[str, ...] = ()
    capabilities_after_tls: tuple[str, ...] = ()
    starttls_offered: bool | None = None
    # After TLS: did the server offer STARTTLS again (it must not, RFC 3207 §4.2)?
    starttls_offered_after_tls: bool | None = None
    tls: TlsSession | None = None
    # Login (AUTH mechanisms, POP3 USER, IMAP LOGIN without LOGINDISABLED) offered before TLS.
    login_offered_before_tls: bool | None = None
    auth_mechanisms_before_tls: tuple[str, ...] = ()
    auth_mechanisms_after_tls: tuple[str, ...] = ()
    transcript: tuple[TranscriptLine, ...] = ()
    elapsed_ms: int = 0

    @property
    def completed(self) -> bool:
        return self.status is ProbeStatus.COMPLETED

    @property
    def greeting_name(self) -> str | None:
        """The host name an SMTP server announces in its greeting (RFC 5321 §4.3.1: the first
        word after 220), when it looks like one."""
        if self.scheme.family != "smtp" or not self.greeting:
            return None
        words = self.greeting.split("\n")[0].split()
        if not words:
            return None
        name = words[0].rstrip(".")
        return name.lower() if HOSTNAME.match(name) and "." in name else None
