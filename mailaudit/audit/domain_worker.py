"""A domain worker: a process of its own that runs fleet domain units (the domain phase: DNS,
discovery, the DNS policy) for `mailaudit.audit.process_engine`, which started it.

What a run shares across its processes is asked of the parent, so that using more cores changes
none of the run's promises:
- DNS: a name outside the domains this worker has in flight (a shared MX host, its addresses,
  a PTR name) is asked of the parent's resolver, the run's one cache; a customer's own names
  (only its unit asks them) go on the wire from here. Answers are kept here too, for the TTL
  the parent had left.
- The run memo: work done once per run (verifying a shared endpoint, the certificate chain of
  an MX, an autoconfig URL) is claimed from the parent first; only the claimant does it, the
  others get its result. One connection per endpoint per run, whatever the number of workers.
- Politeness: every connection holds a lease of the parent's per-address slots, paced there.

Messages are pickled tuples (`mailaudit.net.frames`): from the parent ("init", settings),
("unit", id, DomainUnit), ("reply", call id, ok, value), ("stop",); to the parent ("facts", id,
DomainFacts), ("call", call id, kind, args) and ("cast", kind, args).
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from mailaudit.audit.gather import gather_domain_safely, not_audited
from mailaudit.audit.units import DomainUnit
from mailaudit.context import Context
from mailaudit.model import Observation
from mailaudit.net.frames import FrameError, Framing, read_frame, stream_of
from mailaudit.net.politeness import Politeness, RunMemo
from mailaudit.net.resolver import DnsAnswer
from mailaudit.net.worker_process import heap_trimmer
from mailaudit.settings import Settings

__all__ = ["pack_error", "serve", "unpack_error"]

T = TypeVar("T")

# Sent once per pipe and then by number: every domain that names a shared endpoint carries its
# one observation (the run memo's).
SHARED = (Observation,)
# Domains between two heap trims.
TRIM_EVERY = 256


def pack_error(exc: BaseException) -> BaseException:
    """`exc` as it can cross to the other process: itself when it survives a pickle round trip
    (our NetErrors do, their reason included), else a RuntimeError that names it."""
    try:
        return cast(BaseException, pickle.loads(pickle.dumps(exc)))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def unpack_error(value: object) -> BaseException:
    return value if isinstance(value, BaseException) else RuntimeError(repr(value))


class _ParentLink:
    """Calls to the parent, each answered by a ("reply", id, ok, value) message."""

    def __init__(self, writer: asyncio.StreamWriter, framing: Framing) -> None:
        self._writer = writer
        self._framing = framing
        self._next = 0
        self._waiting: dict[int, asyncio.Future[tuple[bool, object]]] = {}
        # A call given up before its reply, and what to do if that reply grants something.
        self._abandoned: dict[int, Callable[[], None]] = {}

    async def call(
        self, kind: str, *args: object, if_abandoned: Callable[[], None] | None = None
    ) -> Any:
        call_id = self._next
        self._next += 1
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = waiter
        self.send(("call", call_id, kind, args))
        try:
            ok, value = await waiter
        except asyncio.CancelledError:
            if if_abandoned is not None:
                self._abandoned[call_id] = if_abandoned
            raise
        finally:
            self._waiting.pop(call_id, None)
        if not ok:
            raise unpack_error(value)
        return value

    def cast(self, kind: str, *args: object) -> None:
        self.send(("cast", kind, args))

    def send(self, message: object) -> None:
        self._writer.write(self._framing.encode(message))

    def answered(self, call_id: int, ok: bool, value: object) -> None:
        waiter = self._waiting.get(call_id)
        if waiter is not None and not waiter.done():
            waiter.set_result((ok, value))
        elif (undo := self._abandoned.pop(call_id, None)) is not None and ok:
            undo()


class _InFlight:
    """The domains this worker is gathering: their own names are asked on the wire here."""

    def __init__(self) -> None:
        self._domains: dict[str, int] = {}

    def add(self, domain: str) -> None:
        self._domains[domain] = self._domains.get(domain, 0) + 1

    def discard(self, domain: str) -> None:
        left = self._domains.get(domain, 0) - 1
        if left > 0:
            self._domains[domain] = left
        else:
            self._domains.pop(domain, None)

    def owns(self, name: str) -> bool:
        labels = name.lower().rstrip(".").split(".")
        return any(".".join(labels[i:]) in self._domains for i in range(len(labels) - 1))


class _ParentResolver:
    """The `Upstream` of this worker's resolver (mailaudit.net.resolver)."""

    def __init__(self, link: _ParentLink, in_flight: _InFlight) -> None:
        self._link = link
        self._in_flight = in_flight

    def local(self, name: str) -> bool:
        return self._in_flight.owns(name)

    async def ask(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        answer, keep_s = await self._link.call("dns", name, rdtype)
        return cast(DnsAnswer, answer), float(keep_s)


class _Leases:
    """The `AddressGate` of this worker's politeness: a lease of the parent's slot for the
    address, held while connected."""

    def __init__(self, link: _ParentLink) -> None:
        self._link = link

    @contextlib.asynccontextmanager
    async def hold(self, address: str) -> AsyncIterator[None]:
        def give_back() -> None:
            self._link.cast("release", address)

        await self._link.call("lease", address, if_abandoned=give_back)
        try:
            yield
        finally:
            give_back()


class _SharedMemo(RunMemo):
    """The run memo, shared with the parent and the other workers: a key is claimed from the
    parent, and only its claimant does the work. A key about one of this worker's own domains
    (its autoconfig URL, a guessed host of its own) only that domain's unit asks for: it stays
    here, and the parent's table holds the fleet's shared work only."""

    def __init__(self, link: _ParentLink, in_flight: _InFlight) -> None:
        super().__init__()
        self._link = link
        self._in_flight = in_flight

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        if self._own(key):
            return await super().once(key, make)
        return await super().once(key, lambda: self._claimed(key, make))

    def _own(self, key: Hashable) -> bool:
        parts = key if isinstance(key, tuple) else (key,)
        for part in parts:
            if not isinstance(part, str) or "." not in part:
                continue
            host = urlsplit(part).hostname if "://" in part else part
            if host and self._in_flight.owns(host):
                return True
        return False

    async def _claimed(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        verdict, value = await self._link.call("claim", key)
        if verdict == "done":
            ok, result = value
            if not ok:
                raise unpack_error(result)
            return cast(T, result)
        try:
            result = await make()
        except asyncio.CancelledError:
            self._link.cast("settle", key, None, None)  # not done: the next asker does it
            raise
        except Exception as exc:
            self._link.cast("settle", key, False, pack_error(exc))
            raise
        self._link.cast("settle", key, True, result)
        return result


def serve(conn: Connection) -> None:
    """The worker's main (`mailaudit.net.worker.spawn`)."""
    # Ctrl-C reaches the whole process group: the parent decides, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    reader, writer = await stream_of(conn)
    framing = Framing(SHARED)
    kind, settings = cast(tuple[str, Settings], framing.decode(await read_frame(reader)))
    assert kind == "init"
    link = _ParentLink(writer, framing)
    in_flight = _InFlight()
    limits = settings.limits
    # This cache keeps the worker's own domains' answers (each asked by one unit, while it
    # runs) and copies of the shared ones (the parent's cache holds those for the run): room
    # for the domains running at once is enough.
    cache = min(limits.dns_cache_entries, 40 * max(1, limits.domain_concurrency))
    settings = replace(settings, limits=replace(limits, dns_cache_entries=cache))
    ctx = Context.create(
        settings,
        # Paced by the parent, which sees every process's connections.
        politeness=Politeness(
            replace(settings.limits, connections_per_second_per_address=0), gate=_Leases(link)
        ),
        memo=_SharedMemo(link, in_flight),
        dns_upstream=_ParentResolver(link, in_flight),
    )
    units: set[asyncio.Task[None]] = set()
    # The parent hands out more units than run at once (its lanes), so that the next ones are
    # here while it is busy; `domain_concurrency` run, as in one process. More at once would
    # stretch each domain's steps (discovery gives a source 1 s after another found settings).
    running = asyncio.Semaphore(max(1, settings.limits.domain_concurrency))
    # glibc keeps the heap a domain freed for reuse; handing it back now and then keeps the
    # worker near its working size (the whole process tree counts, issue 11).
    trim = heap_trimmer()
    finished = 0

    async def run(unit_id: int, unit: DomainUnit) -> None:
        async with running:
            in_flight.add(unit.domain)
            try:
                facts = await gather_domain_safely(ctx, unit)
            finally:
                in_flight.discard(unit.domain)
        try:
            link.send(("facts", unit_id, facts))
        except Exception as exc:  # facts that do not pickle: the domain says so
            link.send(("facts", unit_id, not_audited(unit, exc)))
        await writer.drain()
        nonlocal finished
        finished += 1
        if finished % TRIM_EVERY == 0:
            trim()

    try:
        while True:
            try:
                message = cast(tuple[Any, ...], framing.decode(await read_frame(reader)))
            except (FrameError, ConnectionError):
                break
            if message[0] == "unit":
                task = asyncio.create_task(run(message[1], message[2]))
                units.add(task)
                task.add_done_callback(units.discard)
            elif message[0] == "reply":
                link.answered(message[1], message[2], message[3])
            elif message[0] == "stop":
                break
    finally:
        for task in list(units):
            task.cancel()
        await ctx.aclose()
        writer.close()
