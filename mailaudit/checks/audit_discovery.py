"""Discovery's findings, judged again in the context of an audit.

`mailaudit discover` answers a user who wants settings: "no working setting found" is a real
problem there (medium). In an audit the same words mean less: the domain may publish nothing
while its client endpoints sit at guessable names (clients will still find them by guessing), or
it may receive mail only and offer no client service at all.
"""

from __future__ import annotations

from dataclasses import replace

from mailaudit.model import Finding, Severity

_GUESSABLE = (
    "audit: client endpoints answer at guessable names, but no published source (autoconfig, "
    "SRV, Autodiscover) points to them"
)
_MX_ONLY = "audit: no client endpoint answered at all; the domain may receive mail only"


def judge_discovery_in_audit(
    findings: tuple[Finding, ...], *, client_endpoints_found: bool
) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        if f.id == "discovery.no-settings":
            if client_endpoints_found:
                f = replace(f, severity=Severity.LOW, context=_GUESSABLE)
            else:
                f = replace(f, severity=Severity.INFO, context=_MX_ONLY)
        out.append(f)
    return out
