"""Fleet audits with domain workers (issue 11, `mailaudit.audit.process_engine`), on the lab's
real servers: the same answers as one process, a worker killed mid-run loses no domain, and what
must be once per run (verifying a shared endpoint, politeness per address) holds across the
processes."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailaudit.audit.process_engine import ProcessEngine
from mailaudit.audit.runner import FleetRun, domain_units, fleet_report, run_fleet
from mailaudit.context import Context
from mailaudit.settings import Settings

# The same fleet size, options and counting sink as the Dask engine's tests.
from tests.lab.test_fleet_dask import OPTIONS, SIZE, Records, _established_by_address
from tests.lab.test_fleet_lab import lab
from tests.lab.test_fleet_resume import per_domain

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fleet_domains(lab_env: dict[str, str]) -> Iterator[list[str]]:
    before = int(lab(lab_env, "fleet").strip() or 0)
    lab(lab_env, "fleet", str(max(SIZE, before)))
    path = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet" / "domains.txt"
    yield path.read_text(encoding="utf-8").split()[:SIZE]
    lab(lab_env, "fleet", str(before))


@pytest.fixture
def settings(lab_ctx: Context) -> Settings:
    # Generous DNS time: three processes share two cores with the rest of the suite, and a
    # lookup that times out changes a result (as it should).
    timeouts = replace(lab_ctx.settings.timeouts, dns_s=20.0)
    return replace(lab_ctx.settings, timeouts=timeouts)


async def in_processes(
    settings: Settings, domains: list[str], *, sink: Records | None = None, kill: bool = False
) -> tuple[FleetRun, ProcessEngine]:
    async with ProcessEngine(Context.create(settings), OPTIONS, workers=2) as engine:
        killer = asyncio.create_task(_kill_when_busy(engine)) if kill else None
        run = await run_fleet(
            engine.context, domain_units(domains, OPTIONS), OPTIONS, sink=sink, engine=engine
        )
        if killer is not None:
            assert await killer, "the run ended before a worker could be killed"
    return run, engine


async def _kill_when_busy(engine: ProcessEngine) -> bool:
    victim = engine._workers[0]
    while True:
        if len(victim.pending) >= 3:  # units in hand
            victim.process.kill()
            return True
        if not victim.alive:
            return False
        await asyncio.sleep(0.002)


def results(settings: Settings, run: FleetRun) -> dict[str, object]:
    ctx = Context.create(settings)
    return per_domain(fleet_report(ctx, run, relay_test_domain=OPTIONS.relay_test_domain))


async def test_two_domain_workers_give_one_processs_answers(
    settings: Settings, fleet_domains: list[str]
) -> None:
    # Given the same fleet audited in this process and with two domain workers
    alone = await run_fleet(Context.create(settings), domain_units(fleet_domains, OPTIONS), OPTIONS)
    run, engine = await in_processes(settings, fleet_domains)

    # Then every domain has the same result, every domain ran in a worker
    assert results(settings, run) == results(settings, alone)
    assert engine.domains_sent == SIZE
    assert all(d.policy is not None for d in run.domains)
    # and each shared endpoint was verified once for the run, not once per worker: every
    # verification was claimed from this process, and each handed out once
    verified = {key for key in engine.memo.runs if key[0] == "verify"}  # type: ignore[index]
    assert verified, "the workers did not claim their verifications from the parent"
    assert set(engine.memo.runs.values()) == {1}
    # and the names the fleet shares were asked through this process's resolver
    assert engine.dns_answered > 0


async def test_a_worker_killed_mid_run_loses_no_domain(
    settings: Settings, fleet_domains: list[str]
) -> None:
    alone = await run_fleet(Context.create(settings), domain_units(fleet_domains, OPTIONS), OPTIONS)
    records = Records()

    # When one worker is killed with units in hand
    run, engine = await in_processes(settings, fleet_domains, sink=records, kill=True)

    # Then its units ran again elsewhere: every domain is reported once, with the same results
    assert engine.domains_lost >= 3
    assert sorted(records.domains) == sorted(fleet_domains)
    assert results(settings, run) == results(settings, alone)


async def test_per_address_politeness_holds_across_domain_workers(
    settings: Settings, lab_env: dict[str, str], fleet_domains: list[str]
) -> None:
    # Given one connection at a time per address, for the whole run
    hosts = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet" / "hosts.txt"
    watched = {line.split()[1] for line in hosts.read_text(encoding="utf-8").splitlines()}
    polite = replace(settings, limits=replace(settings.limits, connections_per_address=1))
    peak: dict[str, int] = {}
    stop = threading.Event()
    pids = [os.getpid()]

    def watch() -> None:
        while not stop.is_set():
            for address, count in _established_by_address(watched, pids).items():
                peak[address] = max(peak.get(address, 0), count)
            stop.wait(0.002)

    # When two workers and this process audit the fleet
    async with ProcessEngine(Context.create(polite), OPTIONS, workers=2) as engine:
        pids += [w.process.pid for w in engine._workers]
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            run = await run_fleet(
                engine.context,
                domain_units(fleet_domains, OPTIONS),
                OPTIONS,
                engine=engine,
            )
        finally:
            stop.set()
            watcher.join()

    # Then the workers' connections (verifying the shared endpoints) held the run's slots
    assert engine.leases_granted >= len([k for k in engine.memo.runs if k[0] == "verify"]) > 0  # type: ignore[index]
    # and the shared hosts were busy, yet never with two of our connections at once
    assert len(run.domains) == SIZE
    assert peak, "no connection to a shared host was seen"
    assert max(peak.values()) == 1, peak
