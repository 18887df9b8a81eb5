"""The fleet engine's pure halves: the planner (domain facts -> endpoint units, each (address,
port) once) and the assembler (facts -> per-domain results), without a network."""

from __future__ import annotations

from datetime import UTC, datetime

from mailaudit.audit.assemble import assemble_report
from mailaudit.audit.plan import Planner, plan
from mailaudit.audit.targets import implied_targets
from mailaudit.audit.units import (
    DomainFacts,
    EndpointFacts,
    HostAddresses,
    Role,
    Target,
    UnitOptions,
)
from mailaudit.model import (
    CheckStatus,
    Endpoint,
    Observation,
    ProbeFailure,
    ProbeStatus,
    RunInfo,
    Scheme,
)
from mailaudit.report.outcome import AuditStatus, fleet_outcome
from mailaudit.serial import from_data, to_data

OPTIONS = UnitOptions()
NOW = datetime(2026, 12, 1, tzinfo=UTC)
RUN = RunInfo("test", NOW.isoformat(), NOW.isoformat(), 0)
SHARED = {"mx.isp.test": ("192.0.2.10",), "smtp.isp.test": ("192.0.2.20",)}


def customer(domain: str, *, guess_absent: bool = True) -> DomainFacts:
    """A customer domain of the ISP: MX and submission on the shared hosts, a guessed name."""
    targets = [
        Target(Endpoint(Scheme.SMTP, "mx.isp.test", 25), Role.MX, domain),
        Target(Endpoint(Scheme.SUBMISSION, "smtp.isp.test", 587), Role.CLIENT, domain),
        Target(Endpoint(Scheme.IMAPS, f"imap.{domain}", 993), Role.GUESS, domain),
    ]
    targets += implied_targets(targets)
    hosts = {t.endpoint.host for t in targets}
    addresses = tuple(HostAddresses(h, SHARED.get(h, ())) for h in sorted(hosts))
    return DomainFacts(domain, False, tuple(targets), addresses)


def observed(
    scheme: Scheme, host: str, address: str, port: int, *, refused: bool = False
) -> EndpointFacts:
    url = Endpoint(scheme, host, port).url
    if refused:
        obs = Observation(
            url,
            scheme,
            host,
            address,
            port,
            ProbeStatus.FAILED,
            ProbeFailure("refused", "connection refused", "connect"),
        )
    else:
        obs = Observation(
            url, scheme, host, address, port, ProbeStatus.COMPLETED, starttls_offered=True
        )
    return EndpointFacts(address, port, obs)


def test_a_thousand_domains_on_shared_hosts_plan_each_endpoint_once() -> None:
    fleet = [customer(f"c{i}.test") for i in range(1000)]

    units = plan(fleet, OPTIONS)

    assert sorted(u.id for u in units) == [
        "192.0.2.10:25",
        "192.0.2.20:465",  # the implicit-TLS partner of 587, probed rather than "not tested"
        "192.0.2.20:587",
    ]
    lead = {u.id: u for u in units}["192.0.2.20:465"].endpoint
    assert lead == Endpoint(Scheme.SMTPS, "smtp.isp.test", 465)


def test_the_planner_is_incremental_and_skips_what_is_done() -> None:
    planner = Planner(OPTIONS)
    planner.mark_done([("192.0.2.10", 25)])

    first = planner.add(customer("a.test"))
    second = planner.add(customer("b.test"))

    assert sorted(u.id for u in first) == ["192.0.2.20:465", "192.0.2.20:587"]
    assert second == []


def test_the_lead_is_the_most_authoritative_name() -> None:
    facts = DomainFacts(
        "a.test",
        False,
        (
            Target(Endpoint(Scheme.SUBMISSION, "mail.a.test", 587), Role.GUESS, "a.test"),
            Target(Endpoint(Scheme.SUBMISSION, "smtp.a.test", 587), Role.GUESS, "a.test"),
            Target(Endpoint(Scheme.SUBMISSION, "out.a.test", 587), Role.CLIENT, "a.test"),
        ),
        tuple(
            HostAddresses(h, ("192.0.2.5",)) for h in ("mail.a.test", "out.a.test", "smtp.a.test")
        ),
    )

    (unit,) = plan([facts], OPTIONS)

    assert unit.endpoint.host == "out.a.test"  # discovery's name beats the guesses
    assert unit.names == ("mail.a.test", "out.a.test", "smtp.a.test")
    assert unit.own_domain == "a.test"


