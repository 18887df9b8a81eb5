"""Thin per-protocol sessions over one `Connection`: send a command, read the reply with the
right sans-I/O reader, upgrade to TLS. They hold no judgement and no dialogue logic beyond one
command and its reply; probes and audits write their dialogues with them."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Generic, TypeVar

from mailaudit.model import TlsSession
from mailaudit.net.connection import Connection
from mailaudit.protocols.imap import ImapReader, ImapResponse, ImapTagger, imap_command
from mailaudit.protocols.pop3 import Pop3Reader, Pop3Response, pop3_command
from mailaudit.protocols.smtp import SmtpReply, SmtpReplyReader, smtp_command
from mailaudit.settings import Timeouts

R = TypeVar("R", SmtpReplyReader, Pop3Reader, ImapReader)

# Untagged IMAP responses kept per command; more are read and dropped.
MAX_UNTAGGED = 200


class _Client(Generic[R]):
    """What every session shares: the connection, the timeouts, and a reader that starts afresh
    after TLS (nothing read in the clear may be parsed as if it came over TLS)."""

    def __init__(self, conn: Connection, timeouts: Timeouts, new_reader: Callable[[], R]) -> None:
        self.conn = conn
        self.timeouts = timeouts
        self._new_reader: Callable[[], R] = new_reader
        self.reader: R = new_reader()

    async def start_tls(
        self, context: ssl.SSLContext, server_name: str | None, *, verified: bool
    ) -> TlsSession:
        session = await self.conn.start_tls(
            context,
            server_name=server_name,
            timeout_s=self.timeouts.tls_handshake_s,
            verified=verified,
            protocol_reader=self.reader,
        )
        self.reader = self._new_reader()
        return session


class SmtpClient(_Client[SmtpReplyReader]):
    def __init__(self, conn: Connection, timeouts: Timeouts) -> None:
        super().__init__(conn, timeouts, SmtpReplyReader)

    async def reply(self, what: str) -> SmtpReply:
        return await self.conn.receive(
            self.reader,
            self.reader.next_reply,
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=lambda r: r.raw_lines(),
        )

    async def command(
        self, verb: str, arg: str | None = None, *, shown_as: str | None = None
    ) -> SmtpReply:
        await self.conn.send(
            smtp_command(verb, arg), shown_as=shown_as, timeout_s=self.timeouts.reply_s
        )
        return await self.reply(verb)


class Pop3Client(_Client[Pop3Reader]):
    def __init__(self, conn: Connection, timeouts: Timeouts) -> None:
        super().__init__(conn, timeouts, Pop3Reader)

    async def response(self, what: str, *, multiline: bool = False) -> Pop3Response:
        reader = self.reader
        return await self.conn.receive(
            reader,
            lambda: reader.next_response(multiline=multiline),
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=lambda r: r.raw_lines(),
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


class ImapClient(_Client[ImapReader]):
    def __init__(self, conn: Connection, timeouts: Timeouts) -> None:
        super().__init__(conn, timeouts, ImapReader)
        self.tagger = ImapTagger()

    async def response(self, what: str) -> ImapResponse:
        return await self.conn.receive(
            self.reader,
            self.reader.next_response,
            timeout_s=self.timeouts.reply_s,
            what=what,
            show=lambda r: [r.raw],
        )

    async def command(
        self, command: str, *args: str
    ) -> tuple[ImapResponse, tuple[ImapResponse, ...]]:
        """Send a tagged command; return its tagged completion and the untagged responses that
        came before it."""
        tag = self.tagger.next()
        await self.conn.send(imap_command(tag, command, *args), timeout_s=self.timeouts.reply_s)
        untagged: list[ImapResponse] = []
        # A server may send any number of untagged responses first; the connection's byte
        # limit bounds this loop, and only the first MAX_UNTAGGED are kept (a flood of short
        # lines would otherwise be kept whole, issue 10 item 6).
        while True:
            response = await self.response(command)
            if response.kind == "tagged" and response.tag == tag:
                return response, tuple(untagged)
            if len(untagged) < MAX_UNTAGGED:
                untagged.append(response)
