"""The public API of mailaudit.report: a curated __all__, guarded like httpx's exported members."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mailaudit.report as report_api

EXPECTED = {
    "FORMATS",
    "DomainSummary",
    "Policy",
    "PolicyError",
    "Progress",
    "ReportDiff",
    "ReportLoadError",
    "Requirement",
    "Requirements",
    "RequirementsError",
    "Waiver",
    "apply_policy",
    "apply_policy_file",
    "apply_requirements",
    "apply_requirements_file",
    "diff_exit_code",
    "diff_reports",
    "domain_summary",
    "dump_report",
    "exit_code",
    "json_schema",
    "load_policy",
    "load_report",
    "load_requirements",
    "parse_policy",
    "parse_report",
    "parse_requirements",
    "progress_callback",
    "render_report",
    "render_html",
    "render_junit",
    "render_sarif",
    "render_text",
}


def test_exported_members() -> None:
    assert set(report_api.__all__) == EXPECTED
    for name in report_api.__all__:
        assert getattr(report_api, name) is not None, name


def test_render_dispatches_every_format() -> None:
    from tests.unit.report_samples import clean_report

    for fmt in report_api.FORMATS:
        assert report_api.render_report(clean_report(), fmt)


def test_scanning_code_does_not_load_the_renderers() -> None:
    # (httpx itself tries to import rich for its own CLI, so look at our modules and jinja2.)
    code = (
        "import sys, mailaudit.model, mailaudit.report, mailaudit.report.json_report;"
        "import mailaudit.audit.runner;"
        "print(sorted(m for m in ('mailaudit.report.text', 'mailaudit.report.html', 'jinja2')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"


def test_only_the_terminal_renderer_imports_rich() -> None:
    package = Path(report_api.__file__).resolve().parent.parent
    importing = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(import rich|from rich)", path.read_text(encoding="utf-8"), re.M)
    )

    terminal = {"report/text.py", "report/fleet_text.py", "report/terminal.py"}  # the terminal
    assert set(importing) <= terminal | {"cli/reports.py", "cli/audit.py", "cli/outputs.py"}
    assert "report/text.py" in importing


def test_the_older_policy_names_are_the_requirements_names() -> None:
    assert report_api.Policy is report_api.Requirements
    assert report_api.PolicyError is report_api.RequirementsError
    assert report_api.apply_policy is report_api.apply_requirements
    assert report_api.apply_policy_file is report_api.apply_requirements_file
    assert report_api.load_policy is report_api.load_requirements
    assert report_api.parse_policy is report_api.parse_requirements
