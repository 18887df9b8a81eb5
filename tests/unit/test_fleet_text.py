"""The terminal report of a fleet (report/fleet_text.py): what it says, and that its outcome and
exit code are those the per-report functions give, from one pass over the domains."""

from __future__ import annotations

import dataclasses

import pytest

from mailaudit.model import Finding, Report, Severity
from mailaudit.report.exit_codes import exit_code
from mailaudit.report.fleet_text import QUIET_DOMAINS, FleetDigester
from mailaudit.report.formats import render_report
from mailaudit.report.outcome import fleet_outcome
from mailaudit.report.streamed import FLEET_MIN_DOMAINS
from tests.unit.fleet_samples import fleet_report
from tests.unit.test_fleet_spool import streamed


def _high(domain: str) -> Finding:
    return Finding(
        id="spf.plus-all",
        severity=Severity.HIGH,
        subject=domain,
        title="SPF allows everyone",
        detail=f"{domain}: +all",
        remediation="End the record with -all.",
    )


def sample() -> Report:
    """120 customers on shared hosts; three carry a high finding, one could not be audited."""
    report = fleet_report(120)
    domains = list(report.domains)
    for i in (7, 70, 99):
        domains[i] = dataclasses.replace(domains[i], findings=(*domains[i].findings, _high("x")))
    domains[50] = dataclasses.replace(domains[50], errors=("MX lookup failed: timeout",))
    return dataclasses.replace(report, domains=tuple(domains))


@pytest.mark.parametrize("fail_on", [None, *Severity])
def test_the_digest_reads_the_fleet_once_and_agrees_with_the_outcome_and_the_exit_code(
    fail_on: Severity | None,
) -> None:
    report = sample()
    lazy, passes = streamed(report)
    only = {report.domains[3].domain}

    digest = FleetDigester(lazy, quiet=True, fail_on=fail_on, endpoints_only=only).digest()

    assert passes == [1]
    assert digest.outcome == fleet_outcome(report, endpoints_only=only)
    assert digest.exit_code == exit_code(report, fail_on)


def test_the_fleet_text_counts_domains_per_finding_and_lists_the_worst_first() -> None:
    report = sample()
    names = [d.domain for d in report.domains]

    quiet = FleetDigester(report, quiet=True).digest().text
    full = FleetDigester(report).digest().text

    assert quiet.startswith(f"Fleet: 120 domains, {len(report.endpoints)} endpoints\n")
    assert f"  [high] spf.plus-all  3 domains: {names[7]}, {names[70]}, {names[99]}\n" in quiet
    assert (
        f"[low] mtasts.missing  120 domains: {names[0]}, {names[1]}, {names[2]}, ... 117 more"
        in quiet
    )
    assert quiet.index("[high] spf.plus-all") < quiet.index("[low] mtasts.missing")
    # -q names only the worst: the one not audited, then those with a high finding
    listed = [line.split()[0] for line in quiet.split("Worst domains")[1].splitlines()[1:-2]]
    assert len(listed) == QUIET_DOMAINS
    assert listed[:4] == [names[50], names[7], names[70], names[99]]
    # without -q every domain has its line, and no per-domain table is drawn
    assert all(f"\n  {name} " in full for name in names)
    assert "┃" not in full
    assert full.rstrip().splitlines()[-1].startswith("Total: critical 0  high 3  ")


def test_text_output_takes_the_fleet_form_from_the_fleet_threshold_on() -> None:
    small = fleet_report(FLEET_MIN_DOMAINS - 1)
    big = fleet_report(FLEET_MIN_DOMAINS)

    assert "Fleet:" not in render_report(small, "text", quiet=True)
    assert render_report(big, "text", quiet=True).startswith("Fleet: ")
    # -v asks for every detail: the per-domain form, whatever the size
    assert "Fleet:" not in render_report(big, "text", verbose=True)


def test_server_text_in_a_fleet_summary_cannot_move_the_terminal() -> None:
    report = sample()
    hostile = dataclasses.replace(report.domains[0], domain="evil\x1b[2J.test")
    report = dataclasses.replace(report, domains=(hostile, *report.domains[1:]))

    text = FleetDigester(report, color=True).digest().text

    assert "\x1b[2J" not in text
    assert "evil\\x1b[2J.test" in text


def test_the_digest_rides_along_the_first_full_pass_of_a_writer_and_drops_a_cut_one() -> None:
    report = sample()
    lazy, passes = streamed(report)
    expected = FleetDigester(report, fail_on=Severity.HIGH).digest()
    digester = FleetDigester(lazy, fail_on=Severity.HIGH)
    observed = digester.observed()

    # A writer that fails half-way (a full disk): its pass is dropped, not half counted
    for n, _ in enumerate(observed.domains):
        if n == 60:
            break
    # Then one that reads every domain (the JSON), then another (the HTML)
    render_report(observed, "json")
    render_report(observed, "sarif")
    read = passes[0]
    digest = digester.digest()

    assert passes == [read]  # no pass of the digest's own
    assert digest == expected


def test_without_a_writer_the_digest_makes_its_own_pass() -> None:
    report = sample()
    lazy, passes = streamed(report)
    digester = FleetDigester(lazy, quiet=True)
    digester.observed()

    assert digester.digest() == FleetDigester(report, quiet=True).digest()
    assert passes == [1]
