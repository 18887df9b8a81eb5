from __future__ import annotations

from dataclasses import dataclass

from mailaudit.model import Severity


@dataclass(frozen=True)
class Entry:
    """The words of one finding id: title, severity rules, remediation and references."""

    id: str
    severity: Severity
    title: str
    remediation: str
    references: tuple[str, ...] = ()
    # Every severity a check may give this id when the context changes the stakes (port 25
    # versus a client port, enforce versus testing mode...); empty: always `severity`.
    severities: tuple[Severity, ...] = ()

    @property
    def allowed(self) -> tuple[Severity, ...]:
        """The severities this id can have, lowest first."""
        return tuple(sorted({self.severity, *self.severities}, key=lambda s: s.rank))
