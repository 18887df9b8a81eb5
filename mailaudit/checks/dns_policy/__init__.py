"""Judging a domain's DNS mail policy: `PolicyObservation` in, findings and check runs out.

Pure: no I/O, no clock. Each `_check_*` function is one check (one `CheckRun`); a check whose
facts could not be gathered (a DNS timeout) says `not_tested` with the reason, never `passed`.
A check whose only findings are informational still passes; it fails at low and above.
"""

from __future__ import annotations

from collections.abc import Callable

from mailaudit.checks.dns_policy._verdict import _Verdict
from mailaudit.checks.dns_policy.dmarc import (
    _check_dmarc_policy,
    _check_dmarc_record,
    _check_dmarc_reports,
)
from mailaudit.checks.dns_policy.dnssec import _check_dane, _check_dnssec, _check_ptr
from mailaudit.checks.dns_policy.mtasts import (
    MTASTS_MIN_MAX_AGE_S,
    _check_mtasts_coverage,
    _check_mtasts_mode,
    _check_mtasts_policy,
    _check_tlsrpt,
)
from mailaudit.checks.dns_policy.mtasts_mx import judge_mx_certificates
from mailaudit.checks.dns_policy.mx import _check_mx
from mailaudit.checks.dns_policy.spf import (
    _check_spf_all,
    _check_spf_helo,
    _check_spf_lookups,
    _check_spf_record,
)
from mailaudit.model import CheckRun, CheckStatus, Finding, LookupStatus, PolicyObservation

__all__ = ["MTASTS_MIN_MAX_AGE_S", "judge_mx_certificates", "judge_policy"]


def judge_policy(obs: PolicyObservation) -> tuple[list[Finding], list[CheckRun]]:
    """All DNS mail policy checks of one domain; the subject of every finding is the domain."""
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for check in _CHECKS:
        verdict = check(obs)
        if obs.mx.lookup.status is LookupStatus.NXDOMAIN and verdict.check != "dns.mx":
            verdict = _Verdict(
                verdict.check,
                status=CheckStatus.NOT_APPLICABLE,
                reasons=["the domain does not exist"],
            )
        findings.extend(verdict.findings)
        runs.append(verdict.run(obs.domain))
    return findings, runs


_CHECKS: tuple[Callable[[PolicyObservation], _Verdict], ...] = (
    _check_mx,
    _check_spf_record,
    _check_spf_lookups,
    _check_spf_all,
    _check_spf_helo,
    _check_dmarc_record,
    _check_dmarc_policy,
    _check_dmarc_reports,
    _check_mtasts_policy,
    _check_mtasts_mode,
    _check_mtasts_coverage,
    _check_tlsrpt,
    _check_dnssec,
    _check_dane,
    _check_ptr,
)
