"""The one shape every check returns: its findings and the runs it recorded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.model import CheckRun, CheckStatus, Finding

__all__ = ["Outcome"]


@dataclass(frozen=True)
class Outcome:
    """Findings plus one `CheckRun` per subject the check was applied to (passed, failed, not
    applicable, not tested or inconclusive: never silently absent)."""

    findings: tuple[Finding, ...] = ()
    runs: tuple[CheckRun, ...] = ()

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.findings + other.findings, self.runs + other.runs)

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Outcome:
        findings: list[Finding] = []
        runs: list[CheckRun] = []
        for outcome in outcomes:
            findings += outcome.findings
            runs += outcome.runs
        return cls(tuple(findings), tuple(runs))

    @classmethod
    def single(
        cls,
        check: str,
        subject: str,
        status: CheckStatus,
        reason: str | None = None,
        findings: Iterable[Finding] = (),
    ) -> Outcome:
        """One run of `check` on `subject` with the findings it produced."""
        found = tuple(findings)
        run = CheckRun(check, subject, status, reason, tuple(f.id for f in found))
        return cls(found, (run,))
