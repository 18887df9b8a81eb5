"""Requirements files for CI, read from disk and applied to a report. Applying them is judgement
(`mailaudit.checks.requirements`), parsing is `mailaudit.checks.requirements_file`; this module
reads the file. ("Policy file" and `--policy` are the older names: "policy" now means the DNS
mail policy only. The old Python names stay as aliases.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailaudit.checks.requirements import (
    TLS_VERSIONS,
    Requirement,
    Requirements,
    Waiver,
    apply_requirements,
)
from mailaudit.checks.requirements_file import RequirementsError, parse_requirements
from mailaudit.model import Report

__all__ = [
    "TLS_VERSIONS",
    "Policy",
    "PolicyError",
    "Requirement",
    "Requirements",
    "RequirementsError",
    "Waiver",
    "apply_policy",
    "apply_policy_file",
    "apply_requirements",
    "apply_requirements_file",
    "load_policy",
    "load_requirements",
    "parse_policy",
    "parse_requirements",
]


def load_requirements(path: str | Path) -> Requirements:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequirementsError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RequirementsError(f"{path}: not UTF-8 text") from None
    return parse_requirements(text, source=str(path))


def apply_requirements_file(report: Report, path: str | Path | None, *, today: dt.date) -> Report:
    """`apply_requirements` with the file read from `path` (no path: the report unchanged);
    `today` comes from the run's clock. Raises RequirementsError for an unreadable or invalid
    file."""
    if path is None:
        return report
    return apply_requirements(report, load_requirements(path), today)


# The older names (a "policy file", `--policy`).
Policy = Requirements
PolicyError = RequirementsError
apply_policy = apply_requirements
apply_policy_file = apply_requirements_file
load_policy = load_requirements
parse_policy = parse_requirements
