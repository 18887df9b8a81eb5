"""The facts a protocol audit gathers about one endpoint at one address, as data.

Every sub-test ends in an `Outcome` with a reason and the transcript lines that matter; nothing
here judges. `mailaudit.checks.protocol` turns these facts into findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mailaudit.model.findings import TranscriptLine

__all__ = [
    "AttemptKind",
    "AuthProbe",
    "CommandPair",
    "EnumerationProbe",
    "InjectionProbe",
    "NameFacts",
    "Outcome",
    "ProtocolAudit",
    "RcptAttempt",
    "RcptTest",
    "ServerReply",
]


class Outcome(StrEnum):
    DONE = "done"
    # The sub-test does not apply to this endpoint (VRFY on IMAP, STARTTLS pass on port 465...).
    NOT_APPLICABLE = "not_applicable"
    # It could not run to the end: connection refused, timeout, TLS failure... (see `reason`).
    FAILED = "failed"
    # It ran, but the server's answers allow no verdict: 421, rate limiting, only 4xx refusals.
    INCONCLUSIVE = "inconclusive"


class AttemptKind(StrEnum):
    # A recipient in a foreign domain, plainly or disguised (%-hack, source route, bang path...).
    RELAY = "relay"
    # An obviously invalid recipient in the target's own domain: a server that accepts it
    # accepts everything at RCPT time and decides (bounces) later.
    CONTROL = "control"
    # A plausible local recipient (postmaster@own-domain): the submission check.
    LOCAL = "local"


@dataclass(frozen=True)
class ServerReply:
    """One SMTP reply, reduced to what judgement needs."""

    code: int
    text: str

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500


@dataclass(frozen=True)
class RcptAttempt:
    """One MAIL FROM / RCPT TO pair and what the server answered (None: not sent)."""

    variant: str
    kind: AttemptKind
    mail_from: str
    rcpt_to: str
    over_tls: bool
    mail_reply: ServerReply | None = None
    rcpt_reply: ServerReply | None = None
    evidence: tuple[TranscriptLine, ...] = ()

    @property
    def accepted(self) -> bool:
        return bool(
            self.mail_reply
            and self.mail_reply.is_positive
            and self.rcpt_reply
            and self.rcpt_reply.is_positive
        )

    @property
    def refusal(self) -> ServerReply | None:
        """The reply that refused the pair (MAIL's if MAIL was refused), None if accepted or
        not sent."""
        if self.mail_reply and not self.mail_reply.is_positive:
            return self.mail_reply
        if self.rcpt_reply and not self.rcpt_reply.is_positive:
            return self.rcpt_reply
        return None


@dataclass(frozen=True)
class RcptTest:
    """A series of MAIL/RCPT attempts over one or more connections (never DATA)."""

    outcome: Outcome
    reason: str | None = None
    evidence: tuple[TranscriptLine, ...] = ()
    over_tls: bool = False
    attempts: tuple[RcptAttempt, ...] = ()
    connections: int = 0
    elapsed_ms: int = 0


@dataclass(frozen=True)
class AuthProbe:
    """Login attempted before TLS without credentials: did the server invite us to go on?"""

    outcome: Outcome
    reason: str | None = None
    evidence: tuple[TranscriptLine, ...] = ()
    command: str | None = None  # "AUTH LOGIN", "USER probe", "AUTHENTICATE PLAIN"
    # The server answered 334 / +OK / "+" continuation: it would take credentials in the clear.
    invited: bool | None = None
    # The response code of a refusal: IMAP "PRIVACYREQUIRED" (RFC 5530), POP3 "AUTH" (RFC 3206).
    refusal_code: str | None = None


@dataclass(frozen=True)
class InjectionProbe:
    """STARTTLS plus a harmless command in one packet (CVE-2011-0411 class)."""

    outcome: Outcome
    reason: str | None = None
    evidence: tuple[TranscriptLine, ...] = ()
    injected: str | None = None
    # The server answered the injected command after the handshake, as if sent over TLS.
    answered_after_tls: bool | None = None
    # The server answered it in the clear before the handshake (the TLS session is then unusable).
    answered_before_tls: bool | None = None
    # STARTTLS itself was refused once a command was pipelined after it (a safe reaction).
    starttls_refused: bool | None = None
    # The handshake failed after the injection although the probe's own STARTTLS worked: the
    # server read the injected bytes as TLS data (Dovecot does), so they were never executed.
    handshake_failed: bool | None = None


@dataclass(frozen=True)
class CommandPair:
    """A command asked for a name that surely exists and for one that surely does not."""

    known_command: str
    known_reply: ServerReply | None
    unknown_command: str
    unknown_reply: ServerReply | None


@dataclass(frozen=True)
class EnumerationProbe:
    """VRFY or EXPN (RFC 5321 §3.5)."""

    outcome: Outcome
    reason: str | None = None
    evidence: tuple[TranscriptLine, ...] = ()
    command: str = "VRFY"
    pairs: tuple[CommandPair, ...] = ()


@dataclass(frozen=True)
class NameFacts:
    """Reverse and forward DNS of the address, for comparing with the greeting and certificate."""

    outcome: Outcome
    reason: str | None = None
    evidence: tuple[TranscriptLine, ...] = ()
    ptr_names: tuple[str, ...] = ()
    # PTR name -> its A/AAAA addresses (empty when it does not resolve).
    forward: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProtocolAudit:
    """Everything the protocol audit learnt about one endpoint at one address."""

    url: str
    address: str | None
    relay_test_domain: str
    own_domain: str | None
    relay: RcptTest
    relay_over_tls: RcptTest
    submission: RcptTest
    auth_before_tls: AuthProbe
    starttls_injection: InjectionProbe
    vrfy: EnumerationProbe
    expn: EnumerationProbe
    names: NameFacts
    elapsed_ms: int = 0
