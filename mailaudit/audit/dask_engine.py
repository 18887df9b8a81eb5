"""Fleet audits on a Dask cluster (issue 12): the local engine's plan, run on workers.

The client plans and joins exactly as the local engine does (`run_fleet` with a `DaskEngine`);
only the units travel. A `DomainUnit` goes to any worker and comes back as `DomainFacts`; each
unique (address, port) becomes one `EndpointUnit`, submitted once under a key of its own, and
comes back as `EndpointFacts`. Payloads are those frozen dataclasses, never sockets or contexts,
and never a secret (an audit has none: `--login` belongs to `discover`).

On a worker, a plugin keeps one asyncio loop in a thread and the run's `Context` on it (its DNS
cache, TLS contexts and politeness slots shared by every unit that worker runs); task functions
are plain functions that hand a coroutine to that loop.

Politeness holds for the cluster, not per worker: every connection to an address also holds a
lease of a `distributed.Semaphore` named after the address (`connections_per_address` leases),
and each worker paces new connections at its share of `connections_per_second_per_address`.

A worker lost mid-run: Dask runs its units again elsewhere (the client still holds their
futures); the client joins each domain once, so none is lost and none reported twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
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

__all__ = ["DaskEngine", "DaskTarget", "MailauditRun", "parse_dask_target", "run_fleet_on_dask"]

T = TypeVar("T")


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
        # acquire() answers False when the scheduler could not grant a lease (a lost comm):
        # ask again rather than connect without one.
        for _ in range(_LEASE_TRIES):
            if await self._acquire(sem, loop):
                break
        else:
            raise RuntimeError(f"no connection lease for {address} from the Dask scheduler")
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


def domain_task(plugin_name: str, unit: DomainUnit) -> DomainFacts:
    runtime = _runtime(plugin_name)
    return runtime.run(gather_domain_safely(runtime.ctx, unit))


def endpoint_task(plugin_name: str, unit: EndpointUnit) -> EndpointFacts:
    runtime = _runtime(plugin_name)
    return runtime.run(runtime.endpoints.run(unit))


# ------------------------------------------------------------------------------ on the client


class DaskEngine:
    """Submits units to the cluster behind an asynchronous `Client` and awaits their facts."""

    def __init__(self, client: Client, plugin_name: str, *, lanes: int) -> None:
        self._client = client
        self._plugin = plugin_name
        self.lanes = lanes
        # Counted for the benchmark's overhead figures.
        self.domains_submitted = 0
        self.endpoints_submitted = 0

    async def domain(self, unit: DomainUnit) -> DomainFacts:
        self.domains_submitted += 1
        future = self._client.submit(
            domain_task, self._plugin, unit, pure=False, key=f"domain-{uuid.uuid4().hex}"
        )
        try:
            facts: DomainFacts = await future
        except Exception as exc:  # a unit that kept killing workers: one domain lost, said so
            return not_audited(unit, exc)
        finally:
            future.release()
        return facts

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts:
        self.endpoints_submitted += 1
        future = self._client.submit(
            endpoint_task,
            self._plugin,
            unit,
            pure=False,
            key=f"endpoint-{unit.address}-{unit.port}-{uuid.uuid4().hex[:8]}",
        )
        try:
            facts: EndpointFacts = await future
        finally:
            future.release()
        return facts


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
        lanes = max(1, settings.limits.domain_concurrency) * workers
        engine = DaskEngine(client, plugin.name, lanes=min(lanes, _THREADS_PER_WORKER * workers))
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
        finally:
            with contextlib.suppress(Exception):
                await client.unregister_worker_plugin(plugin.name)
        return run, engine

    if client is not None:
        return await on(client)
    async with _cluster(target) as made:
        return await on(made)
