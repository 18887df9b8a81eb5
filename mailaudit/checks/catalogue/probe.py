"""Findings about endpoints that could not be tested at all."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

ENTRIES: tuple[Entry, ...] = tuple(
    [
        Entry(
            id="endpoint.unreachable",
            severity=Severity.INFO,
            title="Endpoint could not be tested",
            remediation="Check that the host name resolves and the service listens and answers "
            "within the timeout; a server that accepts connections and never answers stalls "
            "every client.",
        ),
        Entry(
            id="endpoint.rate-limited",
            severity=Severity.INFO,
            title="Endpoint refused the session (rate limiting): results inconclusive",
            remediation="Re-run later or from an address the server does not throttle; nothing "
            "was concluded about this endpoint.",
            references=("RFC 5321 §4.2.5 (421)",),
        ),
    ]
)
