"""One protocol session per family (SMTP, POP3, IMAP), sans I/O, h11-style.

A session knows where a conversation stands (`SessionState`) and turns complete replies from the
readers into typed events: `Greeting`, `Capabilities`, `GoAhead` (the server accepted STARTTLS),
`TlsEstablished` and `Refusal`. It builds the commands of these steps itself, so the STARTTLS
move exists once; the driver in `mailaudit.net.clients` moves the bytes, and everything that
upgrades a connection (the probe, the protocol audit, the certificate fetch, discovery's login)
goes through it. Calling a step out of order raises `SessionStateError`: a bug on our side, never
something a server can cause.

Refusals (issue 10 item 2): a negative answer to the greeting, the capability request or
STARTTLS is a `Refusal`, never "feature missing". It is `temporary` when the server says "not
now": SMTP 421 (RFC 5321 §4.2.5), the POP3 codes [SYS/TEMP], [IN-USE] and
[LOGIN-DELAY] (RFC 2449 §8, RFC 3206), the IMAP codes [UNAVAILABLE], [INUSE] and [LIMIT]
(RFC 5530), or "421" in the text (servers that copy their SMTP wording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from mailaudit.protocols.imap import (
    ImapResponse,
    ImapTagger,
    capabilities_from,
    imap_auth_mechanisms,
    imap_command,
    imap_login_disabled,
    imap_supports_starttls,
)
from mailaudit.protocols.pop3 import Pop3Response, parse_capa, pop3_command
from mailaudit.protocols.smtp import Ehlo, SmtpReply, parse_ehlo, smtp_command

R = TypeVar("R")

_TEMPORARY_CODES = frozenset({"SYS/TEMP", "IN-USE", "LOGIN-DELAY", "UNAVAILABLE", "INUSE", "LIMIT"})
_CODE = re.compile(r"\[([A-Za-z/-]+)")
_SMTP_421 = re.compile(r"(?<![0-9])421(?![0-9])")


class SessionState(StrEnum):
    GREETING = "greeting"  # waiting for the server's greeting
    CAPABILITIES = "capabilities"  # greeting accepted (or TLS just started): ask capabilities
    ASKED = "asked"  # capability request sent, answer pending
    READY = "ready"  # capabilities known: any command, STARTTLS or goodbye
    STARTTLS = "starttls"  # STARTTLS sent, answer pending
    HANDSHAKE = "handshake"  # the server said go ahead: the TLS handshake is due now
    REFUSED = "refused"  # the server will not talk to us now; nothing more to do


class SessionStateError(Exception):
    """A session step was called in the wrong state (our bug, like h11's LocalProtocolError)."""


@dataclass(frozen=True)
class Greeting:
    text: str


@dataclass(frozen=True)
class Capabilities:
    """What the server offers on this connection (before or after TLS)."""

    # EHLO keywords with parameters, CAPA lines or IMAP capability atoms (sorted).
    lines: tuple[str, ...]
    starttls: bool
    auth_mechanisms: tuple[str, ...]
    # Whether a password login is offered (AUTH, POP3 USER or SASL, IMAP LOGIN without
    # LOGINDISABLED, RFC 9051 §6.2.3).
    login_offered: bool
    over_tls: bool


@dataclass(frozen=True)
class GoAhead:
    """The server accepted STARTTLS/STLS: the TLS handshake must start now."""

    text: str


@dataclass(frozen=True)
class TlsEstablished:
    version: str
    cipher: str


@dataclass(frozen=True)
class Refusal:
    """A negative answer: `step` is greeting, capabilities or starttls; `text` says what the
    server answered (for the reader: "greeting 421: ...", "CAPA answered -ERR ...")."""

    step: str
    text: str
    temporary: bool


Event = Greeting | Capabilities | GoAhead | TlsEstablished | Refusal


def is_temporary_text(text: str) -> bool:
    """A POP3/IMAP refusal that says "not now" (see the module docstring)."""
    codes = {m.upper() for m in _CODE.findall(text)}
    return bool(codes & _TEMPORARY_CODES) or bool(_SMTP_421.search(text))


class _Session(Generic[R]):
    """The states and the STARTTLS move every family shares; subclasses read their replies."""

    family: str = ""
    starttls_verb: str = "STARTTLS"

    def __init__(self, *, over_tls: bool = False) -> None:
        self.state = SessionState.GREETING
        self.over_tls = over_tls
        self.capabilities: Capabilities | None = None

    def _expect(self, *states: SessionState) -> None:
        if self.state not in states:
            wanted = " or ".join(s.value for s in states)
            raise SessionStateError(f"{self.family}: in state {self.state.value}, not {wanted}")

    def _refuse(self, step: str, text: str, *, temporary: bool) -> Refusal:
        self.state = SessionState.REFUSED
        return Refusal(step, text, temporary)

    def _greeted(self, text: str) -> Greeting:
        self.state = SessionState.CAPABILITIES
        return Greeting(text)

    def _capable(self, caps: Capabilities) -> Capabilities:
        self.state = SessionState.READY
        self.capabilities = caps
        return caps

    def capabilities_command(self) -> bytes:
        self._expect(SessionState.CAPABILITIES, SessionState.READY)
        self.state = SessionState.ASKED
        return self._capabilities_command()

    def _capabilities_command(self) -> bytes:
        raise NotImplementedError

    def starttls_command(self) -> bytes:
        """The upgrade command. Only over a plaintext session whose capabilities offer it: a
        password must never follow an upgrade the server did not offer."""
        self._expect(SessionState.READY)
        if self.over_tls:
            raise SessionStateError(f"{self.family}: already over TLS")
        if self.capabilities is None or not self.capabilities.starttls:
            raise SessionStateError(
                f"{self.family}: the server does not offer {self.starttls_verb}"
            )
        self.state = SessionState.STARTTLS
        return self._starttls_command()

    def _starttls_command(self) -> bytes:
        raise NotImplementedError

    def tls_established(self, *, version: str, cipher: str) -> TlsEstablished:
        """The handshake succeeded. What the server said in the clear is void now (RFC 3207
        §4.2, RFC 2595 §4, RFC 9051 §6.2.1): capabilities must be asked again."""
        self._expect(SessionState.HANDSHAKE)
        self.state = SessionState.CAPABILITIES
        self.over_tls = True
        self.capabilities = None
        return TlsEstablished(version, cipher)


class SmtpSession(_Session[SmtpReply]):
    family = "smtp"

    def __init__(self, *, ehlo_name: str, over_tls: bool = False) -> None:
        super().__init__(over_tls=over_tls)
        self.ehlo_name = ehlo_name
        self.ehlo: Ehlo | None = None

    def receive_greeting(self, reply: SmtpReply) -> Greeting | Refusal:
        self._expect(SessionState.GREETING)
        if not reply.is_positive:
            text = f"greeting {reply.code}: {reply.text}"
            return self._refuse("greeting", text, temporary=_smtp_temp(reply))
        return self._greeted(reply.text)

    def _capabilities_command(self) -> bytes:
        return smtp_command("EHLO", self.ehlo_name)

    def receive_capabilities(self, reply: SmtpReply) -> Capabilities | Refusal:
        self._expect(SessionState.ASKED)
        if not reply.is_positive:
            text = f"EHLO refused: {reply.code} {reply.text}"
            return self._refuse("capabilities", text, temporary=_smtp_temp(reply))
        ehlo = parse_ehlo(reply)
        self.ehlo = ehlo
        # The first line is the server's name and greeting; the rest are extensions.
        return self._capable(
            Capabilities(
                lines=tuple(reply.lines[1:]),
                starttls=ehlo.supports_starttls,
                auth_mechanisms=ehlo.auth_mechanisms,
                login_offered=bool(ehlo.auth_mechanisms),
                over_tls=self.over_tls,
            )
        )

    def _starttls_command(self) -> bytes:
        return smtp_command("STARTTLS")

    def receive_starttls(self, reply: SmtpReply) -> GoAhead | Refusal:
        self._expect(SessionState.STARTTLS)
        if reply.code != 220:
            return self._refuse(
                "starttls",
                f"STARTTLS answered {reply.code} {reply.text}",
                temporary=_smtp_temp(reply),
            )
        self.state = SessionState.HANDSHAKE
        return GoAhead(reply.text)


def _smtp_temp(reply: SmtpReply) -> bool:
    # 421 alone means "not now" for the whole session (RFC 5321 §4.2.5, §3.8); other 4xx, such
    # as 454 to STARTTLS, are failures of that step worth reporting.
    return reply.code == 421


class Pop3Session(_Session[Pop3Response]):
    family = "pop3"
    starttls_verb = "STLS"

    def receive_greeting(self, response: Pop3Response) -> Greeting | Refusal:
        self._expect(SessionState.GREETING)
        if not response.ok:
            return self._refuse(
                "greeting",
                f"greeting -ERR {response.text}".rstrip(),
                temporary=is_temporary_text(response.text),
            )
        return self._greeted(response.text)

    def _capabilities_command(self) -> bytes:
        return pop3_command("CAPA")

    def receive_capabilities(self, response: Pop3Response) -> Capabilities | Refusal:
        """CAPA answered -ERR: a server too old for CAPA (RFC 2449) is as possible as a busy
        one, so nothing is known about STLS; it is a refusal, never "no STLS" (issue 10)."""
        self._expect(SessionState.ASKED)
        if not response.ok:
            return self._refuse(
                "capabilities",
                f"CAPA answered -ERR {response.text}".rstrip(),
                temporary=is_temporary_text(response.text),
            )
        caps = parse_capa(response)
        return self._capable(
            Capabilities(
                lines=response.lines,
                starttls=caps.supports_stls,
                auth_mechanisms=caps.sasl_mechanisms,
                login_offered=caps.supports_user or bool(caps.sasl_mechanisms),
                over_tls=self.over_tls,
            )
        )

    def _starttls_command(self) -> bytes:
        return pop3_command("STLS")

    def receive_starttls(self, response: Pop3Response) -> GoAhead | Refusal:
        self._expect(SessionState.STARTTLS)
        if not response.ok:
            return self._refuse(
                "starttls",
                f"STLS answered -ERR {response.text}".rstrip(),
                temporary=is_temporary_text(response.text),
            )
        self.state = SessionState.HANDSHAKE
        return GoAhead(response.text)


class ImapSession(_Session[ImapResponse]):
    """IMAP commands carry tags: the session owns the tagger, and `pending_tag` is the tag whose
    completion the driver must read up to."""

    family = "imap"

    def __init__(self, *, over_tls: bool = False) -> None:
        super().__init__(over_tls=over_tls)
        self.tagger = ImapTagger()
        self.pending_tag: str | None = None

    def command(self, name: str, *args: str) -> tuple[str, bytes]:
        """Any other tagged command: its tag and bytes."""
        tag = self.tagger.next()
        return tag, imap_command(tag, name, *args)

    def receive_greeting(self, response: ImapResponse) -> Greeting | Refusal:
        """OK or PREAUTH; capabilities sent with the greeting (RFC 9051 §7.1) count as asked."""
        self._expect(SessionState.GREETING)
        if response.kind != "untagged" or response.status not in ("OK", "PREAUTH"):
            # BYE at the greeting: the server is closing, typically overloaded (RFC 9051 §7.1.5).
            temporary = response.status == "BYE" or is_temporary_text(response.raw)
            return self._refuse("greeting", f"greeting: {response.raw}", temporary=temporary)
        greeting = self._greeted(response.raw)
        caps = capabilities_from(response)
        if caps is not None:
            self._capable(self._caps(caps))
        return greeting

    def _caps(self, caps: frozenset[str]) -> Capabilities:
        return Capabilities(
            lines=tuple(sorted(caps)),
            starttls=imap_supports_starttls(caps),
            auth_mechanisms=imap_auth_mechanisms(caps),
            login_offered=not imap_login_disabled(caps),
            over_tls=self.over_tls,
        )

    def _capabilities_command(self) -> bytes:
        tag, data = self.command("CAPABILITY")
        self.pending_tag = tag
        return data

    def receive_capabilities(
        self, done: ImapResponse, untagged: tuple[ImapResponse, ...] = ()
    ) -> Capabilities | Refusal:
        self._expect(SessionState.ASKED)
        if done.status != "OK":
            return self._refuse(
                "capabilities",
                f"CAPABILITY answered {done.raw}",
                temporary=is_temporary_text(done.raw),
            )
        for response in (*untagged, done):
            caps = capabilities_from(response)
            if caps is not None:
                return self._capable(self._caps(caps))
        return self._capable(self._caps(frozenset()))

    def _starttls_command(self) -> bytes:
        tag, data = self.command("STARTTLS")
        self.pending_tag = tag
        return data

    def receive_starttls(self, done: ImapResponse) -> GoAhead | Refusal:
        self._expect(SessionState.STARTTLS)
        if done.status != "OK":
            return self._refuse(
                "starttls", f"STARTTLS answered {done.raw}", temporary=is_temporary_text(done.raw)
            )
        self.state = SessionState.HANDSHAKE
        return GoAhead(done.text)
