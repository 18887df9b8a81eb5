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


def judge_out_of_scope(
    subject: str, entries: Iterable[tuple[str, str, tuple[str, ...]]], *, passive: str
) -> list[Finding]:
    """One finding for an endpoint outside the scope of every domain that led to it. `entries`
    are (domain, host, reference chain); `passive` says what was done there instead."""
    entries = list(entries)
    if not entries:
        return []
    domains = sorted({domain for domain, _, _ in entries})
    hosts = sorted({host for _, host, _ in entries})
    evidence = [f"{domain}: {' -> '.join(chain)}" for domain, _, chain in entries]
    return [
        finding(
            "scope.out-of-scope",
            subject,
            f"out of scope, not actively tested: {', '.join(hosts)} is outside the scope of "
            f"{', '.join(domains)} (not its own domain, an MX or MX provider, an SRV target, an "
            f"--endpoint or a --scope domain); {passive}",
            evidence=evidence,
        )
    ]
