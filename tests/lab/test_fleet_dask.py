"""Fleet audits on a real Dask LocalCluster (issue 12): the same answers as the local engine, no
domain lost or doubled when a worker dies mid-run, and per-address politeness held across
workers as the lab's own sockets show it."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from mailaudit.audit.assemble import DomainView, Judged
from mailaudit.audit.dask_engine import DaskTarget, run_fleet_on_dask
from mailaudit.audit.runner import FleetRun, domain_units, fleet_report, run_fleet
from mailaudit.audit.spool import ReportSink
from mailaudit.audit.units import DomainFacts, EndpointFacts, UnitOptions
from mailaudit.context import Context
from mailaudit.model import Report
from mailaudit.serial import to_data
from mailaudit.settings import Settings
from tests.lab.test_fleet_lab import lab
from tests.lab.test_fleet_resume import per_domain

pytestmark = pytest.mark.lab

SIZE = 40
# Quick and deterministic: the protocol audit and discovery run, the TLS scan (slow, and judged
# the same way on either engine) does not.
OPTIONS = UnitOptions(tls=False)


@pytest.fixture(scope="module")
def fleet_domains(lab_env: dict[str, str]) -> Iterator[list[str]]:
    before = int(lab(lab_env, "fleet").strip() or 0)
    lab(lab_env, "fleet", str(max(SIZE, before)))
    path = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet" / "domains.txt"
    yield path.read_text(encoding="utf-8").split()[:SIZE]
    lab(lab_env, "fleet", str(before))


@pytest.fixture
def settings(lab_ctx: Context) -> Settings:
    # Generous DNS time: two worker processes and the local engine share two cores with the rest
    # of the suite, and a lookup that times out changes a result (as it should).
    timeouts = replace(lab_ctx.settings.timeouts, dns_s=20.0)
    return replace(lab_ctx.settings, timeouts=timeouts)


@pytest.fixture
async def cluster() -> AsyncIterator[Client]:
    async with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=16,
            processes=True,
            asynchronous=True,
            dashboard_address=":0",  # any free port: never clash with another cluster
            host="127.0.0.1",
        ) as made,
        Client(made, asynchronous=True) as client,
    ):
        await client.wait_for_workers(2)
        yield client


class Records:
    """A sink that counts what the run reports: each domain must come exactly once."""

    def __init__(self) -> None:
        self.domains: list[str] = []

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        pass

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self.domains.append(facts.domain)

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        raise AssertionError("nothing to resume")


def report(ctx: Context, run: FleetRun) -> Report:
    return fleet_report(ctx, run, relay_test_domain=OPTIONS.relay_test_domain)


async def local_results(ctx: Context, domains: list[str]) -> dict[str, object]:
    run = await run_fleet(ctx, domain_units(domains, OPTIONS), OPTIONS)
    return per_domain(report(ctx, run))


async def test_a_local_cluster_gives_the_local_engines_answers(
    settings: Settings, fleet_domains: list[str], cluster: Client
) -> None:
    # Given the same fleet audited by the local engine and by two Dask worker processes
    expected = await local_results(Context.create(settings), fleet_domains)
    joined = ReportSink(fleet_domains)
    run, engine = await run_fleet_on_dask(
        Context.create(settings),
        DaskTarget(),
        domain_units(fleet_domains, OPTIONS),
        OPTIONS,
        sink=joined,
        client=cluster,
    )

    # Then every domain has the same result, and each shared endpoint ran once in the cluster
    whole = report(Context.create(settings), run)
    got = per_domain(whole)
    assert got == expected
    # and the reports kept as the domains joined (the CLI's way) are the join over all facts
    assert to_data(joined.report(whole.run)) == to_data(whole)
    assert engine.domains_submitted == SIZE
    assert engine.endpoints_submitted == len(run.endpoints)
    assert all(d.policy is not None for d in run.domains)
    # and the domains travelled in batches, not one task each
    assert engine.domain_costs.tasks < SIZE / 4, engine.domain_costs.summary("domain")


async def test_a_worker_killed_mid_run_loses_no_domain(
    settings: Settings, fleet_domains: list[str], cluster: Client
) -> None:
    expected = await local_results(Context.create(settings), fleet_domains)
    records = Records()
    joined = ReportSink(fleet_domains, records)
    pids: dict[str, int] = await cluster.run(os.getpid)
    victim = sorted(pids)[0]
    busy_at_kill: list[int] = []

    async def kill_when_busy() -> None:
        while not run_over.is_set():  # the moment the victim has units in hand
            processing = await cluster.processing()
            if processing.get(victim):
                busy_at_kill.append(len(processing[victim]))
                os.kill(pids[victim], signal.SIGKILL)
                return
            await asyncio.sleep(0.01)

    # When one worker process is killed mid-run, units in hand
    run_over = asyncio.Event()
    killer = asyncio.create_task(kill_when_busy())
    run, _ = await run_fleet_on_dask(
        Context.create(settings),
        DaskTarget(),
        domain_units(fleet_domains, OPTIONS),
        OPTIONS,
        sink=joined,
        client=cluster,
    )
    run_over.set()
    await killer

    # Then every domain is reported exactly once, with the same results as the local engine
    assert busy_at_kill, "the run ended before the worker could be killed"
    assert sorted(records.domains) == sorted(fleet_domains)
    whole = report(Context.create(settings), run)
    assert per_domain(whole) == expected
    assert to_data(joined.report(whole.run)) == to_data(whole)


MAIL_PORTS = frozenset({25, 465, 587, 110, 995, 143, 993})


def _socket_inodes(pids: list[int]) -> set[str]:
    """The socket inodes the given processes hold open (our workers' connections only, not a
    socket another test or process left behind)."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _established_by_address(watched: set[str], pids: list[int]) -> dict[str, int]:
    """Client-side TCP connections in ESTABLISHED state to a mail port of each watched server
    address, read from this network namespace's /proc/net/tcp (what the lab's servers have open
    to us). HTTPS fetches (autoconfig) are not mail connections and are not counted. Counted by
    socket: the kernel lists the table in chunks, so a read while sockets come and go can show
    one socket twice."""
    sockets: dict[str, set[str]] = {}
    ours = _socket_inodes(pids)
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split()
            if fields[3] != "01" or fields[9] not in ours:
                continue
            remote, port = fields[2].split(":")
            if int(port, 16) not in MAIL_PORTS:
                continue
            address = ".".join(str(int(remote[i : i + 2], 16)) for i in (6, 4, 2, 0))
            if address in watched:
                sockets.setdefault(address, set()).add(fields[9])
    return {address: len(inodes) for address, inodes in sockets.items()}


async def test_per_address_politeness_holds_across_workers(
    settings: Settings, lab_env: dict[str, str], fleet_domains: list[str], cluster: Client
) -> None:
    # Given one connection at a time per address, for the whole cluster
    hosts = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet" / "hosts.txt"
    watched = {line.split()[1] for line in hosts.read_text(encoding="utf-8").splitlines()}
    polite = replace(settings, limits=replace(settings.limits, connections_per_address=1))
    peak: dict[str, int] = {}
    stop = threading.Event()
    workers = list((await cluster.run(os.getpid)).values())

    def watch() -> None:
        while not stop.is_set():
            for address, count in _established_by_address(watched, workers).items():
                peak[address] = max(peak.get(address, 0), count)
            stop.wait(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        # When two workers audit the fleet
        run, _ = await run_fleet_on_dask(
            Context.create(polite),
            DaskTarget(),
            domain_units(fleet_domains, OPTIONS),
            OPTIONS,
            client=cluster,
        )
    finally:
        stop.set()
        watcher.join()

    # Then the shared hosts were busy, yet never with two of our connections at once
    assert len(run.domains) == SIZE
    assert peak, "no connection to a shared host was seen"
    assert max(peak.values()) == 1, peak
