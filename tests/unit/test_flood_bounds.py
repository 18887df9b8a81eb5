"""Floods of short lines stay bounded in memory (issue 10 item 6): a transcript keeps a prefix
and says it was cut; an IMAP command keeps a bounded number of untagged responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mailaudit.model import Direction
from mailaudit.net.clients import MAX_UNTAGGED, ImapClient, SmtpClient
from mailaudit.net.connection import MAX_TRANSCRIPT_LINES, Connection
from mailaudit.settings import Timeouts

FAST = Timeouts(connect_s=1.0, reply_s=2.0, tls_handshake_s=1.0, endpoint_budget_s=5.0)
FLOOD_LINES = 5000


async def _imap_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK ready\r\n")
    line = await reader.readline()
    tag = line.split()[0]
    writer.write(b"* OK x\r\n" * FLOOD_LINES + tag + b" OK done\r\n")
    await writer.drain()
    await reader.read()
    writer.close()
    await writer.wait_closed()


async def _smtp_flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Many short replies, each a legal one-line reply: the reader's per-reply caps do not help.
    writer.write(b"220 ready\r\n")
    await reader.readline()
    writer.write(b"250 x\r\n" * FLOOD_LINES)
    await writer.drain()
    await reader.read()
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, int]]:
    imap = await asyncio.start_server(_imap_flood, "127.0.0.1", 0)
    smtp = await asyncio.start_server(_smtp_flood, "127.0.0.1", 0)
    yield {
        "imap": int(imap.sockets[0].getsockname()[1]),
        "smtp": int(smtp.sockets[0].getsockname()[1]),
    }
    imap.close()
    smtp.close()


async def test_imap_untagged_flood_keeps_a_bounded_number(servers: dict[str, int]) -> None:
    conn = await Connection.open(
        "127.0.0.1", servers["imap"], connect_timeout_s=1.0, max_bytes=1 << 20
    )
    client = ImapClient(conn, FAST)
    try:
        await client.response("greeting")
        done, untagged = await client.command("CAPABILITY")
    finally:
        await conn.close()

    assert done.kind == "tagged"
    assert len(untagged) == MAX_UNTAGGED
    server_lines = [t for t in conn.transcript if t.direction is Direction.SERVER]
    assert len(conn.transcript) <= MAX_TRANSCRIPT_LINES + 1
    assert len(server_lines) < MAX_TRANSCRIPT_LINES
    assert any("transcript cut" in t.text for t in conn.transcript if t.direction is Direction.NOTE)


async def test_smtp_reply_flood_keeps_a_transcript_prefix(servers: dict[str, int]) -> None:
    conn = await Connection.open(
        "127.0.0.1", servers["smtp"], connect_timeout_s=1.0, max_bytes=1 << 20
    )
    client = SmtpClient(conn, FAST, ehlo_name="x")
    try:
        await client.reply("greeting")
        await client.command("EHLO", "x")
        for _ in range(FLOOD_LINES - 1):
            await client.reply("more")
    finally:
        await conn.close()

    assert len(conn.transcript) == MAX_TRANSCRIPT_LINES + 1
    assert conn.transcript[-1].direction is Direction.NOTE
    # The prefix is what the server said first.
    assert conn.transcript[1].text.startswith("220 ready")
