from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from mailaudit.model import CheckStatus
from mailaudit.report.junit import render_junit
from tests.unit.report_samples import HOSTILE, hostile_report, relay_report


def test_one_testcase_per_check_run_in_suites_per_domain_and_endpoint() -> None:
    report = relay_report()
    root = ET.fromstring(render_junit(report))

    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["relay.test"] + [
        f"{e.url} ({e.id})" for e in report.endpoints
    ]
    runs = list(report.domains[0].checks) + [c for e in report.endpoints for c in e.checks]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(runs)
    assert [c.get("name") for c in cases] == [r.check for r in runs]
    assert root.get("tests") == str(len(runs))


def test_outcomes_map_to_failure_and_skipped() -> None:
    report = relay_report()
    root = ET.fromstring(render_junit(report))
    runs = list(report.domains[0].checks) + [c for e in report.endpoints for c in e.checks]

    for case, run in zip(root.findall("testsuite/testcase"), runs, strict=True):
        failure, skipped = case.find("failure"), case.find("skipped")
        if run.status is CheckStatus.FAILED:
            assert failure is not None
            assert skipped is None
        elif run.status is CheckStatus.PASSED:
            assert failure is None
            assert skipped is None
        else:
            assert skipped is not None
            assert failure is None
            assert run.status.value.replace("_", " ") in (skipped.get("message") or "")
    failed = sum(r.status is CheckStatus.FAILED for r in runs)
    assert root.get("failures") == str(failed)
    assert root.get("skipped") == str(
        sum(r.status not in (CheckStatus.FAILED, CheckStatus.PASSED) for r in runs)
    )


def test_failure_carries_finding_title_detail_and_evidence() -> None:
    root = ET.fromstring(render_junit(relay_report()))
    case = next(c for c in root.iter("testcase") if c.get("name") == "smtp.open-relay")
    failure = case.find("failure")

    assert failure is not None
    assert failure.get("type") == "critical"
    assert "Open relay" in (failure.get("message") or "")
    assert "RCPT TO:<probe@mailaudit-relay-test.invalid>" in (failure.text or "")


def test_failure_whose_findings_are_all_waived_is_skipped() -> None:
    report = relay_report()
    mx = report.endpoints[1]
    waived = tuple(dataclasses.replace(f, waived="accepted") for f in mx.findings)
    report = dataclasses.replace(
        report,
        endpoints=(
            report.endpoints[0],
            dataclasses.replace(mx, findings=waived),
            report.endpoints[2],
        ),
    )
    root = ET.fromstring(render_junit(report))
    case = next(c for c in root.iter("testcase") if c.get("name") == "smtp.open-relay")

    assert case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "waived: accepted"


def test_hostile_text_is_escaped_and_xml_stays_valid() -> None:
    xml = render_junit(hostile_report())
    root = ET.fromstring(xml.encode("utf-8"))

    assert "<script>" not in xml
    names = [c.get("name") for c in root.iter("testcase")]
    assert f"odd.{HOSTILE}" in names
    assert "\\x1b[31mred" in xml
    assert "\x1b" not in xml
    assert "\x00" not in xml
