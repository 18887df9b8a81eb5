"""The drivers of the protocol sessions: one per family, over one `Connection`.

`mailaudit.protocols.session` decides (states, commands, typed events); these classes only move
bytes: send what the session built, read the reply with the family's sans-I/O reader, hand it to
the session and record it in the transcript under its typed event. `starttls()` is written once
here and is the only way a dialogue upgrades a connection; `handshake()` is the raw half of it,
for the one test that must write the STARTTLS bytes itself (command injection).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Generic, TypeVar

from mailaudit.model import Direction, TlsSession, TranscriptEvent
from mailaudit.net.connection import Connection
from mailaudit.protocols.imap import ImapReader, ImapResponse
from mailaudit.protocols.pop3 import Pop3Reader, Pop3Response, pop3_command
from mailaudit.protocols.session import (
    Capabilities,
    GoAhead,
    Greeting,
    ImapSession,
    Pop3Session,
    Refusal,
    SessionState,
    SessionStateError,
    SmtpSession,
)
from mailaudit.protocols.smtp import SmtpReply, SmtpReplyReader, smtp_command
from mailaudit.settings import Timeouts

R = TypeVar("R", SmtpReplyReader, Pop3Reader, ImapReader)
S = TypeVar("S", SmtpSession, Pop3Session, ImapSession)

_Event = TranscriptEvent

# Untagged IMAP responses kept per command; more are read and dropped.
MAX_UNTAGGED = 200


def _typed(event: object, default: TranscriptEvent) -> TranscriptEvent:
    return TranscriptEvent.REFUSAL if isinstance(event, Refusal) else default


class _Client(Generic[R, S]):
    """What every driver shares: the connection, the timeouts, the session, and a reader that
    starts afresh after TLS (nothing read in the clear may be parsed as if it came over TLS)."""

    def __init__(
        self, conn: Connection, timeouts: Timeouts, new_reader: Callable[[], R], session: S
    ) -> None:
        self.conn = conn
        self.timeouts = timeouts
        self._new_reader: Callable[[], R] = new_reader
        self.reader: R = new_reader()
        self.session: S = session

    async def greeting(self) -> Greeting | Refusal:
        raise NotImplementedError

    async def capabilities(self) -> Capabilities | Refusal:
        raise NotImplementedError

    async def _starttls_answer(self, command: bytes) -> GoAhead | Refusal:
        raise NotImplementedError

    async def open(self) -> Capabilities | Refusal:
        """Greeting, then the capabilities (unless the greeting carried them)."""
        greeting = await self.greeting()
        if isinstance(greeting, Refusal):
            return greeting
        if self.session.state is SessionState.READY and self.session.capabilities is not None:
            return self.session.capabilities
        return await self.capabilities()

    async def starttls(
        self, context: ssl.SSLContext, server_name: str | None, *, verified: bool
    ) -> TlsSession | Refusal:
        """The one STARTTLS move: the command, the server's go-ahead, then the handshake (which
        refuses to start while unread bytes are buffered). Capabilities are void afterwards;
        call `capabilities()` again to learn what the server offers over TLS."""
        answer = await self._starttls_answer(self.session.starttls_command())
        if isinstance(answer, Refusal):
            return answer
        return await self.handshake(context, server_name, verified=verified)

    async def handshake(
        self, context: ssl.SSLContext, server_name: str | None, *, verified: bool
    ) -> TlsSession:
        """The TLS handshake, now: the session must have received the server's go-ahead."""
        if self.session.state is not SessionState.HANDSHAKE:
            # Checked before a byte of the handshake leaves: our bug, not the server's.
            raise SessionStateError(f"handshake in state {self.session.state.value}")
        tls = await self.conn.start_tls(
            context,
            server_name=server_name,
            timeout_s=self.timeouts.tls_handshake_s,
            verified=verified,
            protocol_reader=self.reader,
        )
        self.reader = self._new_reader()
        self.session.tls_established(version=tls.version, cipher=tls.cipher)
        return tls


