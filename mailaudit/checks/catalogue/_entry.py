from __future__ import annotations

from dataclasses import dataclass

from mailaudit.model import Severity


@dataclass(frozen=True)
class Entry:
    id: str
    severity: Severity
    title: str
    remediation: str
    references: tuple[str, ...] = ()
