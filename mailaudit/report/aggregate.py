"""Finding storms folded into one finding each (issue 10, item 7).

A domain with 1,000 MX hosts that publish no SPF record must not give 1,000 `spf.helo-missing`
findings: people read reports, and CI diffs, waivers and SARIF key findings on id and subject.
This pure step, run once on the finished report, keeps one finding per id and subject with the
number of occurrences and the first few as examples, and lists each finding id once per check
run. Checks stay simple (one finding per fact); only the report is condensed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from mailaudit.model import CheckRun, DomainReport, EndpointReport, Finding, Report

__all__ = [
    "MAX_EXAMPLES",
    "condense",
    "condense_domain",
    "condense_endpoint",
    "merge_repeated",
    "unique_finding_ids",
]

# How many of the folded findings the merged one keeps as examples.
MAX_EXAMPLES = 5


def merge_repeated(
    findings: Iterable[Finding], *, max_examples: int = MAX_EXAMPLES
) -> tuple[Finding, ...]:
    """One finding per (id, subject), in order of first appearance. Findings a waiver covers
    stay apart from those it does not (the waiver decides whether they count). A merged finding
    has the highest severity of its group and says how many there were; its evidence is the
    first one's, then the details of the next few (`max_examples` in all)."""
    groups: dict[tuple[str, str, str | None], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.id, finding.subject, finding.waived), []).append(finding)
    return tuple(_merge(group, max_examples) for group in groups.values())


def _merge(group: list[Finding], max_examples: int) -> Finding:
    if len(group) == 1:
        return group[0]
    first = group[0]
    total = sum(f.occurrences for f in group)
    others = group[1:max_examples]
    rest = total - first.occurrences - sum(f.occurrences for f in others)
    evidence = [*first.evidence, *(f"also: {f.detail}" for f in others)]
    if rest > 0:
        evidence.append(f"... and {rest} more")
    worst = max(group, key=lambda f: f.severity.rank)
    return dataclasses.replace(
        worst,
        detail=f"{first.detail} ({total} occurrences in all)",
        evidence=tuple(evidence),
        occurrences=total,
    )


def unique_finding_ids(run: CheckRun) -> CheckRun:
    """The run with each finding id listed once (the findings themselves are merged)."""
    ids = tuple(dict.fromkeys(run.finding_ids))
    return run if ids == run.finding_ids else dataclasses.replace(run, finding_ids=ids)


def condense(report: Report) -> Report:
    """The report with every storm of findings folded (see `merge_repeated`)."""
    return dataclasses.replace(
        report,
        domains=tuple(condense_domain(d) for d in report.domains),
        endpoints=tuple(condense_endpoint(e) for e in report.endpoints),
    )


def condense_domain(domain: DomainReport) -> DomainReport:
    """One domain of `condense`: a fleet's report condenses its domains one at a time."""
    return dataclasses.replace(
        domain,
        findings=merge_repeated(domain.findings),
        checks=tuple(unique_finding_ids(r) for r in domain.checks),
    )


def condense_endpoint(endpoint: EndpointReport) -> EndpointReport:
    return dataclasses.replace(
        endpoint,
        findings=merge_repeated(endpoint.findings),
        checks=tuple(unique_finding_ids(r) for r in endpoint.checks),
    )
