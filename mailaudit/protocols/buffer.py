"""A byte buffer that hands out complete lines, h11-style: bytes in, lines out, None = need more.

It never touches a socket, so a reply split across TCP reads, an over-long line and bytes left
over at STARTTLS are each a plain unit test.
"""

from __future__ import annotations

from mailaudit.protocols.errors import ProtocolError


class LineBuffer:
    """Collects received bytes and yields lines without their terminator.

    Lines end in CRLF (RFC 5321 §2.3.8, RFC 1939 §3, RFC 9051 §2.2); a bare LF is tolerated
    because real servers send it. A CR not followed by LF stays part of the line.
    """

    def __init__(self, *, max_line_bytes: int = 4096) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self._max_line_bytes = max_line_bytes
        self._buf = bytearray()

    @property
    def max_line_bytes(self) -> int:
        return self._max_line_bytes

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered and not yet returned by `next_line` or `take_raw`."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_line(self) -> bytes | None:
        """One line without its terminator, or None when no complete line is buffered yet.

        Raises ProtocolError("line-too-long") as soon as the buffer holds more than
        `max_line_bytes` without a terminator, so an endless line never grows the buffer
        much beyond the cap, however the bytes arrive.
        """
        limit = self._max_line_bytes
        # Only look where a legal terminator can be: the line, an optional CR, then LF.
        end = self._buf.find(b"\n", 0, limit + 2)
        if end < 0:
            size = len(self._buf)
            # `limit` bytes plus a trailing CR may still become a legal line once LF arrives.
            if size > limit + 1 or (size == limit + 1 and self._buf[-1:] != b"\r"):
                raise ProtocolError(
                    "line-too-long", f"line longer than {limit} bytes without a terminator"
                )
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > limit:  # pragma: no cover - excluded by the search window above
            raise ProtocolError("line-too-long", f"line longer than {limit} bytes")
        return line

    def take_raw(self, n: int) -> bytes:
        """Up to `n` raw bytes (fewer if fewer are buffered), for IMAP literals (RFC 9051 §4.3)."""
        if n < 0:
            raise ValueError("n must not be negative")
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return chunk
