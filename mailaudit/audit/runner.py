"""The local fleet engine: the plan of `mailaudit.audit.units` run on one event loop.

Domains stream through the domain phase (`limits.domain_concurrency` at once); each domain's
facts are planned at once, and each new (address, port) starts its endpoint unit — probed,
audited and scanned once for the whole run. A domain is joined and handed to the sink the moment
its own endpoints are done, so a 10,000-domain run streams. Memory grows with unique endpoints
and concurrency, and with the facts kept for the final report (`keep_facts`; the CLI spools them
to disk instead, see `mailaudit.audit.spool`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from mailaudit import __version__
from mailaudit.audit.assemble import (
    DomainView,
    Judged,
    assemble_report,
    domain_view,
)
from mailaudit.audit.gather import EndpointWorker, gather_domain_safely, not_audited
from mailaudit.audit.plan import Planner, uses_of
from mailaudit.audit.spool import DomainSpool
from mailaudit.audit.units import (
    DomainFacts,
    DomainUnit,
    EndpointFacts,
    EndpointUnit,
    Role,
    UnitOptions,
)
from mailaudit.context import Context
from mailaudit.model import Endpoint, Report, RunInfo
from mailaudit.names import ascii_host
from mailaudit.probes.protocol_audit import DEFAULT_RELAY_TEST_DOMAIN

if TYPE_CHECKING:
    from mailaudit.audit.spool import ReportSink

__all__ = [
    "AuditOptions",
    "Engine",
    "FleetRun",
    "FleetSink",
    "LocalEngine",
    "domain_units",
    "gather_domain_safely",
    "not_audited",
    "run_audit",
    "run_fleet",
]


@dataclass(frozen=True)
class AuditOptions:
    only: frozenset[Role] = frozenset()  # empty: everything
    extra_endpoints: tuple[Endpoint, ...] = ()
    guess: bool = True
    discovery: bool = True
    protocol_audit: bool = True
    tls: bool = True
    policy: bool = True
    # `--only policy`: the DNS policy alone, without any connection to a mail host.
    dns_only: bool = False
    ispdb_dir: str | None = None
    relay_test_domain: str = DEFAULT_RELAY_TEST_DOMAIN
    # Registrable domains the user adds to the scope (--scope), see mailaudit.audit.scope.
    scope: tuple[str, ...] = ()
    # Called with a short text whenever a step finishes (progress display).
    progress: Callable[[str], None] | None = None

    def units(self) -> UnitOptions:
        return UnitOptions(
            only=tuple(sorted(self.only)),
            guess=self.guess,
            discovery=self.discovery,
            protocol_audit=self.protocol_audit,
            tls=self.tls,
            policy=self.policy,
            dns_only=self.dns_only,
            ispdb_dir=self.ispdb_dir,
            relay_test_domain=self.relay_test_domain,
            scope=self.scope,
        )


class FleetSink(Protocol):
    """Where results go as they complete (the JSONL stream, a progress line...)."""

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None: ...

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None: ...

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        """A domain an earlier, interrupted run completed (not written again)."""


@dataclass
class FleetRun:
    """What a run gathered: every domain's facts (input order) and every endpoint's."""

    started_at: str
    # Out of the repr: at its end, asyncio.run (3.11) renders the main task, result included,
    # while it checks the Ctrl-C handler; the whole fleet's text cost seconds at N = 1,000.
    domains: list[DomainFacts] = field(default_factory=list, repr=False)
    endpoints: dict[tuple[str, int], EndpointFacts] = field(default_factory=dict, repr=False)
    duration_ms: int = 0


def domain_units(
    domains: Iterable[str], options: UnitOptions, explicit: tuple[Endpoint, ...] = ()
) -> Iterator[DomainUnit]:
    """One unit per distinct domain (lower case, no trailing dot), in input order; a host named
    only by --endpoint becomes an endpoints-only unit."""
    seen: set[str] = set()
    for raw in domains:
        domain = ascii_host(raw)  # UTS 46: straße.test -> xn--strae-oqa.test
        if domain in seen:
            continue
        seen.add(domain)
        mine = tuple(e for e in explicit if e.host == domain)
        yield DomainUnit(domain, options, explicit=mine)
    for host in dict.fromkeys(e.host for e in explicit):
        if host not in seen:
            mine = tuple(e for e in explicit if e.host == host)
            yield DomainUnit(host, options, endpoints_only=True, explicit=mine)


class Engine(Protocol):
    """Where the units run: on this event loop (`LocalEngine`) or on a cluster's workers
    (`mailaudit.audit.dask_engine`). Planning and joining stay with `run_fleet` either way, so
    every engine gives the same answers."""

    # Domain units in flight at once.
    lanes: int

    async def domain(self, unit: DomainUnit) -> DomainFacts: ...

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts: ...


class LocalEngine:
    """The units run on this process's event loop, with the run's Context."""

    def __init__(self, ctx: Context, options: UnitOptions) -> None:
        self._ctx = ctx
        self._worker = EndpointWorker(ctx, options)
        self.lanes = max(1, ctx.settings.limits.domain_concurrency)

    async def domain(self, unit: DomainUnit) -> DomainFacts:
        return await gather_domain_safely(self._ctx, unit)

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts:
        return await self._worker.run(unit)


async def run_fleet(
    ctx: Context,
    units: Iterable[DomainUnit],
    options: UnitOptions,
    *,
    sink: FleetSink | None = None,
    done: FleetRun | None = None,
    progress: Callable[[str], None] | None = None,
    keep_facts: bool = True,
    engine: Engine | None = None,
) -> FleetRun:
    """Run every domain unit; `done` holds the facts of an interrupted run (resume): its
    domains are not gathered again, its endpoints not probed again. Without `keep_facts` the
    domains' facts go to the sink only (flat memory for a streamed run); `run.domains` stays
    empty."""
    engine = engine or LocalEngine(ctx, options)
    say = progress or (lambda _text: None)
    # A progress display that counts domains (report/progress.py) says so with domain_done()
    on_domain = getattr(progress, "domain_done", None)
    started = ctx.monotonic()
    run = FleetRun(started_at=done.started_at if done else ctx.clock().isoformat())
    # TLS dates are judged against the run's start, so a resumed run judges as the original.
    judged = Judged(now=datetime.fromisoformat(run.started_at))
    planner = Planner(options)
    finished: dict[tuple[str, int], asyncio.Future[None]] = {}
    if done is not None:
        for ef in done.endpoints.values():
            judged.add(ef)
            run.endpoints[ef.key] = ef
        planner.mark_done(done.endpoints)
    resumed = {f.domain: f for f in (done.domains if done else [])}
    background: set[asyncio.Task[None]] = set()

    async def endpoint(unit: EndpointUnit, future: asyncio.Future[None]) -> None:
        try:
            facts = await engine.endpoint(unit)
            judged.add(facts)
            run.endpoints[facts.key] = facts
            if sink is not None:
                sink.endpoint(facts, judged)
            say(f"audited {facts.observation.url} at {facts.address}")
        finally:
            # A unit that crashed leaves no facts: its domains say "not audited" for it.
            future.set_result(None)

    results: dict[int, DomainFacts] = {}
    joins: set[asyncio.Task[None]] = set()

    def joined(index: int, facts: DomainFacts) -> None:
        view = domain_view(facts, judged)
        if sink is not None:
            sink.domain(facts, view, judged)
        if keep_facts:
            results[index] = facts
        say(f"audited {facts.domain}")
        if on_domain is not None:
            on_domain(facts.domain)

    async def join_later(index: int, domain: str, waits: list[asyncio.Future[None]]) -> None:
        await asyncio.gather(*waits)
        joined(index, parked.get(domain))

    # Domains are planned in input order, whatever order their DNS phases end in, so the
    # name an endpoint is probed under (its lead) does not depend on timing.
    arrived: dict[int, tuple[DomainFacts, bool]] = {}
    cursor = 0

    def plan_in_order() -> None:
        nonlocal cursor
        while cursor in arrived:
            facts, was_resumed = arrived.pop(cursor)
            plan_and_join(cursor, facts, was_resumed)
            cursor += 1

    def plan_and_join(index: int, facts: DomainFacts, was_resumed: bool) -> None:
        if was_resumed:
            if sink is not None:
                sink.resumed(facts, domain_view(facts, judged), judged)
            if keep_facts:
                results[index] = facts
            return
        for eu in planner.add(facts):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            finished[eu.key] = future
            task = asyncio.create_task(endpoint(eu, future))
            background.add(task)
            task.add_done_callback(background.discard)
        keys = {key for key, _ in uses_of(facts)}
        waits = [f for k in keys if (f := finished.get(k)) is not None and not f.done()]
        if not waits:
            joined(index, facts)
            return
        # The join waits for the endpoints; the lane goes on with the next domain's DNS phase.
        # Its facts wait on disk: while the first endpoints are scanned (seconds), thousands
        # of domains can finish their DNS phase (issue 11).
        parked.add(facts)
        join = asyncio.create_task(join_later(index, facts.domain, waits))
        joins.add(join)
        join.add_done_callback(join_done)
        if len(joins) >= waiting_at_most:
            room.clear()

    parked = DomainSpool()
    # A bound all the same (each waiting domain is a task and a few numbers in memory).
    waiting_at_most = max(1, ctx.settings.limits.domains_waiting)
    room = asyncio.Event()
    room.set()

    def join_done(join: asyncio.Task[None]) -> None:
        joins.discard(join)
        if len(joins) < waiting_at_most:
            room.set()

    async def one(index: int, unit: DomainUnit) -> None:
        if unit.domain in resumed:
            arrived[index] = (resumed[unit.domain], True)
        else:
            facts = await engine.domain(unit)
            arrived[index] = (facts, False)
        plan_in_order()

    numbered = enumerate(units)
    lanes = engine.lanes

    async def lane() -> None:
        for index, unit in numbered:  # the lanes share one iterator: bounded, streaming
            await one(index, unit)
            await room.wait()

    async def all_joined() -> None:
        while joins:
            await asyncio.gather(*list(joins))

    try:
        await asyncio.gather(*(lane() for _ in range(lanes)))
        await all_joined()
    finally:
        for task in [*background, *joins]:
            task.cancel()
    run.domains = [results[i] for i in sorted(results)]
    run.duration_ms = int((ctx.monotonic() - started) * 1000)
    return run


async def run_audit(
    ctx: Context, domains: Iterable[str], options: AuditOptions | None = None
) -> Report:
    """Audit `domains` (and `options.extra_endpoints`) and build the Report."""
    options = options or AuditOptions()
    units = options.units()
    run = await run_fleet(
        ctx,
        domain_units(domains, units, options.extra_endpoints),
        units,
        progress=options.progress,
    )
    return fleet_report(ctx, run, relay_test_domain=options.relay_test_domain)


def fleet_report(
    ctx: Context,
    run: FleetRun,
    *,
    relay_test_domain: str | None,
    joined: ReportSink | None = None,
) -> Report:
    """The run's Report; with `joined` (the sink that kept the domains' reports on disk as the
    run joined them, see audit/spool.py) its domains are read back one at a time whenever a
    writer reads them: flat memory. Without it, from the facts the run kept."""
    info = RunInfo(
        tool_version=__version__,
        started_at=run.started_at,
        finished_at=ctx.clock().isoformat(),
        duration_ms=run.duration_ms,
        nameservers=ctx.settings.nameservers,
        relay_test_domain=relay_test_domain,
    )
    if joined is not None:
        return joined.report(info)
    now = datetime.fromisoformat(run.started_at)
    return assemble_report(run.domains, run.endpoints, run=info, now=now)
