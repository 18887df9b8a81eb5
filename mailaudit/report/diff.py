"""Compare two saved reports: which findings are new, resolved or unchanged.

A finding is identified by its id and subject (the detail may change between runs without making
it a different finding). `diff_exit_code` is non-zero when new, unwaived findings reach the
threshold: "this release must not make mail security worse".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mailaudit.checks.exit_policy import exit_code, failing
from mailaudit.model import Finding, Report, Severity
from mailaudit.serial import to_data

__all__ = ["ReportDiff", "diff_exit_code", "diff_reports", "render_diff_json", "render_diff_text"]

FindingKey = tuple[str, str]


@dataclass(frozen=True)
class ReportDiff:
    new: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]  # as they are in the new report

    def new_at_least(self, threshold: Severity) -> tuple[Finding, ...]:
        return tuple(failing(self.new, threshold))


def key(f: Finding) -> FindingKey:
    return (f.id, f.subject)


def _by_key(report: Report) -> dict[FindingKey, Finding]:
    out: dict[FindingKey, Finding] = {}
    for f in report.all_findings():
        # Several findings with one key: keep the worst (the key is what a user waives).
        if key(f) not in out or f.severity.rank > out[key(f)].severity.rank:
            out[key(f)] = f
    return out


def _order(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.id, f.subject)))


def diff_reports(old: Report, new: Report) -> ReportDiff:
    before, after = _by_key(old), _by_key(new)
    return ReportDiff(
        new=_order([f for k, f in after.items() if k not in before]),
        resolved=_order([f for k, f in before.items() if k not in after]),
        unchanged=_order([f for k, f in after.items() if k in before]),
    )


def diff_exit_code(diff: ReportDiff, fail_on: Severity) -> int:
    """The one exit-code policy over the new findings (a waived one never fails)."""
    return exit_code(diff.new, fail_on=fail_on)


def render_diff_text(diff: ReportDiff, *, fail_on: Severity | None = None) -> str:
    lines = [f"{len(diff.new)} new, {len(diff.resolved)} resolved, {len(diff.unchanged)} unchanged"]
    for title, findings in (("New", diff.new), ("Resolved", diff.resolved)):
        if findings:
            lines.append("")
            lines.append(f"{title}:")
            for f in findings:
                waived = "  (waived)" if f.waived is not None else ""
                lines.append(f"  [{f.severity.value}] {f.id} {f.subject}{waived}")
                lines.append(f"      {f.title}")
    if fail_on is not None:
        failing = diff.new_at_least(fail_on)
        lines.append("")
        lines.append(
            f"{len(failing)} new unwaived finding(s) at or above {fail_on.value}"
            if failing
            else f"no new unwaived finding at or above {fail_on.value}"
        )
    return "".join(_printable(line) + "\n" for line in lines)


def _printable(line: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line)


def render_diff_json(diff: ReportDiff) -> str:
    data = {
        "new": [to_data(f) for f in diff.new],
        "resolved": [to_data(f) for f in diff.resolved],
        "unchanged": [to_data(f) for f in diff.unchanged],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
