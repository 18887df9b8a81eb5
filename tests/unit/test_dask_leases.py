"""A connection's lease of the cluster-wide per-address limit is never leaked: a wait given up
(the connection's budget ran out) hands back the lease its thread still gets."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

from mailaudit.audit.dask_engine import _AddressLeases


class HeldBack:
    """A `distributed.Semaphore` stand-in whose acquire() blocks until let go."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.held = 0
        self.released = threading.Event()

    def acquire(self) -> bool:
        self.go.wait(5)
        self.held += 1
        return True

    def release(self) -> bool:
        self.held -= 1
        self.released.set()
        return True


async def test_a_lease_granted_after_its_wait_was_given_up_is_handed_back() -> None:
    leases = _AddressLeases(cast(Any, None), "run", 1)
    sem = HeldBack()
    leases._semaphores["127.0.0.10"] = cast(Any, sem)
    try:
        # Given a connection waiting for its lease, given up before the scheduler grants it
        waiting = asyncio.create_task(leases.hold("127.0.0.10").__aenter__())
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)

        # When the lease comes after all
        sem.go.set()

        # Then it goes back at once: the address keeps its full limit
        assert await asyncio.to_thread(sem.released.wait, 5)
        assert sem.held == 0
    finally:
        leases.close()
