"""Fleet audits on a Dask cluster (issue 12): the local engine's plan, run on workers.

The client plans and joins exactly as the local engine does (`run_fleet` with a `DaskEngine`);
only the units travel. `DomainUnit`s go to any worker in batches (one task runs a few dozen
domains at once on the worker's loop: the scheduler's cost per task is then paid once per batch)
and come back as a list of `DomainFacts`; each unique (address, port) becomes one `EndpointUnit`,
submitted once under a key of its own, and comes back as `EndpointFacts`. Payloads are those
frozen dataclasses, never sockets or contexts, and never a secret (an audit has none: `--login`
belongs to `discover`).

On a worker, a plugin keeps one asyncio loop in a thread and the run's `Context` on it (its DNS
cache, TLS contexts and politeness slots shared by every unit that worker runs); task functions
are plain functions that hand a coroutine to that loop.

Politeness holds for the cluster, not per worker: every connection to an address also holds a
lease of a `distributed.Semaphore` named after the address (`connections_per_address` leases),
and each worker paces new connections at its share of `connections_per_second_per_address`.

A worker lost mid-run: Dask runs its tasks (a whole batch) again elsewhere (the client still
holds their futures); the client joins each domain once, so none is lost and none reported twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar, cast

import dask
from distributed import Client, LocalCluster, Semaphore, Worker, WorkerPlugin, get_worker

from mailaudit.audit.gather import EndpointWorker
from mailaudit.audit.runner import (
    FleetRun,
    FleetSink,
    gather_domain_safely,
    not_audited,
    run_fleet,
)
from mailaudit.audit.units import DomainFacts, DomainUnit, EndpointFacts, EndpointUnit, UnitOptions
from mailaudit.context import Context
from mailaudit.net.politeness import Politeness
from mailaudit.settings import Settings

__all__ = [
    "DaskEngine",
    "DaskTarget",
    "MailauditRun",
    "UnitCosts",
    "parse_dask_target",
    "run_fleet_on_dask",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DaskTarget:
    """`local:N` (a LocalCluster of N worker processes) or a scheduler address."""

    local_workers: int | None = None
    scheduler: str | None = None


def parse_dask_target(spec: str) -> DaskTarget:
    """`local:N` or `tcp://HOST:PORT` (any address scheme Dask accepts: tls://, ucx://...)."""
    if spec.startswith("local:"):
        count = spec.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 256:
            raise ValueError(f"--dask {spec!r}: local:N needs N from 1 to 256")
        return DaskTarget(local_workers=int(count))
    if "://" not in spec:
        raise ValueError(
            f"--dask {spec!r}: expected local:N or a scheduler address (tcp://HOST:PORT)"
        )
    return DaskTarget(scheduler=spec)


# ------------------------------------------------------------------------------ on the workers


# A lease refused this often means the scheduler is gone: fail the unit (Dask retries it).
_LEASE_TRIES = 20


class _AddressLeases:
    """The cluster-wide limit per address: one `distributed.Semaphore` per address, acquired in
    a thread of our own (its blocking calls run on the worker's loop, not on ours)."""

    def __init__(self, worker: Worker, run_id: str, leases: int) -> None:
        self._worker = worker
        self._run_id = run_id
        self._leases = leases
        self._semaphores: dict[str, Semaphore] = {}
        self._lock = threading.Lock()
        # Threads waiting for a lease block: a pool of their own keeps them off the loop's
        # default executor (sslyze uses that one), and releases get another, so that a release
        # never queues behind acquires that wait for it.
        self._acquiring = ThreadPoolExecutor(max_workers=64, thread_name_prefix="mailaudit-lease")
        self._releasing = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mailaudit-release")
        # Counted for the benchmark: each lease is a round trip to the scheduler.
        self.granted = 0
        self.waited_s = 0.0

    def _semaphore(self, address: str) -> Semaphore:
        with self._lock:
            sem = self._semaphores.get(address)
            if sem is None:
                sem = self._semaphores[address] = Semaphore(
                    max_leases=self._leases,
                    name=f"mailaudit-{self._run_id}-{address}",
                    scheduler_rpc=self._worker.scheduler,
                    loop=self._worker.loop,
                )
            return sem

    @contextlib.asynccontextmanager
    async def hold(self, address: str) -> AsyncIterator[None]:
        sem = self._semaphore(address)
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        # acquire() answers False when the scheduler could not grant a lease (a lost comm):
        # ask again rather than connect without one.
        for _ in range(_LEASE_TRIES):
            if await self._acquire(sem, loop):
                break
        else:
            raise RuntimeError(f"no connection lease for {address} from the Dask scheduler")
        self.granted += 1
        self.waited_s += time.monotonic() - started
        try:
            yield
        finally:
            await loop.run_in_executor(self._releasing, sem.release)

    async def _acquire(self, sem: Semaphore, loop: asyncio.AbstractEventLoop) -> bool:
        acquiring = loop.run_in_executor(self._acquiring, sem.acquire)
        try:
            return await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            # The connection was given up (its budget ran out while it waited), but the thread
            # still gets its lease: hand that back, or the address has one lease fewer for
            # the rest of the run (the worker keeps refreshing it), cluster-wide.
            acquiring.add_done_callback(lambda done: self._give_back(sem, done))
            raise

    def _give_back(self, sem: Semaphore, acquired: asyncio.Future[bool]) -> None:
        if not acquired.cancelled() and acquired.exception() is None and acquired.result():
            self._releasing.submit(sem.release)

    def close(self) -> None:
        self._acquiring.shutdown(wait=False, cancel_futures=True)
        self._releasing.shutdown(wait=False, cancel_futures=True)


class _Runtime:
    """One per worker and run: an event loop in a thread and the run's Context on it."""

    def __init__(
        self, worker: Worker, run_id: str, settings: Settings, options: UnitOptions, share: int
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mailaudit-loop", daemon=True
        )
        self._thread.start()
        limits = settings.limits
        rate = limits.connections_per_second_per_address
        # Each worker paces at its share, so the cluster as a whole keeps the per-second limit.
        local_limits = replace(
            limits, connections_per_second_per_address=rate / share if rate > 0 else rate
        )
        self.leases = _AddressLeases(worker, run_id, limits.connections_per_address)

        async def make() -> tuple[Context, EndpointWorker]:
            politeness = Politeness(local_limits, gate=self.leases)
            ctx = Context.create(settings, politeness=politeness)
            return ctx, EndpointWorker(ctx, options)

        self.ctx, self.endpoints = self.run(make())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self.leases.close()
        # This loop outlives the run (it is stopped, never closed): close the DNS sockets.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.ctx.aclose(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class MailauditRun(WorkerPlugin):
    """Sets up the run's runtime on every worker (and on workers that join later)."""

    def __init__(
        self,
        run_id: str,
        settings: Settings,
        options: UnitOptions,
        *,
        ca_pem: bytes | None,
        share: int,
    ) -> None:
        self.name = f"mailaudit-{run_id}"
        self._run_id = run_id
        self._settings = settings
        self._options = options
        self._ca_pem = ca_pem
        self._share = share
        self.runtime: _Runtime | None = None
        self._ca_dir: tempfile.TemporaryDirectory[str] | None = None

    def setup(self, worker: Worker) -> None:
        settings = self._settings
        if self._ca_pem is not None:
            # The CA travels as bytes: a remote worker need not share our file system.
            self._ca_dir = tempfile.TemporaryDirectory(prefix="mailaudit-ca-")
            path = Path(self._ca_dir.name) / "ca.pem"
            path.write_bytes(self._ca_pem)
            settings = replace(settings, ca_file=str(path))
        self.runtime = _Runtime(worker, self._run_id, settings, self._options, self._share)

    def teardown(self, worker: Worker) -> None:
        if self.runtime is not None:
            self.runtime.close()
        if self._ca_dir is not None:
            self._ca_dir.cleanup()


def _runtime(plugin_name: str) -> _Runtime:
    plugin = get_worker().plugins[plugin_name]
    if not isinstance(plugin, MailauditRun) or plugin.runtime is None:
        raise RuntimeError(f"the worker plugin {plugin_name} is not set up")
    return plugin.runtime


def domains_task(plugin_name: str, units: list[DomainUnit]) -> tuple[list[DomainFacts], float]:
    """A batch of domain units, run at once on the worker's loop: their facts (in order) and the
    seconds the batch took on the worker."""
    runtime = _runtime(plugin_name)
    started = time.monotonic()

    async def batch() -> list[DomainFacts]:
        return list(await asyncio.gather(*(gather_domain_safely(runtime.ctx, u) for u in units)))

    facts = runtime.run(batch())
    return facts, time.monotonic() - started


def endpoint_task(plugin_name: str, unit: EndpointUnit) -> tuple[EndpointFacts, float]:
    runtime = _runtime(plugin_name)
    started = time.monotonic()
    facts = runtime.run(runtime.endpoints.run(unit))
    return facts, time.monotonic() - started


def lease_stats(plugin_name: str, dask_worker: Worker) -> tuple[int, float]:
    """This worker's connection leases so far: how many, and the seconds spent acquiring them
    (run by `Client.run`, which passes the worker)."""
    plugin = dask_worker.plugins.get(plugin_name)
    if not isinstance(plugin, MailauditRun) or plugin.runtime is None:
        return 0, 0.0
    leases = plugin.runtime.leases
    return leases.granted, leases.waited_s


# ------------------------------------------------------------------------------ on the client


@dataclass
class UnitCosts:
    """What one kind of unit cost on the cluster, summed over its tasks (the benchmark's
    overhead figures): `round_trip_s` from submit to facts on the client, `work_s` in the units
    on the workers; the difference is the scheduler, (de)serialisation and transfer."""

    units: int = 0
    tasks: int = 0
    round_trip_s: float = 0.0
    work_s: float = 0.0

    def add(self, units: int, round_trip_s: float, work_s: float) -> None:
        self.units += units
        self.tasks += 1
        self.round_trip_s += round_trip_s
        self.work_s += work_s

    @property
    def overhead_ms_per_unit(self) -> float:
        return (self.round_trip_s - self.work_s) * 1000 / max(1, self.units)

    @property
    def overhead_ms_per_task(self) -> float:
        return (self.round_trip_s - self.work_s) * 1000 / max(1, self.tasks)

    def summary(self, name: str) -> str:
        return (
            f"{self.units} {name} units in {self.tasks} tasks, "
            f"{self.work_s / max(1, self.tasks) * 1000:.1f} ms on a worker per task, "
            f"{self.overhead_ms_per_task:.1f} ms scheduler and transfer per task "
            f"= {self.overhead_ms_per_unit:.2f} ms per unit"
        )


class DaskEngine:
    """Submits units to the cluster behind an asynchronous `Client` and awaits their facts.

    Domain units are batched: the units `run_fleet`'s lanes ask for within `linger_s` of each
    other (at most `batch_max`) travel as one task and come back as one list, so the scheduler's
    per-task cost is paid once per batch, not once per domain. Lanes ask in bursts (a returning
    batch frees many at once), so batches form by themselves; a lone unit waits `linger_s` at
    most. A batch lost with its worker runs again elsewhere as a whole; its domains come back
    once. Endpoint units (few, and long) are one task each."""

    def __init__(
        self,
        client: Client,
        plugin_name: str,
        *,
        lanes: int,
        batch_max: int = 1,
        linger_s: float = 0.005,
    ) -> None:
        self._client = client
        self._plugin = plugin_name
        self.lanes = lanes
        self._batch_max = max(1, batch_max)
        self._linger_s = linger_s
        self._pending: list[tuple[DomainUnit, asyncio.Future[DomainFacts]]] = []
        self._flush_at: asyncio.TimerHandle | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self.domain_costs = UnitCosts()
        self.endpoint_costs = UnitCosts()

    @property
    def domains_submitted(self) -> int:
        return self.domain_costs.units

    @property
    def endpoints_submitted(self) -> int:
        return self.endpoint_costs.units

    async def domain(self, unit: DomainUnit) -> DomainFacts:
        loop = asyncio.get_running_loop()
        facts: asyncio.Future[DomainFacts] = loop.create_future()
        self._pending.append((unit, facts))
        if len(self._pending) >= self._batch_max:
            self._flush()
        elif self._flush_at is None:
            self._flush_at = loop.call_later(self._linger_s, self._flush)
        return await facts

    def _flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.create_task(self._run_batch(batch))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _run_batch(self, batch: list[tuple[DomainUnit, asyncio.Future[DomainFacts]]]) -> None:
        units = [unit for unit, _ in batch]
        started = time.monotonic()
        future = self._client.submit(
            domains_task, self._plugin, units, pure=False, key=f"domains-{uuid.uuid4().hex}"
        )
        try:
            got: tuple[list[DomainFacts], float] = await future
        except Exception as exc:  # a batch that kept killing workers: its domains said so
            for unit, waiter in batch:
                if not waiter.done():
                    waiter.set_result(not_audited(unit, exc))
            return
        finally:
            future.release()
        facts, work_s = got
        self.domain_costs.add(len(units), time.monotonic() - started, work_s)
        for (_, waiter), one in zip(batch, facts, strict=True):
            if not waiter.done():  # its lane may have been cancelled meanwhile
                waiter.set_result(one)

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts:
        started = time.monotonic()
        future = self._client.submit(
            endpoint_task,
            self._plugin,
            unit,
            pure=False,
            key=f"endpoint-{unit.address}-{unit.port}-{uuid.uuid4().hex[:8]}",
        )
        try:
            got: tuple[EndpointFacts, float] = await future
        finally:
            future.release()
        facts, work_s = got
        self.endpoint_costs.add(1, time.monotonic() - started, work_s)
        return facts

    def cancel(self) -> None:
        """Drop batches still pending or in flight (the run is over or was interrupted)."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        for _, waiter in self._pending:
            waiter.cancel()
        self._pending = []
        for task in self._batches:
            task.cancel()


@contextlib.asynccontextmanager
async def _cluster(target: DaskTarget) -> AsyncIterator[Client]:
    if target.scheduler is not None:
        async with Client(target.scheduler, asynchronous=True) as client:
            yield client
        return
    assert target.local_workers is not None
    # Worker processes start sslyze's own worker processes: they must not be daemonic.
    with dask.config.set({"distributed.worker.daemon": False}):
        async with (
            LocalCluster(
                n_workers=target.local_workers,
                threads_per_worker=_THREADS_PER_WORKER,
                processes=True,
                asynchronous=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
                host="127.0.0.1",
            ) as cluster,
            Client(cluster, asynchronous=True) as client,
        ):
            yield client


# Task threads mostly wait for the worker's own event loop; one per domain in flight.
_THREADS_PER_WORKER = 64
# Domain units per task at most: large enough to amortise the scheduler's per-task cost, small
# enough that --jsonl streams and a lost worker costs little work.
_BATCH_MAX = 200


async def _log_costs(client: Client, engine: DaskEngine, plugin_name: str) -> None:
    """The engine's account of its costs (INFO): what the benchmark reads."""
    log.info("dask: %s", engine.domain_costs.summary("domain"))
    log.info("dask: %s", engine.endpoint_costs.summary("endpoint"))
    try:
        leases: dict[str, tuple[int, float]] = await client.run(lease_stats, plugin_name)
    except Exception as exc:  # only an account: a worker gone meanwhile costs the line
        log.info("dask: connection leases not counted: %r", exc)
        return
    granted = sum(n for n, _ in leases.values())
    waited = sum(s for _, s in leases.values())
    log.info(
        "dask: %d connection leases, %.1f ms each to acquire",
        granted,
        waited * 1000 / max(1, granted),
    )


async def run_fleet_on_dask(
    ctx: Context,
    target: DaskTarget,
    units: Iterable[DomainUnit] | Iterator[DomainUnit],
    options: UnitOptions,
    *,
    sink: FleetSink | None = None,
    done: FleetRun | None = None,
    progress: Callable[[str], None] | None = None,
    keep_facts: bool = True,
    client: Client | None = None,
) -> tuple[FleetRun, DaskEngine]:
    """`run_fleet` with the units on a Dask cluster (`client`, or one made from `target`)."""
    run_id = uuid.uuid4().hex[:12]
    settings = ctx.settings
    ca_pem = (
        await asyncio.to_thread(Path(settings.ca_file).read_bytes) if settings.ca_file else None
    )

    async def on(client: Client) -> tuple[FleetRun, DaskEngine]:
        if target.local_workers is not None:
            await cast(Awaitable[None], client.wait_for_workers(target.local_workers))
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        plugin = MailauditRun(run_id, settings, options, ca_pem=ca_pem, share=workers)
        await client.register_plugin(plugin)
        lanes = min(max(1, settings.limits.domain_concurrency), _THREADS_PER_WORKER) * workers
        # Two batches in flight per worker: one runs while the lanes of the other, just
        # returned, gather the next one.
        batch_max = max(1, min(_BATCH_MAX, lanes // (2 * workers)))
        engine = DaskEngine(client, plugin.name, lanes=lanes, batch_max=batch_max)
        try:
            run = await run_fleet(
                ctx,
                units,
                options,
                sink=sink,
                done=done,
                progress=progress,
                keep_facts=keep_facts,
                engine=engine,
            )
            if log.isEnabledFor(logging.INFO):
                await _log_costs(client, engine, plugin.name)
        finally:
            engine.cancel()
            with contextlib.suppress(Exception):
                await client.unregister_worker_plugin(plugin.name)
        return run, engine

    if client is not None:
        return await on(client)
    async with _cluster(target) as made:
        return await on(made)
