"""Judging a domain's DNS mail policy: `PolicyObservation` in, findings and check runs out.

Pure: no I/O, no clock. Each `_check_*` function is one check (one `CheckRun`), listed in the
check registry (`mailaudit.checks.registry`, scope "domain"); a check whose facts could not be
gathered (a DNS timeout) says `not_tested` with the reason, never `passed`. A check whose only
findings are informational still passes; it fails at low and above.
"""

from __future__ import annotations

from mailaudit.checks.dns_policy.mtasts import MTASTS_MIN_MAX_AGE_S
from mailaudit.model import CheckRun, Finding, PolicyObservation

__all__ = ["MTASTS_MIN_MAX_AGE_S", "judge_policy"]


def judge_policy(obs: PolicyObservation) -> tuple[list[Finding], list[CheckRun]]:
    """All DNS mail policy checks of one domain (the registry's domain scope); the subject of
    every finding is the domain. New code calls `mailaudit.checks.judge.judge_domain`."""
    from mailaudit.checks.facts import DomainFacts
    from mailaudit.checks.judge import judge_domain

    out = judge_domain(DomainFacts(obs))
    return list(out.findings), list(out.runs)
