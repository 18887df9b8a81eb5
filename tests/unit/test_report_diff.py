from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailaudit.cli import main
from mailaudit.model import Finding, Report, Severity
from mailaudit.report.diff import diff_exit_code, diff_reports, render_diff_text
from mailaudit.report.json_report import dump_report
from tests.unit.report_samples import clean_report, relay_report

NEW_HIGH = Finding(
    "smtp.auth-before-tls",
    Severity.HIGH,
    "smtp://mail.good.test",
    "AUTH offered before TLS",
    "EHLO lists AUTH PLAIN before STARTTLS",
    "Offer AUTH only after STARTTLS.",
)


def _with(report: Report, *findings: Finding) -> Report:
    e = report.endpoints[0]
    return dataclasses.replace(
        report,
        endpoints=(dataclasses.replace(e, findings=e.findings + findings), *report.endpoints[1:]),
    )


def test_new_resolved_and_unchanged_by_id_and_subject() -> None:
    old = relay_report()
    low = dataclasses.replace(NEW_HIGH, severity=Severity.LOW, subject="imap://imap.relay.test")
    changed_detail = relay_report()
    new = _with(changed_detail, low)
    # drop the DMARC finding from the new report: resolved
    new = dataclasses.replace(
        new, domains=(dataclasses.replace(new.domains[0], findings=new.domains[0].findings[1:]),)
    )

    diff = diff_reports(old, new)

    assert [(f.id, f.subject) for f in diff.new] == [(low.id, low.subject)]
    assert [f.id for f in diff.resolved] == ["dmarc.policy-none"]
    assert len(diff.unchanged) == len(old.all_findings()) - 1
    assert diff_exit_code(diff, Severity.LOW) == 1
    assert diff_exit_code(diff, Severity.MEDIUM) == 0
    text = render_diff_text(diff, fail_on=Severity.LOW)
    assert text.startswith("1 new, 1 resolved, 5 unchanged\n")
    assert "1 new unwaived finding(s) at or above low" in text


def test_same_finding_with_new_detail_is_unchanged() -> None:
    old = clean_report()
    a = _with(old, NEW_HIGH)
    b = _with(old, dataclasses.replace(NEW_HIGH, detail="something else"))

    diff = diff_reports(a, b)

    assert diff.new == ()
    assert diff.resolved == ()
    assert len(diff.unchanged) == 1


def _cli(tmp_path: Path, old: Report, new: Report, *args: str) -> tuple[int, str]:
    (tmp_path / "old.json").write_text(dump_report(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dump_report(new), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"), *args]
    )
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("new_finding", "args", "expected"),
    [
        (None, (), 0),
        (NEW_HIGH, (), 1),
        (NEW_HIGH, ("--fail-on", "high"), 1),
        (NEW_HIGH, ("--fail-on", "critical"), 0),
        (dataclasses.replace(NEW_HIGH, severity=Severity.INFO), (), 0),
        (dataclasses.replace(NEW_HIGH, severity=Severity.INFO), ("--fail-on", "info"), 1),
        (dataclasses.replace(NEW_HIGH, waived="accepted"), ("--fail-on", "info"), 0),
    ],
)
def test_diff_command_exit_codes(
    tmp_path: Path, new_finding: Finding | None, args: tuple[str, ...], expected: int
) -> None:
    old = clean_report()
    new = _with(old, new_finding) if new_finding else old

    code, output = _cli(tmp_path, old, new, *args)

    assert code == expected, output


def test_resolved_findings_never_fail(tmp_path: Path) -> None:
    code, output = _cli(
        tmp_path, _with(clean_report(), NEW_HIGH), clean_report(), "--fail-on", "info"
    )

    assert code == 0
    assert "0 new, 1 resolved, 0 unchanged" in output


def test_diff_policy_waives_new_findings(tmp_path: Path) -> None:
    policy = tmp_path / "mailaudit.toml"
    policy.write_text(
        '[[waiver]]\nid = "smtp.auth-before-tls"\nreason = "migration"\nexpires = 2999-01-01\n',
        encoding="utf-8",
    )

    code, _ = _cli(
        tmp_path, clean_report(), _with(clean_report(), NEW_HIGH), "--policy", str(policy)
    )

    assert code == 0


def test_diff_json_output(tmp_path: Path) -> None:
    code, output = _cli(
        tmp_path, clean_report(), _with(clean_report(), NEW_HIGH), "--format", "json"
    )

    data = json.loads(output)
    assert code == 1
    assert [f["id"] for f in data["new"]] == ["smtp.auth-before-tls"]
    assert data["resolved"] == []
    assert data["unchanged"] == []


def test_diff_of_an_unreadable_report_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    (tmp_path / "new.json").write_text(dump_report(clean_report()), encoding="utf-8")

    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]
    )

    assert result.exit_code == 2
    assert "old.json" in result.output