class SmtpClient(_Client[SmtpReplyReader, SmtpSession]):
    def __init__(self, conn: Connection, timeouts: Timeouts, *, ehlo_name: str) -> None:
        session = SmtpSession(ehlo_name=ehlo_name, over_tls=conn.tls is not None)
        super().__init__(conn, timeouts, SmtpReplyReader, session)

    async def reply(self, what: str, *, event: TranscriptEvent | None = None) -> SmtpReply:
        """The next reply; `event` given: recorded by the caller's session step instead."""
        return await self.conn.receive(
            self.reader,
            self.reader.next_reply,
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=(lambda r: r.raw_lines()) if event is None else (lambda r: []),
        )

    async def command(
        self, verb: str, arg: str | None = None, *, shown_as: str | None = None
    ) -> SmtpReply:
        await self.conn.send(
            smtp_command(verb, arg), shown_as=shown_as, timeout_s=self.timeouts.reply_s
        )
        return await self.reply(verb)

    async def _step(self, data: bytes, what: str, event: TranscriptEvent) -> SmtpReply:
        await self.conn.send(data, timeout_s=self.timeouts.reply_s, event=event)
        return await self.reply(what, event=event)

    def _record(self, reply: SmtpReply, event: TranscriptEvent) -> None:
        self.conn.record(Direction.SERVER, reply.raw_lines(), event=event)

    async def greeting(self) -> Greeting | Refusal:
        reply = await self.reply("greeting", event=_Event.GREETING)
        result = self.session.receive_greeting(reply)
        self._record(reply, _typed(result, _Event.GREETING))
        return result

    async def capabilities(self) -> Capabilities | Refusal:
        reply = await self._step(self.session.capabilities_command(), "EHLO", _Event.CAPABILITIES)
        result = self.session.receive_capabilities(reply)
        self._record(reply, _typed(result, _Event.CAPABILITIES))
        return result

    async def _starttls_answer(self, command: bytes) -> GoAhead | Refusal:
        reply = await self._step(command, "STARTTLS", _Event.STARTTLS)
        return self.receive_starttls(reply)

    def receive_starttls(self, reply: SmtpReply) -> GoAhead | Refusal:
        """The answer to a STARTTLS the caller sent itself (the injection test)."""
        result = self.session.receive_starttls(reply)
        self._record(reply, _typed(result, _Event.STARTTLS))
        return result


class Pop3Client(_Client[Pop3Reader, Pop3Session]):
    def __init__(self, conn: Connection, timeouts: Timeouts) -> None:
        super().__init__(conn, timeouts, Pop3Reader, Pop3Session(over_tls=conn.tls is not None))

    async def response(
        self, what: str, *, multiline: bool = False, event: TranscriptEvent | None = None
    ) -> Pop3Response:
        reader = self.reader
        return await self.conn.receive(
            reader,
            lambda: reader.next_response(multiline=multiline),
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=(lambda r: r.raw_lines()) if event is None else (lambda r: []),
        )

    async def command(
        self,
        verb: str,
        arg: str | None = None,
        *,
        multiline: bool = False,
        shown_as: str | None = None,
    ) -> Pop3Response:
        await self.conn.send(
            pop3_command(verb, arg), shown_as=shown_as, timeout_s=self.timeouts.reply_s
        )
        return await self.response(verb, multiline=multiline)

    def _record(self, response: Pop3Response, event: TranscriptEvent) -> None:
        self.conn.record(Direction.SERVER, response.raw_lines(), event=event)

    async def greeting(self) -> Greeting | Refusal:
        response = await self.response("greeting", event=_Event.GREETING)
        result = self.session.receive_greeting(response)
        self._record(response, _typed(result, _Event.GREETING))
        return result

    async def capabilities(self) -> Capabilities | Refusal:
        command = self.session.capabilities_command()
        await self.conn.send(command, timeout_s=self.timeouts.reply_s, event=_Event.CAPABILITIES)
        response = await self.response("CAPA", multiline=True, event=_Event.CAPABILITIES)
        result = self.session.receive_capabilities(response)
        self._record(response, _typed(result, _Event.CAPABILITIES))
        return result

    async def _starttls_answer(self, command: bytes) -> GoAhead | Refusal:
        await self.conn.send(command, timeout_s=self.timeouts.reply_s, event=_Event.STARTTLS)
        return self.receive_starttls(await self.response("STLS", event=_Event.STARTTLS))

    def receive_starttls(self, response: Pop3Response) -> GoAhead | Refusal:
        result = self.session.receive_starttls(response)
        self._record(response, _typed(result, _Event.STARTTLS))
        return result


