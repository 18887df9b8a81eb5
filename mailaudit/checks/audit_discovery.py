"""Discovery's findings, judged again in the context of an audit.

`mailaudit discover` answers a user who wants settings: "no working setting found" is a real
problem there (medium). In an audit the same words mean less: the domain may publish nothing
while its client endpoints sit at guessable names (clients will still find them by guessing), or
it may receive mail only and offer no client service at all.
"""

from __future__ import annotations

from dataclasses import replace

from mailaudit.checks.facts import DomainAuditFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.verdict import status_of
from mailaudit.model import CheckStatus, Finding, Severity

__all__ = ["CHECK", "judge_discovery_in_audit"]

CHECK = "discovery.in-audit"

_GUESSABLE = (
    "audit: client endpoints answer at guessable names, but no published source (autoconfig, "
    "SRV, Autodiscover) points to them"
)
_MX_ONLY = "audit: no client endpoint answered at all; the domain may receive mail only"


def judge_discovery_in_audit(facts: DomainAuditFacts) -> Outcome:
    """Discovery's findings for the domain, re-weighed; one run for the domain. A domain where
    no client endpoint answered and discovery found nothing has no client service to judge: the
    run is not applicable, so it never counts as "something was tested" for the grade."""
    if facts.discovery_findings is None:
        return Outcome()
    clients = facts.client_endpoints_found
    found = _reweigh(facts.discovery_findings, client_endpoints_found=clients)
    status = status_of(found, ())
    no_service = not clients and any(f.id == "discovery.no-settings" for f in found)
    if no_service and status is CheckStatus.PASSED:
        return Outcome.single(CHECK, facts.domain, CheckStatus.NOT_APPLICABLE, _MX_ONLY, found)
    return Outcome.single(CHECK, facts.domain, status, None, found)


def _reweigh(findings: tuple[Finding, ...], *, client_endpoints_found: bool) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        if f.id == "discovery.no-settings":
            if client_endpoints_found:
                f = replace(f, severity=Severity.LOW, context=_GUESSABLE)
            else:
                f = replace(f, severity=Severity.INFO, context=_MX_ONLY)
        out.append(f)
    return out
