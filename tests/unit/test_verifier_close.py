"""Closing discovery's verifier cancels the probes nobody waits for, and never swallows the
cancellation of whoever closes it (Ctrl-C must stop a fleet run: exit 130, not its end)."""

from __future__ import annotations

import asyncio

import pytest

from mailaudit.context import Context
from mailaudit.discovery.verify import Verifier
from mailaudit.model import Scheme
from mailaudit.settings import Settings


async def stubborn() -> None:
    """A probe that takes a moment to wind down once cancelled."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(0.2)
        raise


async def test_a_close_cancelled_meanwhile_is_still_cancelled() -> None:
    verifier = Verifier(Context.create(Settings(nameservers=("127.0.0.1",))))
    probe = asyncio.create_task(stubborn())
    verifier._tasks[(Scheme.IMAPS, "mail.isp.test", 993)] = probe  # type: ignore[assignment]
    await asyncio.sleep(0)

    closing = asyncio.create_task(verifier.close())
    await asyncio.sleep(0.05)  # close() now waits for the probe to wind down
    closing.cancel()

    with pytest.raises(asyncio.CancelledError):
        await closing
    assert probe.cancelled() or probe.done()
