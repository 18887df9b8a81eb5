"""The one exception the sans-I/O readers raise.

Every reader in this package turns *any* malformed, hostile or oversized input into a
`ProtocolError` with a short machine-friendly `reason`; nothing else escapes, whatever the bytes.
Once a reader has raised, the stream is out of step and the reader keeps raising the same error.

Reasons: line-too-long, reply-too-large, bad-reply-code, inconsistent-reply-code,
too-many-lines, literal-too-large, bad-response.
"""

from __future__ import annotations

from mailaudit.errors import MailauditError


class ProtocolError(MailauditError):
    """The peer broke the protocol or one of our size caps; `reason` is stable, the message is prose."""

    reason: str

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message if message is not None else reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self)

    def __reduce__(self) -> tuple[type[ProtocolError], tuple[str, str]]:
        # Keep `reason` across pickling (Exception would rebuild from the message alone).
        return (type(self), (self.reason, str(self)))
