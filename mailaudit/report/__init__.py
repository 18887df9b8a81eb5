"""Reports: one `Report` model rendered as JSON (with a committed JSON Schema), HTML, terminal
text, SARIF 2.1.0 and JUnit XML; requirements files with waivers; diffs; CI exit codes.

The Report itself and its parts live in `mailaudit.model`. Names are loaded on first use, so
scanning code never pulls in jinja2 or rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailaudit.checks.grading import DomainSummary, domain_summary
    from mailaudit.report.diff import ReportDiff, diff_exit_code, diff_reports
    from mailaudit.report.exit_codes import exit_code
    from mailaudit.report.formats import FORMATS, render_report
    from mailaudit.report.html import render_html
    from mailaudit.report.json_report import (
        ReportLoadError,
        dump_report,
        load_report,
        parse_report,
    )
    from mailaudit.report.junit import render_junit
    from mailaudit.report.requirements import (
        Policy,
        PolicyError,
        Requirement,
        Requirements,
        RequirementsError,
        Waiver,
        apply_policy,
        apply_policy_file,
        apply_requirements,
        apply_requirements_file,
        load_policy,
        load_requirements,
        parse_policy,
        parse_requirements,
    )
    from mailaudit.report.sarif import render_sarif
    from mailaudit.report.schema import json_schema
    from mailaudit.report.text import Progress, progress_callback, render_text

# Public name -> the module that defines it.
_WHERE = {
    "ReportLoadError": "json_report",
    "dump_report": "json_report",
    "load_report": "json_report",
    "parse_report": "json_report",
    "json_schema": "schema",
    "FORMATS": "formats",
    "render_report": "formats",
    "render_html": "html",
    "render_text": "text",
    "Progress": "text",
    "progress_callback": "text",
    "render_sarif": "sarif",
    "render_junit": "junit",
    "Requirements": "requirements",
    "RequirementsError": "requirements",
    "Requirement": "requirements",
    "Waiver": "requirements",
    "apply_requirements": "requirements",
    "apply_requirements_file": "requirements",
    "load_requirements": "requirements",
    "parse_requirements": "requirements",
    # The older names ("policy file").
    "Policy": "requirements",
    "PolicyError": "requirements",
    "apply_policy": "requirements",
    "apply_policy_file": "requirements",
    "load_policy": "requirements",
    "parse_policy": "requirements",
    "ReportDiff": "diff",
    "diff_exit_code": "diff",
    "diff_reports": "diff",
    "exit_code": "exit_codes",
    "DomainSummary": "mailaudit.checks.grading",
    "domain_summary": "mailaudit.checks.grading",
}

__all__ = [
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
    "render_html",
    "render_junit",
    "render_report",
    "render_sarif",
    "render_text",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mailaudit.report' has no attribute {name!r}")
    path = module if "." in module else f"mailaudit.report.{module}"
    value = getattr(importlib.import_module(path), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
