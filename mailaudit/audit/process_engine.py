"""The fleet's domain phase on more cores: domain units run in worker processes of our own
(`mailaudit.audit.domain_worker`), endpoint units, the join and the reports stay here.

A fleet audit is CPU-bound on one core (issue 11: ~15 ms per domain, most of it the domain
phase's DNS, discovery and policy work), so a 10,000-domain run took minutes on a machine with
cores to spare. Dask (`mailaudit.audit.dask_engine`) spreads the units too, but pays its
scheduler per task and its workers keep their own DNS caches and memos. Here the parent stays
the run's one authority for what must be once per run, and answers its workers' calls:
- "dns": a question outside a worker's own domains, asked through the run's one resolver;
- "claim"/"settle": the run memo (one verification per endpoint, one certificate chain per MX);
- "lease"/"release": the per-address connection slots, paced here for every process.

A worker that dies costs its domains in flight ("not audited", said in each), never the run;
the rest go to the others, or run here when none is left.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from mailaudit.audit.domain_worker import SHARED, TRIM_EVERY, pack_error
from mailaudit.audit.gather import EndpointWorker, gather_domain_safely, not_audited
from mailaudit.audit.units import DomainFacts, DomainUnit, EndpointFacts, EndpointUnit, UnitOptions
from mailaudit.context import Context
from mailaudit.net.frames import FrameError, Framing, read_frame, stream_of
from mailaudit.net.politeness import Politeness
from mailaudit.net.worker import forget, spawn
from mailaudit.net.worker_process import heap_trimmer
from mailaudit.settings import Limits

__all__ = ["ProcessEngine", "auto_domain_workers"]

# Below this many domains a worker's start (about half a second) is not won back.
AUTO_MIN_DOMAINS = 200


def auto_domain_workers(domains: int) -> int:
    """Domain workers for a fleet of `domains` when the user did not say: one per core beyond
    the one this process needs, at most 4, for fleets large enough to gain."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if domains < AUTO_MIN_DOMAINS or not cores or cores < 2:
        return 0
    return min(4, cores)


