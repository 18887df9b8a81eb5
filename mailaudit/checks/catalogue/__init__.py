"""The catalogue of findings: for every stable id, its title, severity rules, remediation and
references. Checks name an id and give the particulars; the prose lives here only.

Entries are grouped by area in the sibling modules, each exporting `ENTRIES`; `CATALOGUE` is
built from them explicitly below, so its contents never depend on what happened to be imported.
Every id belongs to exactly one check of `mailaudit.checks.registry` (a test holds the two
together).
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.catalogue import (
    discovery,
    dns,
    probe,
    protocol,
    requirements,
    scope,
    tls,
)
from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Confidence, Finding, Severity

__all__ = ["CATALOGUE", "Entry", "UnknownFindingId", "entry", "finding"]


class UnknownFindingId(KeyError):
    """A finding id that no catalogue entry describes (a typo, or a report from another version)."""


def _build(*areas: Iterable[Entry]) -> dict[str, Entry]:
    table: dict[str, Entry] = {}
    for area in areas:
        for item in area:
            if item.id in table:
                raise ValueError(f"duplicate finding id {item.id!r}")
            table[item.id] = item
    return table


CATALOGUE: dict[str, Entry] = _build(
    probe.ENTRIES,
    protocol.ENTRIES,
    tls.ENTRIES,
    dns.ENTRIES,
    discovery.ENTRIES,
    requirements.ENTRIES,
    scope.ENTRIES,
)


def entry(finding_id: str) -> Entry:
    """The catalogue entry of `finding_id`; `UnknownFindingId` when there is none."""
    try:
        return CATALOGUE[finding_id]
    except KeyError:
        raise UnknownFindingId(finding_id) from None


def finding(
    finding_id: str,
    subject: str,
    detail: str,
    *,
    evidence: Iterable[str] = (),
    severity: Severity | None = None,
    confidence: Confidence = Confidence.CONFIRMED,
    context: str | None = None,
) -> Finding:
    """Build a finding for `finding_id` from the catalogue; `severity` overrides the default
    where the context changes the stakes (e.g. STARTTLS missing on an MX versus on IMAP), and
    must be one the entry allows."""
    known = entry(finding_id)
    chosen = severity or known.severity
    if chosen not in known.allowed:
        raise ValueError(
            f"{finding_id}: severity {chosen.value} is outside its catalogue entry "
            f"({', '.join(s.value for s in known.allowed)})"
        )
    return Finding(
        id=finding_id,
        severity=chosen,
        subject=subject,
        title=known.title,
        detail=detail,
        remediation=known.remediation,
        evidence=tuple(evidence),
        references=known.references,
        confidence=confidence,
        context=context,
    )
