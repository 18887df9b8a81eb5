"""POP3 responses and CAPA, sans I/O: bytes in, `Pop3Response` out, None = need more data.

RFC 1939 §3: a response is a status line starting "+OK" or "-ERR"; some commands add a
multi-line body ending in a line holding only ".", with lines starting "." byte-stuffed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailaudit.protocols.buffer import LineBuffer
from mailaudit.protocols.errors import ProtocolError


@dataclass(frozen=True)
class Pop3Response:
    """One response. `lines` is the dot-unstuffed body without the terminating "."."""

    ok: bool
    text: str
    lines: tuple[str, ...] = ()
    # Whether a body was read (so `raw_lines` shows the terminating "."); not part of equality,
    # so callers may compare against Pop3Response(ok=..., text=..., lines=...).
    multiline: bool = field(default=False, compare=False)

    def raw_lines(self) -> list[str]:
        """The response as it looked on the wire (dot-stuffed body and "."), for transcripts."""
        status = "+OK" if self.ok else "-ERR"
        out = [f"{status} {self.text}" if self.text else status]
        if self.multiline or self.lines:
            out.extend("." + line if line.startswith(".") else line for line in self.lines)
            out.append(".")
        return out


class Pop3Reader:
    """Reads responses; caps lines and bytes per response so an endless body cannot grow memory.

    RFC 2449 §4 limits a status line to 512 octets, but bodies (RETR, TOP) may carry longer
    message lines, hence the looser default line cap.
    """

    def __init__(
        self, *, max_line_bytes: int = 2048, max_lines: int = 1000, max_bytes: int = 262144
    ) -> None:
        self._buf = LineBuffer(max_line_bytes=max_line_bytes)
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._status: tuple[bool, str] | None = None
        self._multiline = False
        self._lines: list[str] = []
        self._response_bytes = 0
        self._error: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned in a complete response; must be 0 before STLS
        (RFC 2595 §4: the client discards nothing, so leftovers would be read as if protected)."""
        return self._response_bytes + self._buf.pending_bytes

    def feed(self, data: bytes) -> None:
        self._buf.feed(data)

    def next_response(self, *, multiline: bool = False) -> Pop3Response | None:
        """The next response, or None for "need more data".

        `multiline` says whether the command just sent has a multi-line answer (CAPA, LIST,
        UIDL, RETR, TOP ...). POP3 cannot tell from the bytes alone. While a response is half
        read the flag given when it started applies. The body is only read after +OK: a -ERR
        ends the response (RFC 1939 §3).
        """
        if self._error is not None:
            raise self._error
        try:
            return self._next_response(multiline)
        except ProtocolError as error:
            self._error = error
            raise

    def _next_line(self) -> bytes | None:
        before = self._buf.pending_bytes
        line = self._buf.next_line()
        if line is not None:
            self._response_bytes += before - self._buf.pending_bytes
            if self._response_bytes > self._max_bytes:
                raise ProtocolError(
                    "reply-too-large", f"response larger than {self._max_bytes} bytes"
                )
        return line

    def _next_response(self, multiline: bool) -> Pop3Response | None:
        if self._status is None:
            line = self._next_line()
            if line is None:
                return None
            self._status = _parse_status(line)
            self._multiline = multiline and self._status[0]
        ok, text = self._status
        while self._multiline:
            line = self._next_line()
            if line is None:
                return None
            if line == b".":
                break
            if line.startswith(b"."):
                line = line[1:]
            self._lines.append(line.decode("utf-8", errors="replace"))
            if len(self._lines) > self._max_lines:
                raise ProtocolError("too-many-lines", f"body longer than {self._max_lines} lines")
        response = Pop3Response(
            ok=ok, text=text, lines=tuple(self._lines), multiline=self._multiline
        )
        self._status = None
        self._multiline = False
        self._lines = []
        self._response_bytes = 0
        return response


def _parse_status(line: bytes) -> tuple[bool, str]:
    # Upper case per RFC 1939 §3; we accept any case and a bare "+OK" with no text.
    for indicator, ok in ((b"+OK", True), (b"-ERR", False)):
        head = line[: len(indicator)]
        rest = line[len(indicator) :]
        if head.upper() == indicator and (not rest or rest[:1] in (b" ", b"\t")):
            return ok, rest.strip(b" \t").decode("utf-8", errors="replace")
    raise ProtocolError("bad-response", f"status line is neither +OK nor -ERR: {line[:40]!r}")


@dataclass(frozen=True)
class Pop3Capabilities:
    """A parsed CAPA response (RFC 2449 §5): keyword upper-cased → parameters."""

    items: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.items

    @property
    def supports_stls(self) -> bool:
        return self.has("STLS")  # RFC 2595 §4

    @property
    def supports_user(self) -> bool:
        return self.has("USER")  # RFC 2449 §6.8: plaintext USER/PASS offered

    @property
    def sasl_mechanisms(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for name in self.items.get("SASL", ()):
            seen.setdefault(name.upper(), None)
        return tuple(seen)

    @property
    def implementation(self) -> str | None:
        params = self.items.get("IMPLEMENTATION")
        return " ".join(params) if params else None


def parse_capa(resp: Pop3Response) -> Pop3Capabilities:
    """Parse a CAPA response; a -ERR (CAPA not supported, RFC 1939 servers) yields no items."""
    items: dict[str, tuple[str, ...]] = {}
    if not resp.ok:
        return Pop3Capabilities(items=items)
    for line in resp.lines:
        words = line.split()
        if words:
            keyword = words[0].upper()
            items[keyword] = items.get(keyword, ()) + tuple(words[1:])
    return Pop3Capabilities(items=items)


def pop3_command(verb: str, arg: str | None = None) -> bytes:
    """``VERB arg\\r\\n``; refuses CR, LF and NUL so an argument cannot inject a command."""
    for value, what in ((verb, "verb"), (arg or "", "argument")):
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"POP3 {what} contains CR, LF or NUL: {value!r}")
    if not verb:
        raise ValueError("empty POP3 verb")
    if arg is None:
        return f"{verb}\r\n".encode()
    return f"{verb} {arg}\r\n".encode()
