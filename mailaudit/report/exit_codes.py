"""Exit codes for CI, a public interface (README "Exit codes").

Precedence, highest first:

1. ``1`` (EXIT_FINDINGS) when ``fail_on`` is given and an unwaived finding reaches it — a real
   problem outranks "could not test everything";
2. ``4`` (EXIT_NOT_AUDITED) when a domain could not be audited at all (its MX lookup failed,
   its domain phase crashed: see `mailaudit.report.outcome`) — a fleet run that lost domains
   must not look like one that merely missed a check;
3. ``3`` (EXIT_NOT_TESTED) when something could not be tested (a probe failed or was refused, a
   check was not tested or inconclusive, a domain lookup failed) — never reported as clean;
4. ``0`` otherwise.

Without ``fail_on`` findings never fail the run; only "could not test" does. Exit code 2 (usage
error) belongs to the command line; ``130`` (EXIT_INTERRUPTED) means the run was interrupted
(Ctrl-C): with ``--jsonl`` it can be continued with ``--resume``.
"""

from __future__ import annotations

from mailaudit.model import Report, Severity
from mailaudit.report.outcome import fleet_outcome
from mailaudit.report.summary import untested

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_AUDITED",
    "EXIT_NOT_TESTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "exit_code",
    "failing",
    "outcome_exit_code",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_NOT_TESTED = 3
EXIT_NOT_AUDITED = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def failing(report: Report, fail_on: Severity) -> bool:
    """An unwaived finding at or above `fail_on`."""
    return any(f.waived is None and f.severity.at_least(fail_on) for f in report.all_findings())


def exit_code(report: Report, fail_on: Severity | None) -> int:
    return outcome_exit_code(
        failing=fail_on is not None and failing(report, fail_on),
        not_audited=fleet_outcome(report).any_not_audited,
        untested=bool(untested(report)),
    )


def outcome_exit_code(*, failing: bool, not_audited: bool, untested: bool) -> int:
    """The precedence above, for a Report or for a fleet streamed without one."""
    if failing:
        return EXIT_FINDINGS
    if not_audited:
        return EXIT_NOT_AUDITED
    if untested:
        return EXIT_NOT_TESTED
    return EXIT_OK
