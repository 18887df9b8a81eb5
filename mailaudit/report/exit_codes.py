"""Exit codes of a report: the one policy (`mailaudit.checks.exit_policy`) applied to a Report,
with "not audited" and "not tested" read off it (`mailaudit.report.outcome`,
`mailaudit.checks.grading`).

Two codes belong to the command line alone, not to a report: ``5`` (EXIT_OUTPUT) an output file
(`--json`, `--html`, `--sarif`, `--junit`, `report -o`) could not be written at the end of a run
(the other outputs were written and the report printed), and ``70`` (EXIT_INTERNAL, EX_SOFTWARE
of sysexits.h) an unexpected error: a bug, reported in one line (`MAILAUDIT_DEBUG=1` shows the
traceback)."""

from __future__ import annotations

from mailaudit.checks import exit_policy
from mailaudit.checks.exit_policy import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_NOT_AUDITED,
    EXIT_NOT_TESTED,
    EXIT_OK,
    EXIT_USAGE,
)
from mailaudit.checks.grading import untested, untested_of_endpoint
from mailaudit.model import Report, Severity
from mailaudit.report.outcome import AuditStatus, domain_outcome

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_AUDITED",
    "EXIT_NOT_TESTED",
    "EXIT_OK",
    "EXIT_OUTPUT",
    "EXIT_USAGE",
    "exit_code",
    "failing",
    "outcome_exit_code",
]

EXIT_OUTPUT = 5
EXIT_INTERNAL = 70


def failing(report: Report, fail_on: Severity) -> bool:
    """An unwaived finding at or above `fail_on`."""
    return bool(exit_policy.failing(report.all_findings(), fail_on))


def exit_code(report: Report, fail_on: Severity | None) -> int:
    # One pass over the domains: a fleet's are read back one at a time (report/streamed.py).
    endpoints = {e.id: e for e in report.endpoints}
    over = not_audited = not_tested = False
    for d in report.domains:
        if fail_on is not None:
            over |= bool(exit_policy.failing(d.findings, fail_on))
        used = [endpoints[i] for i in d.endpoint_ids if i in endpoints]
        not_audited |= domain_outcome(d, used).status is AuditStatus.NOT_AUDITED
        not_tested |= bool(untested(report, d))
    for e in report.endpoints:
        if fail_on is not None:
            over |= bool(exit_policy.failing(e.findings, fail_on))
        not_tested |= bool(untested_of_endpoint(e))
    return outcome_exit_code(failing=over, not_audited=not_audited, untested=not_tested)


def outcome_exit_code(*, failing: bool, not_audited: bool, untested: bool) -> int:
    """The policy for a fleet streamed without a Report (the tallies are counted already)."""
    if failing:
        return EXIT_FINDINGS
    return exit_policy.exit_code((), fail_on=None, not_audited=not_audited, not_tested=untested)
