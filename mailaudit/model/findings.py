"""Judgements and their record: severities, findings, check runs, and the transcript lines
that serve as evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "CheckRun",
    "CheckStatus",
    "Confidence",
    "Direction",
    "Finding",
    "Severity",
    "TranscriptEvent",
    "TranscriptLine",
]


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Confidence(StrEnum):
    CONFIRMED = "confirmed"
    # The evidence points one way but the server may still behave otherwise, e.g. a server that
    # accepts every recipient and bounces later.
    PROBABLE = "probable"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    # The check could not run: the endpoint was dead, refused, timed out...
    NOT_TESTED = "not_tested"
    # The check ran but the server's answer does not allow a verdict (421, rate limiting).
    INCONCLUSIVE = "inconclusive"


class Direction(StrEnum):
    CLIENT = "C"
    SERVER = "S"
    # A note from the tool itself, e.g. "TLS handshake: TLSv1.3".
    NOTE = "*"


class TranscriptEvent(StrEnum):
    """What a transcript line records. Judgement reads these typed events and never searches the
    prose (issue 9); the text is for display only. Ordinary commands and replies are EXCHANGE."""

    EXCHANGE = "exchange"
    CONNECT = "connect"
    GREETING = "greeting"
    # The capability request (EHLO, CAPA, CAPABILITY) and its answer.
    CAPABILITIES = "capabilities"
    # The STARTTLS/STLS command and its answer.
    STARTTLS = "starttls"
    TLS_ESTABLISHED = "tls-established"
    TLS_FAILED = "tls-failed"
    # A server answer that refused the session or the step (421, -ERR [SYS/TEMP], BYE...).
    REFUSAL = "refusal"


@dataclass(frozen=True)
class TranscriptLine:
    direction: Direction
    text: str
    # Milliseconds since the connection attempt started.
    at_ms: int = 0
    event: TranscriptEvent = TranscriptEvent.EXCHANGE

    def render(self) -> str:
        return f"{self.direction.value}: {self.text}"


@dataclass(frozen=True)
class Finding:
    """A judgement about one subject (an endpoint URL or a domain).

    `id` is a public interface: policies and waivers refer to it. The wording, remediation and
    references come from the catalogue in `mailaudit.checks.catalogue`.
    """

    id: str
    severity: Severity
    subject: str
    title: str
    detail: str
    remediation: str
    evidence: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    confidence: Confidence = Confidence.CONFIRMED
    # The context in which the finding was judged, e.g. "opportunistic TLS between MTAs (port 25)".
    context: str | None = None
    # Set when a policy waiver covers this finding: the waiver's reason. A waived finding stays
    # in the report but no longer counts for --fail-on.
    waived: str | None = None
    # How many times this finding was made for this subject; above 1 the evidence holds a few
    # of them as examples (a storm folded into one finding, see mailaudit.report.aggregate).
    occurrences: int = 1


@dataclass(frozen=True)
class CheckRun:
    """One check applied to one subject, with its outcome (the JUnit test case of the run)."""

    check: str
    subject: str
    status: CheckStatus
    reason: str | None = None
    finding_ids: tuple[str, ...] = field(default_factory=tuple)
