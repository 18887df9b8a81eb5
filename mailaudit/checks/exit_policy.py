"""The one exit-code policy of every command (audit, report, diff, discover, ispdb lint, fleet
runs); a public interface for CI (README "Exit codes").

Precedence, highest first:

1. ``3`` (EXIT_NOT_TESTED) when the run could verify nothing at all (discover: not one setting
   worked) — there is no verdict to fail on;
2. ``1`` (EXIT_FINDINGS) when ``fail_on`` is given and an *unwaived* finding reaches it (a
   waived finding never fails a run) — a real problem outranks "could not test everything";
3. ``4`` (EXIT_NOT_AUDITED) when a domain could not be audited at all (see
   `mailaudit.report.outcome`) — a fleet run that lost domains must not look like one that merely
   missed a check;
4. ``3`` (EXIT_NOT_TESTED) when something could not be tested (a probe failed or was refused, a
   check was not tested or inconclusive, a lookup failed) — never reported as clean;
5. ``0`` otherwise.

Exit code 2 (usage error) belongs to the command line; ``130`` (EXIT_INTERRUPTED) means the run
was interrupted (Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.model import Finding, Severity

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_AUDITED",
    "EXIT_NOT_TESTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "exit_code",
    "failing",
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_NOT_TESTED = 3
EXIT_NOT_AUDITED = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def failing(findings: Iterable[Finding], fail_on: Severity) -> list[Finding]:
    """The unwaived findings at or above `fail_on`."""
    return [f for f in findings if f.waived is None and f.severity.at_least(fail_on)]


def exit_code(
    findings: Iterable[Finding],
    *,
    fail_on: Severity | None,
    not_tested: bool = False,
    not_audited: bool = False,
    nothing_tested: bool = False,
) -> int:
    if nothing_tested:
        return EXIT_NOT_TESTED
    if fail_on is not None and failing(findings, fail_on):
        return EXIT_FINDINGS
    if not_audited:
        return EXIT_NOT_AUDITED
    if not_tested:
        return EXIT_NOT_TESTED
    return EXIT_OK
