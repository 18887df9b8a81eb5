"""Glue between the commands and the renderers: which formats exist, progress, policy, exit."""

from __future__ import annotations

import json
from collections.abc import Callable

from mailaudit.model import Severity
from mailaudit.report.model import Report
from mailaudit.serial import to_data

FORMATS = ["text", "json"]


def render(report: Report, fmt: str, *, quiet: bool = False, verbose: bool = False) -> str:
    if fmt == "json":
        return json.dumps(to_data(report), indent=2) + "\n"
    lines = []
    for domain in report.domains:
        lines.append(f"{domain.domain}")
        for eid in domain.endpoint_ids:
            e = report.endpoint(eid)
            lines.append(f"  {e.url} ({e.id}) {e.observation.status.value}")
            lines.extend(f"    [{f.severity.value}] {f.id}: {f.detail}" for f in e.findings)
    return "\n".join(lines) + "\n"


def progress_callback(*, enabled: bool) -> Callable[[str], None] | None:
    return None


def apply_policy_file(report: Report, path: str | None) -> Report:
    return report


def exit_code(report: Report, fail_on: Severity | None) -> int:
    return 0
