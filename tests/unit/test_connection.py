"""The connection driver against small hostile servers on loopback: behaviours no real
Postfix or Dovecot shows (dripping bytes, endless replies, data injected before TLS)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mailaudit.net.clients import SmtpClient
from mailaudit.net.connection import Connection, ProtocolViolation
from mailaudit.net.errors import ConnectError, PeerClosed, StepTimeout, TlsError, TooMuchData
from mailaudit.protocols.session import Capabilities, Refusal
from mailaudit.settings import Timeouts

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
FAST = Timeouts(connect_s=1.0, reply_s=0.5, tls_handshake_s=0.5, endpoint_budget_s=3.0)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def connect(port: int, max_bytes: int = 65536) -> SmtpClient:
    conn = await Connection.open("127.0.0.1", port, connect_timeout_s=1.0, max_bytes=max_bytes)
    return SmtpClient(conn, FAST, ehlo_name="client.test")


async def ehlo_with_starttls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 hi\r\n")
    await reader.readline()  # EHLO
    writer.write(b"250-x.test\r\n250 STARTTLS\r\n")
    await writer.drain()


async def test_refuses_starttls_when_bytes_were_injected_before_the_handshake(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    # Given a server that answers STARTTLS and pipelines a forged reply in the same packet
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await ehlo_with_starttls(reader, writer)
        await reader.readline()
        writer.write(b"220 go ahead\r\n250-forged\r\n250 AUTH PLAIN\r\n")
        await writer.drain()
        await asyncio.sleep(2)

    client = await connect(await serve(handler))
    assert isinstance(await client.open(), Capabilities)

    # When we upgrade with the session's one STARTTLS move
    # Then the upgrade is refused: the forged bytes would otherwise be read as protected
    with pytest.raises(TlsError) as caught:
        await client.starttls(ssl.create_default_context(), "x.test", verified=True)
    assert caught.value.reason == "buffered-data"
    await client.conn.close()


async def test_a_dripping_server_cannot_stretch_a_reply_past_its_deadline(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"220 slowly but surely and forever":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)

    client = await connect(await serve(handler))

    with pytest.raises(StepTimeout):
        await client.reply("greeting")
    await client.conn.close()


async def test_an_endless_reply_is_cut_by_the_reader_or_the_byte_limit(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(b"220-more\r\n" * 100)
            await writer.drain()

    client = await connect(await serve(handler), max_bytes=20_000)

    with pytest.raises((ProtocolViolation, TooMuchData)):
        await client.reply("greeting")
    await client.conn.close()


async def test_a_server_that_hangs_up_is_peer_closed(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    client = await connect(await serve(handler))

    with pytest.raises(PeerClosed):
        await client.reply("greeting")
    await client.conn.close()


async def test_a_silent_tls_handshake_has_its_own_deadline(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    # swaks --timeout 4 waits forever here: "220 go ahead", then nothing during the handshake.
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await ehlo_with_starttls(reader, writer)
        await reader.readline()
        writer.write(b"220 go ahead\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    client = await connect(await serve(handler))
    await client.open()

    with pytest.raises(TlsError) as caught:
        await client.starttls(ssl.create_default_context(), "x.test", verified=True)
    assert caught.value.reason == "timeout"
    await client.conn.close()


async def test_connection_refused_is_translated() -> None:
    # Port 9 on 127.0.0.1 is not listening on a test machine; if it were, this test would say so.
    with pytest.raises(ConnectError) as caught:
        await Connection.open("127.0.0.1", 9, connect_timeout_s=1.0, max_bytes=1024)
    assert caught.value.reason == "refused"


async def test_transcript_records_both_directions(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hello there\r\n")
        await reader.readline()
        writer.write(b"250-me\r\n250 SIZE 100\r\n")
        await writer.drain()
        await reader.readline()

    client = await connect(await serve(handler))
    await client.reply("greeting")
    await client.command("EHLO", "probe.test")

    rendered = [line.render() for line in client.conn.transcript]
    assert "S: 220 hello there" in rendered
    assert "C: EHLO probe.test" in rendered
    assert "S: 250 SIZE 100" in rendered
    await client.conn.close()


async def test_session_steps_are_typed_events_in_the_transcript(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    # Given a server that greets, lists its extensions and then refuses STARTTLS with 421
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await ehlo_with_starttls(reader, writer)
        await reader.readline()
        writer.write(b"421 4.3.2 shutting down\r\n")
        await writer.drain()
        await reader.readline()

    client = await connect(await serve(handler))

    # When the session opens and tries to upgrade
    await client.open()
    refusal = await client.starttls(ssl.create_default_context(), "x.test", verified=True)

    # Then the refusal is a temporary one, and each line carries the event it belongs to
    assert refusal == Refusal("starttls", "STARTTLS answered 421 4.3.2 shutting down", True)
    events = [
        (line.direction.value, line.event.value, line.text) for line in client.conn.transcript
    ]
    assert events[1:] == [
        ("S", "greeting", "220 hi"),
        ("C", "capabilities", "EHLO client.test"),
        ("S", "capabilities", "250-x.test"),
        ("S", "capabilities", "250 STARTTLS"),
        ("C", "starttls", "STARTTLS"),
        ("S", "refusal", "421 4.3.2 shutting down"),
    ]
    assert events[0][1] == "connect"
    await client.conn.close()
