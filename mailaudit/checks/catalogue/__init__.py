"""The catalogue of findings: for every stable id, its title, default severity, remediation and
references. Checks name an id and give the particulars; the prose lives here only.

Entries are grouped by area in the sibling modules; `CATALOGUE` is the single registry.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Confidence, Finding, Severity

__all__ = ["CATALOGUE", "Entry", "finding", "register"]

CATALOGUE: dict[str, Entry] = {}


def register(entries: Iterable[Entry]) -> None:
    for entry in entries:
        if entry.id in CATALOGUE:
            raise ValueError(f"duplicate finding id {entry.id!r}")
        CATALOGUE[entry.id] = entry


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
    where the context changes the stakes (e.g. STARTTLS missing on an MX versus on IMAP)."""
    entry = CATALOGUE[finding_id]
    return Finding(
        id=finding_id,
        severity=severity or entry.severity,
        subject=subject,
        title=entry.title,
        detail=detail,
        remediation=entry.remediation,
        evidence=tuple(evidence),
        references=entry.references,
        confidence=confidence,
        context=context,
    )


def _load_all() -> None:
    # Importing the area modules registers their entries.
    from mailaudit.checks.catalogue import areas  # noqa: F401


_load_all()
