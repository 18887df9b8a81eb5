"""Judgement of what the SSRF guard refused. Pure: facts in, findings out."""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.catalogue import finding
from mailaudit.model import Finding, RefusedTarget


def judge_refused_targets(subject: str, refused: Iterable[RefusedTarget]) -> list[Finding]:
    """One finding per refused name (all its refused addresses as evidence). The detail names
    the address range only: nothing was sent there, so there is no status to report."""
    by_host: dict[str, list[RefusedTarget]] = {}
    for target in refused:
        by_host.setdefault(target.host, []).append(target)
    findings = []
    for host, targets in sorted(by_host.items()):
        ranges = ", ".join(sorted({t.range.value for t in targets}))
        findings.append(
            finding(
                "scope.private-address-refused",
                subject,
                f"{host} leads to non-global addresses ({ranges}); not contacted",
                evidence=tuple(f"{t.host} -> {t.address} ({t.range.value})" for t in targets),
            )
        )
    return findings