class AddressSlots:
    """The run's per-address connection limit and pace, for every process of the run: this
    process's own connections hold them through its politeness gate, its workers' by lease."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    async def acquire(self, address: str) -> None:
        slot = self._slots.get(address)
        if slot is None:
            slot = self._slots[address] = asyncio.Semaphore(self._limits.connections_per_address)
        await slot.acquire()
        rate = self._limits.connections_per_second_per_address
        if rate > 0:
            now = time.monotonic()
            start = max(now, self._next_start.get(address, now))
            self._next_start[address] = start + 1.0 / rate
            if start > now:
                await asyncio.sleep(start - now)

    def release(self, address: str) -> None:
        self._slots[address].release()

    @contextlib.asynccontextmanager
    async def hold(self, address: str) -> AsyncIterator[None]:
        await self.acquire(address)
        try:
            yield
        finally:
            self.release(address)


class SharedMemo:
    """The run memo's keys across processes: the first to claim a key does the work; the
    others wait for what it settles."""

    # A claim given up (its worker died, its task was cancelled): the next claimant runs it.
    _RETRY = object()

    def __init__(self) -> None:
        self._keys: dict[Hashable, asyncio.Future[object]] = {}
        self._owners: dict[Hashable, object] = {}
        # How often each key was handed out to be done (once, unless a claimant gave up).
        self.runs: collections.Counter[Hashable] = collections.Counter()

    async def claim(self, worker: object, key: Hashable) -> tuple[str, object]:
        while True:
            done = self._keys.get(key)
            if done is None:
                self._keys[key] = asyncio.get_running_loop().create_future()
                self._owners[key] = worker
                self.runs[key] += 1
                return "run", None
            outcome = await asyncio.shield(done)
            if outcome is not self._RETRY:
                return "done", outcome

    def settle(self, key: Hashable, ok: bool | None, value: object) -> None:
        done = self._keys.get(key)
        self._owners.pop(key, None)
        if done is None or done.done():
            return
        if ok is None:
            del self._keys[key]
            done.set_result(self._RETRY)
        else:
            done.set_result((ok, value))

    def drop(self, worker: object) -> None:
        for key in [k for k, w in self._owners.items() if w is worker]:
            self.settle(key, None, None)


@dataclass(eq=False)
class _Worker:
    number: int
    writer: asyncio.StreamWriter
    framing: Framing
    # None: the worker was lost with the unit in hand.
    pending: dict[int, tuple[DomainUnit, asyncio.Future[DomainFacts | None]]] = field(
        default_factory=dict
    )
    leases: dict[str, int] = field(default_factory=dict)
    alive: bool = True
    process: Any = None
    reader_task: asyncio.Task[None] | None = None
    calls: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, message: object) -> None:
        self.writer.write(self.framing.encode(message))


class ProcessEngine:
    """`Engine` (mailaudit.audit.runner) with domain units in `workers` processes. Use as an
    async context manager: the workers start on entry and are stopped on exit."""

    def __init__(self, ctx: Context, options: UnitOptions, *, workers: int) -> None:
        self._slots = AddressSlots(ctx.settings.limits)
        # This process paces through the shared slots like its workers.
        limits = replace(ctx.settings.limits, connections_per_second_per_address=0)
        self._ctx = ctx.with_politeness(Politeness(limits, gate=self._slots))
        self._endpoints = EndpointWorker(self._ctx, options)
        self._count = workers
        self._workers: list[_Worker] = []
        self.memo = SharedMemo()
        self._ids = itertools.count()
        # Three times the domains a worker runs at once are handed out: a worker's next domains
        # are already queued while this process is busy joining (bench/fleet.py, N=3,000,
        # --skip tls, 2 workers: 51.7 s with one times, 39.8 s with three).
        self._received = 0
        self._trim = heap_trimmer()
        self.lanes = 3 * max(1, ctx.settings.limits.domain_concurrency) * max(1, workers)
        # Counted for the benchmark and the tests.
        self.domains_sent = 0
        self.domains_lost = 0
        self.leases_granted = 0
        self.dns_answered = 0

    @property
    def context(self) -> Context:
        """This process's view of the run (its politeness shared with the workers)."""
        return self._ctx

    async def __aenter__(self) -> ProcessEngine:
        for number in range(self._count):
            process, conn = await asyncio.to_thread(spawn, "mailaudit.audit.domain_worker")
            reader, writer = await stream_of(conn)
            worker = _Worker(number, writer, Framing(SHARED), process=process)
            worker.send(("init", self._ctx.settings))
            worker.reader_task = asyncio.create_task(self._read(worker, reader))
            self._workers.append(worker)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self._workers:
            with contextlib.suppress(Exception):
                worker.send(("stop",))
                worker.writer.close()
        for worker in self._workers:
            if worker.reader_task is not None:
                worker.reader_task.cancel()
            for task in list(worker.calls):
                task.cancel()
            await asyncio.to_thread(_end, worker.process)

    async def domain(self, unit: DomainUnit) -> DomainFacts:
        # A worker lost with the unit in hand: the unit goes to another (or runs here) once
        # more; lost twice, it is "not audited" (a unit that kills every worker it meets).
        for _ in range(2):
            live = [w for w in self._workers if w.alive]
            if not live:
                return await gather_domain_safely(self._ctx, unit)
            worker = min(live, key=lambda w: len(w.pending))
            unit_id = next(self._ids)
            facts: asyncio.Future[DomainFacts | None] = asyncio.get_running_loop().create_future()
            worker.pending[unit_id] = (unit, facts)
            worker.send(("unit", unit_id, unit))
            self.domains_sent += 1
            got = await facts
            if got is not None:
                return got
            self.domains_lost += 1
        return not_audited(unit, RuntimeError("its domain worker was lost twice"))

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts:
        return await self._endpoints.run(unit)

    async def _read(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = cast(tuple[Any, ...], worker.framing.decode(await read_frame(reader)))
                if message[0] == "facts":
                    _, waiter = worker.pending.pop(message[1])
                    if not waiter.done():
                        waiter.set_result(message[2])
                    self._received += 1
                    if self._received % TRIM_EVERY == 0:
                        self._trim()
                elif message[0] == "call":
                    task = asyncio.create_task(self._answer(worker, *message[1:]))
                    worker.calls.add(task)
                    task.add_done_callback(worker.calls.discard)
                elif message[0] == "cast":
                    self._cast(worker, message[1], message[2])
        except (FrameError, ConnectionError, OSError):
            self._lost(worker)

    async def _answer(
        self, worker: _Worker, call_id: int, kind: str, args: tuple[Any, ...]
    ) -> None:
        try:
            value = await self._call(worker, kind, args)
        except Exception as exc:
            reply: tuple[object, ...] = ("reply", call_id, False, pack_error(exc))
        else:
            reply = ("reply", call_id, True, value)
        if worker.alive:
            worker.send(reply)

    async def _call(self, worker: _Worker, kind: str, args: tuple[Any, ...]) -> object:
        if kind == "dns":
            self.dns_answered += 1
            return await self._ctx.resolver.query_for_peer(*args)
        if kind == "claim":
            return await self.memo.claim(worker, args[0])
        if kind == "lease":
            (address,) = args
            await self._slots.acquire(address)
            if not worker.alive:
                self._slots.release(address)
            else:
                worker.leases[address] = worker.leases.get(address, 0) + 1
                self.leases_granted += 1
            return None
        raise ValueError(f"unknown call {kind!r}")

    def _cast(self, worker: _Worker, kind: str, args: tuple[Any, ...]) -> None:
        if kind == "release":
            (address,) = args
            if worker.leases.get(address, 0) > 0:
                worker.leases[address] -= 1
                self._slots.release(address)
        elif kind == "settle":
            self.memo.settle(*args)

    def _lost(self, worker: _Worker) -> None:
        """The worker is gone: its domains in flight go elsewhere, its leases and claims
        return."""
        worker.alive = False
        for _, waiter in worker.pending.values():
            if not waiter.done():
                waiter.set_result(None)
        worker.pending.clear()
        for address, held in worker.leases.items():
            for _ in range(held):
                self._slots.release(address)
        worker.leases.clear()
        self.memo.drop(worker)
        for task in list(worker.calls):
            task.cancel()


def _end(process: Any) -> None:
    try:
        process.wait(5.0)
    except Exception:
        process.kill()
        with contextlib.suppress(Exception):
            process.wait(5.0)
    forget(process)
