"""Politeness towards the servers we audit: how many connections at once, overall, per address
and per (address, port), and how many new connections per second to one address. Every
connection the tool opens holds these slots (`Context.global_slot`, `Context.endpoint_slot`).

Per address as well as per port: an ISP's shared host answers on 25, 465, 587, 993 and 995 at
one address, and thousands of customer domains lead to it (issue 11)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Protocol, TypeVar, cast

from mailaudit.settings import Limits

T = TypeVar("T")


class AddressGate(Protocol):
    """A limit on connections at once to one address shared with other processes (a Dask
    cluster's workers), held around every connection on top of this process's own slots."""

    def hold(self, address: str) -> AbstractAsyncContextManager[None]: ...


class Politeness:
    """The run's connection limits; one per run, shared by every derived Context."""

    def __init__(
        self,
        limits: Limits,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        gate: AddressGate | None = None,
    ) -> None:
        self._limits = limits
        self._monotonic = monotonic
        self._gate = gate
        self._global = asyncio.Semaphore(limits.max_concurrency)
        self._per_address: dict[str, asyncio.Semaphore] = {}
        self._per_endpoint: dict[tuple[str, int], asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self.connections: dict[tuple[str, int], int] = {}

    def global_slot(self) -> asyncio.Semaphore:
        return self._global

    @asynccontextmanager
    async def endpoint(self, address: str, port: int) -> AsyncIterator[None]:
        """Hold a connection slot at (address, port): per address, per endpoint, and paced to
        `connections_per_second_per_address` new connections a second."""
        limits = self._limits
        per_address = self._per_address.get(address)
        if per_address is None:
            per_address = self._per_address[address] = asyncio.Semaphore(
                limits.connections_per_address
            )
        per_endpoint = self._per_endpoint.get((address, port))
        if per_endpoint is None:
            per_endpoint = self._per_endpoint[(address, port)] = asyncio.Semaphore(
                limits.connections_per_endpoint
            )
        async with per_address, per_endpoint, self._shared(address):
            await self._pace(address)
            key = (address, port)
            self.connections[key] = self.connections.get(key, 0) + 1
            yield

    def _shared(self, address: str) -> AbstractAsyncContextManager[None]:
        return self._gate.hold(address) if self._gate is not None else nullcontext()

    async def _pace(self, address: str) -> None:
        rate = self._limits.connections_per_second_per_address
        if rate <= 0:
            return
        now = self._monotonic()
        start = max(now, self._next_start.get(address, now))
        self._next_start[address] = start + 1.0 / rate
        if start > now:
            await asyncio.sleep(start - now)


class RunMemo:
    """Work done once per run and shared: a probe of an endpoint discovery and the audit both
    need, the certificate chain of an MX many domains name. Results and failures alike are kept
    (one connection per endpoint per run); concurrent askers wait for the one attempt."""

    def __init__(self) -> None:
        self._done: dict[Hashable, asyncio.Future[Any]] = {}

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        future = self._done.get(key)
        if future is None:
            future = asyncio.ensure_future(make())
            self._done[key] = future
            future.add_done_callback(self._forget_cancelled(key))
        # Shielded: a cancelled asker must not cancel the work another asker waits for.
        return cast(T, await asyncio.shield(future))

    def _forget_cancelled(self, key: Hashable) -> Callable[[asyncio.Future[Any]], None]:
        def forget(future: asyncio.Future[Any]) -> None:
            if future.cancelled() and self._done.get(key) is future:
                del self._done[key]
            elif not future.cancelled():
                future.exception()  # retrieved: a failure is kept as the answer, not logged

        return forget
