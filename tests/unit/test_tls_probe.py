"""scan_tls: off the event loop, bounded by its deadline, failures as data (loopback only)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from mailaudit.context import Context
from mailaudit.model import ScanErrorReason, Scheme, TlsTarget
from mailaudit.probes.tls_scan import scan_tls, tls_deadline_s
from mailaudit.settings import Settings, Timeouts


@pytest.fixture
def ctx() -> Context:
    # A nameserver that is never asked: scan_tls does not resolve, targets carry addresses.
    return Context.create(
        Settings(
            nameservers=("127.0.0.1:9",),
            timeouts=Timeouts(connect_s=1.0, tls_handshake_s=1.0, endpoint_budget_s=3.0),
        )
    )


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_no_targets_no_scan(ctx: Context) -> None:
    assert await scan_tls(ctx, []) == []


# sslyze drops (does not close) its socket when a STARTTLS greeting times out.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_silent_server_is_data_within_the_deadline_and_the_loop_stays_free(
    ctx: Context, silent_port: int
) -> None:
    # Given a server that accepts and never greets, and a ticker on the event loop
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    # When scanned with a 2 s deadline
    scans = await scan_tls(
        ctx, [TlsTarget("mail.example.test", "127.0.0.1", silent_port, Scheme.SMTP)], deadline_s=2.0
    )
    elapsed = time.monotonic() - started
    task.cancel()
    # Then it comes back in time, not connected, with the reason; the loop kept running
    assert elapsed < 4.5
    (scan,) = scans
    assert not scan.connected
    assert scan.errors[0].reason in (
        ScanErrorReason.TIMEOUT,
        ScanErrorReason.DEADLINE,
    )
    assert ticks >= 10


def test_the_deadline_grows_with_the_endpoints(ctx: Context) -> None:
    assert tls_deadline_s(ctx, 1) == 6.0
    assert tls_deadline_s(ctx, 100) == 600.0
