"""The one rule that turns a check's findings into its status, for the checks that derive it."""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.model import CheckStatus, Finding, Severity

__all__ = ["status_of"]


def status_of(
    findings: Iterable[Finding], reasons: Iterable[str], *, not_applicable: bool = False
) -> CheckStatus:
    """Failed on any finding of low or above (informational ones alone still pass); otherwise
    not tested when some facts could not be gathered — never "passed" for what was not seen."""
    findings, reasons = list(findings), list(reasons)
    if not_applicable and not findings:
        return CheckStatus.NOT_APPLICABLE
    if any(f.severity.at_least(Severity.LOW) for f in findings):
        return CheckStatus.FAILED
    if reasons:
        return CheckStatus.NOT_TESTED
    return CheckStatus.PASSED
