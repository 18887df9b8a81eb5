"""A fleet's domains are joined once, as they complete (`ReportSink`), and the Report that gives
is the one a join of every domain over all the run's facts gives (`assemble_report`) — also for
a domain joined before one of its hosts gained a TLS-scanned port, for a storm of findings, and
for a resumed domain whose endpoint the earlier run never finished.

The runs are real `run_fleet` runs on a scripted engine: hand-made domain and endpoint facts,
with the order in which endpoints finish under the test's control."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterable
from datetime import datetime

from mailaudit.audit.assemble import DomainView, Judged, assemble_report
from mailaudit.audit.runner import FleetRun, domain_units, fleet_report, run_fleet
from mailaudit.audit.spool import ReportSink
from mailaudit.audit.units import (
    DomainFacts,
    DomainUnit,
    EndpointFacts,
    EndpointUnit,
    HostAddresses,
    Role,
    Target,
    UnitOptions,
)
from mailaudit.context import Context
from mailaudit.model import (
    Endpoint,
    Finding,
    MxFacts,
    MxHost,
    Observation,
    PolicyObservation,
    ProbeStatus,
    Report,
    RunInfo,
    Scheme,
    Severity,
)
from mailaudit.report.aggregate import condense_domain
from mailaudit.report.formats import FORMATS, render_report
from mailaudit.report.streamed import StreamedDomains
from mailaudit.serial import to_data
from mailaudit.settings import Settings
from tests.unit.test_policy_judge import good, host, nx, ok
from tests.unit.test_tls_judge import GOOD_12, cert, deployment, protocols, scan

OPTIONS = UnitOptions()
STARTED = "2026-11-27T12:00:00+00:00"
RUN = RunInfo("test", STARTED, STARTED, 0)
ISP = {"mail.isp.test": ("192.0.2.10", "192.0.2.11"), "mx.isp.test": ("192.0.2.20",)}
PORTS = {Scheme.IMAPS: 993, Scheme.POP3S: 995, Scheme.SMTPS: 465, Scheme.SMTP: 25}


def customer(
    name: str,
    uses: Iterable[tuple[Scheme, str]],
    *,
    addresses: dict[str, tuple[str, ...]] | None = None,
    storm: int = 0,
    policy: PolicyObservation | None = None,
) -> DomainFacts:
    """A customer domain using (scheme, host) endpoints of the ISP; `storm` repeats of one
    finding (condensing folds them into one)."""
    targets = tuple(
        Target(Endpoint(scheme, host, PORTS[scheme]), Role.CLIENT, name) for scheme, host in uses
    )
    resolved = addresses or ISP
    hosts = sorted({t.endpoint.host for t in targets})
    repeated = Finding(
        id="scope.out-of-scope",
        severity=Severity.INFO,
        subject=name,
        title="Repeated",
        detail="one of many",
        remediation="none",
    )
    return DomainFacts(
        name,
        False,
        targets,
        tuple(HostAddresses(h, resolved.get(h, ())) for h in hosts),
        policy=policy,
        scope_findings=(repeated,) * storm,
    )


def scanned(unit: EndpointUnit, *, odd: bool) -> EndpointFacts:
    """The endpoint's facts, scanned under its lead name; `odd` ports differ from the others of
    their host in certificate and versions (tls.inconsistent about the host)."""
    endpoint = unit.endpoint
    obs = Observation(
        endpoint.url,
        endpoint.scheme,
        endpoint.host,
        unit.address,
        unit.port,
        ProbeStatus.COMPLETED,
    )
    certs = (deployment(dataclasses.replace(cert(), sha256_fingerprint="ef" * 32)),)
    tls = scan(
        endpoint.scheme,
        address=unit.address,
        port=unit.port,
        host=endpoint.host,
        protos=protocols(TLS_1_2=(GOOD_12,)) if odd else None,
        certs=certs if odd else None,
    )
    return EndpointFacts(unit.address, unit.port, obs, tls_scan=tls)


class Scripted:
    """An engine over hand-made facts: a domain unit or an endpoint unit waits for its gate (if
    it has one), then gives its facts."""

    def __init__(
        self,
        domains: Iterable[DomainFacts],
        *,
        lanes: int = 1,
        odd: Iterable[tuple[str, int]] = (),
        gates: dict[tuple[str, int], asyncio.Event] | None = None,
        domain_gates: dict[str, asyncio.Event] | None = None,
        yields: dict[tuple[str, int], int] | None = None,
    ) -> None:
        self.lanes = lanes
        self._domains = {d.domain: d for d in domains}
        self._odd = set(odd)
        self._gates = gates or {}
        self._domain_gates = domain_gates or {}
        self._yields = yields or {}
        self.probed: list[tuple[str, int]] = []

    async def domain(self, unit: DomainUnit) -> DomainFacts:
        if (gate := self._domain_gates.get(unit.domain)) is not None:
            await gate.wait()
        await asyncio.sleep(0)
        return self._domains[unit.domain]

    async def endpoint(self, unit: EndpointUnit) -> EndpointFacts:
        if (gate := self._gates.get(unit.key)) is not None:
            await gate.wait()
        for _ in range(self._yields.get(unit.key, 0)):
            await asyncio.sleep(0)
        self.probed.append(unit.key)
        return scanned(unit, odd=unit.key in self._odd)


class Seen:
    """The inner sink: each domain's report as the run joined it; sets a gate when a domain
    is joined (the test's clock)."""

    def __init__(self, gates: dict[str, asyncio.Event] | None = None) -> None:
        self.views: dict[str, DomainView] = {}
        self._gates = gates or {}

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        pass

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self.views[facts.domain] = view
        if (gate := self._gates.get(facts.domain)) is not None:
            gate.set()

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self.views[facts.domain] = view


def context() -> Context:
    return Context.create(
        Settings(nameservers=("127.0.0.1",)), clock=lambda: datetime.fromisoformat(STARTED)
    )


async def joined_once(
    fleet: list[DomainFacts],
    engine: Scripted,
    inner: Seen,
    *,
    done: FleetRun | None = None,
) -> tuple[Report, Report]:
    """The run's Report from its run-time joins, and the one joined from all its facts."""
    units = list(domain_units([f.domain for f in fleet], OPTIONS))
    sink = ReportSink((u.domain for u in units), inner)
    done = done or FleetRun(started_at=STARTED)
    run = await run_fleet(
        context(), units, OPTIONS, sink=sink, done=done, keep_facts=False, engine=engine
    )
    streamed = fleet_report(context(), run, relay_test_domain=None, joined=sink)
    assert isinstance(streamed.domains, StreamedDomains)
    whole = assemble_report(
        fleet, run.endpoints, run=streamed.run, now=datetime.fromisoformat(STARTED)
    )
    return streamed, whole


def assert_same(streamed: Report, whole: Report) -> None:
    assert to_data(streamed) == to_data(whole)
    for fmt in FORMATS:
        assert render_report(streamed, fmt) == render_report(whole, fmt), fmt


def inconsistent(report: Report, domain: str) -> list[Finding]:
    (found,) = [d for d in report.domains if d.domain == domain]
    return [f for f in found.findings if f.id == "tls.inconsistent"]


async def test_a_domain_joined_before_its_host_gains_a_scanned_port_gets_the_final_findings() -> (
    None
):
    # Given a.test on mail.isp.test's IMAPS port, b.test (after it) on the same host's POP3S
    # port, whose scan finishes only once a.test is joined and differs in certificate and
    # versions, and c.test on the IMAPS port again, whose DNS phase ends after b.test's join
    fleet = [
        customer("a.test", [(Scheme.IMAPS, "mail.isp.test")], storm=0),
        customer("b.test", [(Scheme.POP3S, "mail.isp.test")]),
        customer("c.test", [(Scheme.IMAPS, "mail.isp.test")], storm=3),
    ]
    a_joined, b_joined = asyncio.Event(), asyncio.Event()
    late = {("192.0.2.10", 995): a_joined, ("192.0.2.11", 995): a_joined}
    engine = Scripted(fleet, lanes=2, odd=late, gates=late, domain_gates={"c.test": b_joined})
    inner = Seen({"a.test": a_joined, "b.test": b_joined})

    # When the fleet runs
    streamed, whole = await joined_once(fleet, engine, inner)

    # Then a.test was joined without the host's inconsistency and c.test with it; the report
    # has it for all three, as a join over all the facts has it
    assert [f.id for f in inner.views["a.test"].report.findings] == []
    assert "tls.inconsistent" in {f.id for f in inner.views["c.test"].report.findings}
    for name in ("a.test", "b.test", "c.test"):
        assert inconsistent(streamed, name), name
    assert [d.domain for d in streamed.domains] == ["a.test", "b.test", "c.test"]
    assert_same(streamed, whole)


async def test_a_stormy_domain_joined_early_is_condensed_with_its_final_host_findings() -> None:
    # Given a domain whose findings condense (a storm), before its host findings (three dead MX
    # hosts) and after them, joined before its host's late port
    dead = tuple(
        MxHost(10, f"dead{i}.storm.test", False, (nx(f"dead{i}.storm.test", "A"),))
        for i in range(3)
    )
    policy = good(mx=MxFacts(ok("storm.test", "MX"), (*dead, host())))
    fleet = [
        customer("storm.test", [(Scheme.IMAPS, "mail.isp.test")], storm=7, policy=policy),
        customer("late.test", [(Scheme.POP3S, "mail.isp.test")]),
    ]
    joined = asyncio.Event()
    late = {("192.0.2.10", 995): joined, ("192.0.2.11", 995): joined}
    engine = Scripted(fleet, odd=late, gates=late)

    streamed, whole = await joined_once(fleet, engine, Seen({"storm.test": joined}))

    (storm,) = [d for d in streamed.domains if d.domain == "storm.test"]
    occurrences = {f.id: f.occurrences for f in storm.findings}
    assert occurrences["scope.out-of-scope"] == 7
    assert occurrences["dns.mx-unresolvable"] == 3
    assert inconsistent(streamed, "storm.test")
    assert_same(streamed, whole)


async def test_a_resumed_domain_whose_endpoint_was_never_finished_is_joined_again() -> None:
    # Given an earlier run that recorded r.test but no result for one of its endpoints
    # (mail.isp.test:993 at .11), and a new domain that plans that endpoint now
    r = customer("r.test", [(Scheme.IMAPS, "mail.isp.test")])
    first = scanned(
        EndpointUnit(
            "192.0.2.10", 993, Endpoint(Scheme.IMAPS, "mail.isp.test", 993), (), None, True, True
        ),
        odd=False,
    )
    done = FleetRun(started_at=STARTED, domains=[r], endpoints={first.key: first})
    fleet = [r, customer("n.test", [(Scheme.IMAPS, "mail.isp.test")])]
    inner = Seen()

    streamed, whole = await joined_once(fleet, Scripted(fleet), inner, done=done)

    # Then the resumed domain, joined without that result, is reported with it
    assert any("not audited (no result)" in e for e in inner.views["r.test"].report.errors)
    (resumed,) = [d for d in streamed.domains if d.domain == "r.test"]
    assert resumed.errors == ()
    assert resumed.endpoint_ids == ("192.0.2.10:993", "192.0.2.11:993")
    (endpoint,) = [e for e in streamed.endpoints if e.id == "192.0.2.11:993"]
    assert endpoint.domains == ("n.test", "r.test")
    assert_same(streamed, whole)


async def test_any_order_of_completion_reports_as_the_join_over_all_facts() -> None:
    # Given fleets of 40 domains on random subsets of the ISP's endpoints (some resolving to one
    # address of mail.isp.test only), endpoints that finish after random delays, some ports odd,
    # and several lanes: domains join out of order, many before their hosts' last scan
    choices = [
        (Scheme.IMAPS, "mail.isp.test"),
        (Scheme.POP3S, "mail.isp.test"),
        (Scheme.SMTPS, "mail.isp.test"),
        (Scheme.SMTP, "mx.isp.test"),
        (Scheme.IMAPS, "mx.isp.test"),
    ]
    one = {**ISP, "mail.isp.test": ("192.0.2.10",)}
    keys = [(a, p) for addrs in ISP.values() for a in addrs for p in (25, 465, 993, 995)]
    stale, stormy = 0, 0
    for seed in range(8):
        rng = random.Random(seed)
        fleet = [
            customer(
                f"d{i:02d}.test",
                rng.sample(choices, rng.randint(1, 3)),
                addresses=one if rng.random() < 0.3 else ISP,
                storm=rng.choice([0, 0, 2]),
            )
            for i in range(40)
        ]
        engine = Scripted(
            fleet,
            lanes=rng.randint(1, 6),
            odd=rng.sample(keys, 3),
            yields={k: rng.randint(0, 60) for k in keys},
        )
        inner = Seen()

        # When each fleet runs
        streamed, whole = await joined_once(fleet, engine, inner)

        # Then its report is the join over all its facts, domains in input order
        assert [d.domain for d in streamed.domains] == [f.domain for f in fleet]
        assert_same(streamed, whole)
        for d in streamed.domains:
            if condense_domain(inner.views[d.domain].report) != d:
                stale += 1
                stormy += any(f.occurrences > 1 for f in d.findings)
    # And the runs did join domains before their hosts' last scans, storms among them
    assert stale >= 20
    assert stormy >= 5


def test_a_report_of_no_domains_is_empty() -> None:
    sink = ReportSink([])
    report = sink.report(RUN)
    assert (len(report.domains), report.endpoints) == (0, ())


async def test_the_domain_phase_waits_while_too_many_domains_wait_for_their_endpoints() -> None:
    # Given 200 customers of one endpoint that is slow to finish, room for 10 waiting domains
    fleet = [customer(f"c{i:03d}.test", [(Scheme.IMAPS, "mail.isp.test")]) for i in range(200)]
    gate = asyncio.Event()
    engine = Scripted(fleet, lanes=4, gates={("192.0.2.10", 993): gate})
    gathered: list[str] = []
    real_domain = engine.domain

    async def counted(unit: DomainUnit) -> DomainFacts:
        gathered.append(unit.domain)
        return await real_domain(unit)

    engine.domain = counted  # type: ignore[method-assign]
    limits = dataclasses.replace(Settings().limits, domains_waiting=10)
    ctx = Context.create(Settings(nameservers=("127.0.0.1",), limits=limits))
    units = list(domain_units([f.domain for f in fleet], OPTIONS))
    run = asyncio.create_task(run_fleet(ctx, units, OPTIONS, engine=engine))

    # When the endpoint has not finished yet
    for _ in range(200):
        await asyncio.sleep(0)
    # Then the DNS phase stopped near the bound (the waiting ones and those in the lanes)
    assert 10 <= len(gathered) <= 10 + engine.lanes
    # and once the endpoint finishes, every domain is gathered and joined
    gate.set()
    done = await run
    assert len(gathered) == 200
    assert len(done.domains) == 200