class ImapClient(_Client[ImapReader, ImapSession]):
    def __init__(self, conn: Connection, timeouts: Timeouts) -> None:
        super().__init__(conn, timeouts, ImapReader, ImapSession(over_tls=conn.tls is not None))

    async def response(self, what: str, *, event: TranscriptEvent | None = None) -> ImapResponse:
        return await self.conn.receive(
            self.reader,
            self.reader.next_response,
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=(lambda r: [r.raw]) if event is None else (lambda r: []),
        )

    async def until_tagged(
        self, tag: str, what: str, *, event: TranscriptEvent | None = None
    ) -> tuple[ImapResponse, tuple[ImapResponse, ...]]:
        """Read up to the tagged completion of `tag`: it and the untagged responses before it.
        A server may send any number of those; the connection's byte limit bounds the loop."""
        untagged: list[ImapResponse] = []
        # Only the first MAX_UNTAGGED are kept (a flood of short lines would otherwise be kept
        # whole, issue 10 item 6).
        while True:
            response = await self.response(what, event=event)
            if response.kind == "tagged" and response.tag == tag:
                return response, tuple(untagged)
            if len(untagged) < MAX_UNTAGGED:
                untagged.append(response)

    async def command(
        self, command: str, *args: str, shown_as: str | None = None
    ) -> tuple[ImapResponse, tuple[ImapResponse, ...]]:
        """Send a tagged command; return its tagged completion and the untagged responses that
        came before it. `shown_as` replaces the arguments in the transcript (a password)."""
        tag, data = self.session.command(command, *args)
        shown = f"{tag} {shown_as}" if shown_as is not None else None
        await self.conn.send(data, shown_as=shown, timeout_s=self.timeouts.reply_s)
        return await self.until_tagged(tag, command)

    def _record(self, responses: tuple[ImapResponse, ...], event: TranscriptEvent) -> None:
        self.conn.record(Direction.SERVER, [r.raw for r in responses], event=event)

    async def greeting(self) -> Greeting | Refusal:
        response = await self.response("greeting", event=_Event.GREETING)
        result = self.session.receive_greeting(response)
        self._record((response,), _typed(result, _Event.GREETING))
        return result

    async def capabilities(self) -> Capabilities | Refusal:
        command = self.session.capabilities_command()
        await self.conn.send(command, timeout_s=self.timeouts.reply_s, event=_Event.CAPABILITIES)
        tag = self.session.pending_tag or ""
        done, untagged = await self.until_tagged(tag, "CAPABILITY", event=_Event.CAPABILITIES)
        result = self.session.receive_capabilities(done, untagged)
        self._record((*untagged, done), _typed(result, _Event.CAPABILITIES))
        return result

    async def _starttls_answer(self, command: bytes) -> GoAhead | Refusal:
        await self.conn.send(command, timeout_s=self.timeouts.reply_s, event=_Event.STARTTLS)
        tag = self.session.pending_tag or ""
        done, untagged = await self.until_tagged(tag, "STARTTLS", event=_Event.STARTTLS)
        self._record(untagged, _Event.STARTTLS)
        return self.receive_starttls(done)

    def receive_starttls(self, done: ImapResponse) -> GoAhead | Refusal:
        result = self.session.receive_starttls(done)
        self._record((done,), _typed(result, _Event.STARTTLS))
        return result