def test_units_and_facts_are_serialisable_data() -> None:
    (unit, *_) = plan([customer("a.test")], OPTIONS)
    facts = customer("a.test")

    assert from_data(type(unit), to_data(unit)) == unit
    assert from_data(DomainFacts, to_data(facts)) == facts


def fleet_endpoints() -> list[EndpointFacts]:
    return [
        observed(Scheme.SMTP, "mx.isp.test", "192.0.2.10", 25),
        observed(Scheme.SUBMISSION, "smtp.isp.test", "192.0.2.20", 587),
        observed(Scheme.SMTPS, "smtp.isp.test", "192.0.2.20", 465),
    ]


def test_the_assembler_joins_each_domain_with_its_shared_endpoints() -> None:
    fleet = [customer(f"c{i}.test") for i in range(500)]

    report = assemble_report(fleet, fleet_endpoints(), run=RUN, now=NOW)

    assert [e.id for e in report.endpoints] == ["192.0.2.10:25", "192.0.2.20:465", "192.0.2.20:587"]
    assert all(len(e.domains) == 500 for e in report.endpoints)
    first = report.domains[0]
    assert first.domain == "c0.test"
    assert first.endpoint_ids == ("192.0.2.10:25", "192.0.2.20:465", "192.0.2.20:587")
    # The guessed name that does not resolve is simply not offered: no error, no finding.
    assert first.not_offered == ("imaps://imap.c0.test",)
    assert first.errors == ()
    submission = report.endpoint("192.0.2.20:587")
    host_checks = {
        c.check: c.status
        for c in submission.checks
        if "implicit" in c.check or "plaintext" in c.check
    }
    assert host_checks == {
        "submission.plaintext-only": CheckStatus.PASSED,
        "submission.implicit-tls-missing": CheckStatus.PASSED,
    }


def test_a_refused_partner_port_is_evidence_not_an_endpoint() -> None:
    endpoints = fleet_endpoints()
    endpoints[2] = observed(Scheme.SMTPS, "smtp.isp.test", "192.0.2.20", 465, refused=True)

    report = assemble_report([customer("a.test")], endpoints, run=RUN, now=NOW)

    (domain,) = report.domains
    assert "192.0.2.20:465" not in domain.endpoint_ids
    assert (
        "smtps://smtp.isp.test:465" in domain.not_offered
        or "smtps://smtp.isp.test" in domain.not_offered
    )
    submission = report.endpoint("192.0.2.20:587")
    assert "submission.implicit-tls-missing" in {f.id for f in submission.findings}


def test_outcome_counts_audited_partly_and_not_audited() -> None:
    lost = DomainFacts(
        "lost.test", False, (), (), errors=("MX lookup failed: MX lost.test: timeout",)
    )
    endpoints = fleet_endpoints()
    report = assemble_report([customer("ok.test"), lost], endpoints, run=RUN, now=NOW)
    # One endpoint missing from the facts: the domain using it says so instead of passing.
    partial = assemble_report([customer("part.test")], endpoints[:2], run=RUN, now=NOW)

    outcome = fleet_outcome(report)

    # These facts hold no protocol audit: every check it feeds is "not tested", and says why.
    ok, gone = outcome.domains
    assert ok.status is AuditStatus.PARTLY_AUDITED
    assert "smtp://mx.isp.test: smtp.open-relay (not tested): the protocol audit was not run" in (
        ok.missing
    )
    assert gone.status is AuditStatus.NOT_AUDITED
    assert outcome.any_not_audited
    assert outcome.summary_line() == "2 domains: 0 fully audited, 1 partly audited, 1 not audited"
    (part,) = fleet_outcome(partial).domains
    assert "part.test: smtps://smtp.isp.test at 192.0.2.20: not audited (no result)" in part.missing
