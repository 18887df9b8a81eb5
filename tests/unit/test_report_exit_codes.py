from __future__ import annotations

import dataclasses

import pytest

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import DomainAuditFacts
from mailaudit.checks.grading import GRADES, domain_summary, untested
from mailaudit.checks.judge import judge_domain_audit
from mailaudit.model import Finding, Report, Severity
from mailaudit.report.exit_codes import (
    EXIT_FINDINGS,
    EXIT_NOT_TESTED,
    EXIT_OK,
    exit_code,
)
from tests.unit.report_samples import clean_report, hostile_report, relay_report


def _with_finding(report: Report, severity: Severity, waived: str | None = None) -> Report:
    e = report.endpoints[0]
    f = Finding("x.y", severity, e.url, "t", "d", "r", waived=waived)
    return dataclasses.replace(report, endpoints=(dataclasses.replace(e, findings=(f,)),))


def test_clean_report_exits_0_whatever_the_threshold() -> None:
    for severity in [None, *Severity]:
        assert exit_code(clean_report(), severity) == EXIT_OK


@pytest.mark.parametrize(
    ("finding", "fail_on", "expected"),
    [
        (Severity.HIGH, Severity.HIGH, EXIT_FINDINGS),
        (Severity.HIGH, Severity.MEDIUM, EXIT_FINDINGS),
        (Severity.HIGH, Severity.CRITICAL, EXIT_OK),
        (Severity.INFO, Severity.INFO, EXIT_FINDINGS),
        (Severity.CRITICAL, None, EXIT_OK),
    ],
)
def test_threshold(finding: Severity, fail_on: Severity | None, expected: int) -> None:
    assert exit_code(_with_finding(clean_report(), finding), fail_on) == expected


def test_waived_findings_do_not_count() -> None:
    report = _with_finding(clean_report(), Severity.CRITICAL, waived="accepted")

    assert exit_code(report, Severity.INFO) == EXIT_OK


def test_findings_outrank_not_tested_and_not_tested_outranks_clean() -> None:
    # relay.test: a critical finding, and endpoints that could not be tested
    assert exit_code(relay_report(), Severity.CRITICAL) == EXIT_FINDINGS
    assert exit_code(relay_report(), None) == EXIT_NOT_TESTED
    # hostile.test: a low finding, a lookup error and an inconclusive check
    assert exit_code(hostile_report(), Severity.MEDIUM) == EXIT_NOT_TESTED


def test_untested_lists_probes_checks_and_lookups() -> None:
    kinds = sorted({u.kind for u in untested(relay_report())})

    assert kinds == ["check", "lookup", "probe"]


def test_grades() -> None:
    assert [GRADES[s] for s in (None, *Severity)] == ["A", "A", "B", "C", "D", "F"]
    relay = domain_summary(relay_report(), relay_report().domains[0])
    assert relay.grade == "F"
    assert relay.incomplete
    assert relay.endpoints_total == 3
    assert relay.endpoints_tested == 1
    assert relay.counts[Severity.CRITICAL] == 1
    clean = domain_summary(clean_report(), clean_report().domains[0])
    assert clean.grade == "A"
    assert not clean.incomplete


def test_nothing_tested_has_no_grade() -> None:
    report = relay_report()
    only_dead = dataclasses.replace(
        report,
        domains=(
            dataclasses.replace(
                report.domains[0], endpoint_ids=("127.0.0.21:587",), findings=(), checks=()
            ),
        ),
    )
    e = only_dead.endpoint("127.0.0.21:587")
    only_dead = dataclasses.replace(only_dead, endpoints=(dataclasses.replace(e, findings=()),))

    assert domain_summary(only_dead, only_dead.domains[0]).grade == "?"


def test_an_informational_finding_alone_does_not_earn_an_a() -> None:
    # Given nothing could be tested, and discovery only noted (info) that it found nothing
    report = relay_report()
    note = finding(
        "discovery.no-settings", "relay.test", "no working incoming or outgoing setting found"
    )
    note = dataclasses.replace(note, severity=Severity.INFO)
    e = report.endpoint("127.0.0.21:587")
    only_dead = dataclasses.replace(
        report,
        domains=(
            dataclasses.replace(
                report.domains[0], endpoint_ids=(e.id,), findings=(note,), checks=()
            ),
        ),
        endpoints=(dataclasses.replace(e, findings=()),),
    )

    assert domain_summary(only_dead, only_dead.domains[0]).grade == "?"


def test_the_discovery_run_of_an_mx_only_domain_does_not_earn_an_a_either() -> None:
    # Given the same untestable domain, judged the way an audit does it: discovery's findings
    # weighed by the registry's domain-audit checks, which record a run for the domain
    report = relay_report()
    note = finding(
        "discovery.no-settings", "relay.test", "no working incoming or outgoing setting found"
    )
    e = report.endpoint("127.0.0.21:587")
    out = judge_domain_audit(DomainAuditFacts("relay.test", None, (note,), (e.observation,)))
    only_dead = dataclasses.replace(
        report,
        domains=(
            dataclasses.replace(
                report.domains[0],
                endpoint_ids=(e.id,),
                findings=out.findings,
                checks=out.runs,
            ),
        ),
        endpoints=(dataclasses.replace(e, findings=(), checks=()),),
    )
    # Then the run is recorded (not applicable) and the domain still has no grade
    assert [r.check for r in out.runs] == ["discovery.in-audit"]
    assert domain_summary(only_dead, only_dead.domains[0]).grade == "?"
