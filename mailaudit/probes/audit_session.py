"""Opening the audit's own connections: politeness slots, greeting, EHLO, optional STARTTLS.

Every connection the audit opens holds `ctx.global_slot()` and `ctx.endpoint_slot(address, port)`
for its whole life, so the default of one connection at a time per (address, port) holds for the
audit as for the probe. Callers must not hold either slot themselves.

Errors are translated into `SessionError` with an `Outcome`: a 421 or a refused greeting/EHLO is
INCONCLUSIVE (the server is throttling us), anything else FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mailaudit.context import Context
from mailaudit.model import Direction, Observation, Outcome, ServerReply, TranscriptLine
from mailaudit.net.clients import ImapClient, Pop3Client, SmtpClient
from mailaudit.net.connection import Connection
from mailaudit.net.errors import NetError
from mailaudit.protocols.session import Refusal, SessionState
from mailaudit.protocols.smtp import Ehlo, SmtpReply

# Saying goodbye is a courtesy; its answer tells nothing.
GOODBYE_S = 2.0


class SessionError(Exception):
    """A sub-test cannot go on: `outcome` is FAILED or INCONCLUSIVE, `reason` says why."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def reply_of(reply: SmtpReply) -> ServerReply:
    return ServerReply(reply.code, reply.text)


def check_throttled(reply: SmtpReply, what: str) -> None:
    """421 anywhere means "not now" (RFC 5321 §4.2.5): the sub-test is inconclusive."""
    if reply.code == 421:
        raise SessionError(Outcome.INCONCLUSIVE, f"{what} answered 421: {reply.text}")


@dataclass
class SmtpSession:
    client: SmtpClient
    ehlo: Ehlo  # the last EHLO answer (after STARTTLS when there was one)
    tls: bool

    @property
    def pipelining(self) -> bool:
        return self.ehlo.has("PIPELINING")


@contextlib.asynccontextmanager
async def open_connection(
    ctx: Context, obs: Observation, transcript: list[TranscriptLine]
) -> AsyncIterator[Connection]:
    """A connection to the observed endpoint (TLS already up for implicit-TLS schemes), inside
    the politeness slots; closed on exit. Certificates are not validated here: the probe did
    that, and the audit never sends credentials."""
    assert obs.address is not None
    timeouts = ctx.settings.timeouts
    async with ctx.global_slot(), ctx.endpoint_slot(obs.address, obs.port):
        try:
            conn = await Connection.open(
                obs.address,
                obs.port,
                connect_timeout_s=timeouts.connect_s,
                max_bytes=ctx.settings.limits.max_bytes_per_connection,
                tls_context=ctx.permissive_tls if obs.scheme.implicit_tls else None,
                server_name=obs.host,
                tls_timeout_s=timeouts.tls_handshake_s,
                verified=False,
                transcript=transcript,
            )
        except NetError as exc:
            raise SessionError(Outcome.FAILED, f"{exc.reason}: {exc}") from exc
        try:
            yield conn
        except NetError as exc:
            raise SessionError(Outcome.FAILED, f"{exc.reason}: {exc}") from exc
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def smtp_session(
    ctx: Context,
    obs: Observation,
    transcript: list[TranscriptLine],
    *,
    starttls: bool,
) -> AsyncIterator[SmtpSession]:
    """Greeting and EHLO (and STARTTLS plus a fresh EHLO when asked); QUIT on the way out."""
    async with open_connection(ctx, obs, transcript) as conn:
        client = SmtpClient(conn, ctx.settings.timeouts, ehlo_name=ctx.settings.ehlo_name)
        await smtp_open(client)
        if starttls:
            if not (client.session.capabilities and client.session.capabilities.starttls):
                raise SessionError(Outcome.FAILED, "STARTTLS is not offered on this connection")
            upgraded = await client.starttls(ctx.permissive_tls, obs.host, verified=False)
            if isinstance(upgraded, Refusal):
                outcome = Outcome.INCONCLUSIVE if upgraded.temporary else Outcome.FAILED
                raise SessionError(outcome, upgraded.text)
            await smtp_open(client)
        assert client.session.ehlo is not None
        session = SmtpSession(client, client.session.ehlo, tls=starttls or obs.scheme.implicit_tls)
        yield session
        await best_effort_command(client, "QUIT")


async def smtp_open(client: SmtpClient) -> None:
    """Greeting (unless already read) and EHLO. Any refusal there (421, a 5xx greeting, EHLO
    refused) means the server will not be tested now: INCONCLUSIVE."""
    if client.session.state is SessionState.GREETING:
        greeting = await client.greeting()
        if isinstance(greeting, Refusal):
            raise SessionError(Outcome.INCONCLUSIVE, greeting.text)
    caps = await client.capabilities()
    if isinstance(caps, Refusal):
        raise SessionError(Outcome.INCONCLUSIVE, caps.text)


async def best_effort_command(client: SmtpClient | Pop3Client | ImapClient, verb: str) -> None:
    with contextlib.suppress(NetError, TimeoutError):
        async with asyncio.timeout(GOODBYE_S):
            await client.command(verb)


def note(transcript: list[TranscriptLine], text: str) -> None:
    transcript.append(TranscriptLine(Direction.NOTE, text))


def tail(transcript: list[TranscriptLine], n: int = 6) -> tuple[TranscriptLine, ...]:
    """The last lines of a transcript: where a failed sub-test stopped."""
    return tuple(transcript[-n:])
