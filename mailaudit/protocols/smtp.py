"""SMTP replies and EHLO, sans I/O: bytes in, `SmtpReply` out, None = need more data.

Grammar (RFC 5321 §4.2): a reply is one or more lines ``Reply-code [ SP textstring ] CRLF``, all
lines but the last written ``Reply-code "-" [ textstring ] CRLF``, every line with the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailaudit.protocols.buffer import LineBuffer
from mailaudit.protocols.errors import ProtocolError

# RFC 3463 §2: class "." subject "." detail, class in {2, 4, 5}, subject and detail 1-3 digits.
_ENHANCED_STATUS = re.compile(r"([245]\.\d{1,3}\.\d{1,3})(?=\s|$)")
_DIGITS = b"0123456789"


@dataclass(frozen=True)
class SmtpReply:
    """One complete reply. `lines` holds the text after code and separator, one per line."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return 200 <= self.code < 300

    @property
    def is_intermediate(self) -> bool:
        return 300 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 / RFC 2034 enhanced status code (``5.7.1``) at the start of the reply."""
        if not self.lines:
            return None
        match = _ENHANCED_STATUS.match(self.lines[0])
        return match.group(1) if match else None

    def raw_lines(self) -> list[str]:
        """The reply as it looked on the wire (``250-...`` / ``250 ...``), for transcripts."""
        out: list[str] = []
        last = len(self.lines) - 1
        for index, line in enumerate(self.lines):
            if index < last:
                out.append(f"{self.code}-{line}")
            else:
                out.append(f"{self.code} {line}" if line else str(self.code))
        return out or [str(self.code)]


class SmtpReplyReader:
    """Reads replies from a byte stream; caps lines and bytes per reply.

    Without the caps a server sending an endless ``250-`` reply would grow our memory without
    bound; the caps turn that into a ProtocolError the driver reports as a violation.
    RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets; the default line cap is looser
    because real servers exceed it (long EHLO greetings, banners) and we audit, not enforce.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = 2048,
        max_reply_lines: int = 200,
        max_reply_bytes: int = 65536,
    ) -> None:
        self._buf = LineBuffer(max_line_bytes=max_line_bytes)
        self._max_reply_lines = max_reply_lines
        self._max_reply_bytes = max_reply_bytes
        self._code: int | None = None
        self._lines: list[str] = []
        self._reply_bytes = 0
        self._error: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned as part of a complete reply.

        Non-zero after a reply means the server pipelined data we did not ask for: the driver
        must not start TLS then (the STARTTLS buffering / command-injection bug class,
        CVE-2011-0411 and its relatives).
        """
        return self._reply_bytes + self._buf.pending_bytes

    def feed(self, data: bytes) -> None:
        self._buf.feed(data)

    def next_reply(self) -> SmtpReply | None:
        if self._error is not None:
            raise self._error
        try:
            return self._next_reply()
        except ProtocolError as error:
            self._error = error
            raise

    def _next_reply(self) -> SmtpReply | None:
        while True:
            before = self._buf.pending_bytes
            line = self._buf.next_line()
            if line is None:
                return None
            self._reply_bytes += before - self._buf.pending_bytes
            code, final, text = _parse_line(line)
            if self._code is None:
                self._code = code
            elif code != self._code:
                raise ProtocolError(
                    "inconsistent-reply-code",
                    f"reply code changed from {self._code} to {code} inside one reply",
                )
            self._lines.append(text)
            if len(self._lines) > self._max_reply_lines:
                raise ProtocolError(
                    "too-many-lines", f"reply longer than {self._max_reply_lines} lines"
                )
            if self._reply_bytes > self._max_reply_bytes:
                raise ProtocolError(
                    "reply-too-large", f"reply larger than {self._max_reply_bytes} bytes"
                )
            if final:
                reply = SmtpReply(code=code, lines=tuple(self._lines))
                self._code = None
                self._lines = []
                self._reply_bytes = 0
                return reply


def _parse_line(line: bytes) -> tuple[int, bool, str]:
    """(code, is_last_line, text) of one reply line."""
    head = line[:3]
    if len(head) != 3 or any(byte not in _DIGITS for byte in head):
        raise ProtocolError(
            "bad-reply-code", f"reply line does not start with a code: {line[:40]!r}"
        )
    # RFC 5321 §4.2: the first digit is 2-5 (1yz is not used in SMTP).
    if head[0] not in b"2345":
        raise ProtocolError("bad-reply-code", f"reply code {head.decode()} is not 2xx-5xx")
    code = int(head)
    separator = line[3:4]
    text = line[4:].decode("utf-8", errors="replace")
    if separator == b"":
        # A bare "250" is legal: the textstring is optional (RFC 5321 §4.2).
        return code, True, ""
    if separator == b" ":
        return code, True, text
    if separator == b"-":
        return code, False, text
    raise ProtocolError("bad-reply-code", f"bad separator after reply code: {line[:40]!r}")


@dataclass(frozen=True)
class Ehlo:
    """A parsed EHLO reply (RFC 5321 §4.1.1.1): the greeting line, then one extension per line."""

    hostname: str
    greeting: str
    extensions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.extensions

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """SASL mechanisms from ``AUTH x y`` (RFC 4954 §3) and the pre-standard ``AUTH=x y``
        that old Outlook clients needed and Postfix still offers (`broken_sasl_auth_clients`)."""
        seen: dict[str, None] = {}
        for keyword, params in self.extensions.items():
            if keyword == "AUTH":
                names = params
            elif keyword.startswith("AUTH="):
                names = (keyword[5:], *params)
            else:
                continue
            for name in names:
                if name:
                    seen.setdefault(name.upper(), None)
        return tuple(seen)

    @property
    def supports_starttls(self) -> bool:
        return self.has("STARTTLS")

    @property
    def size_limit(self) -> int | None:
        """The RFC 1870 SIZE limit in bytes; None when absent, unparsable or 0 (= no fixed limit)."""
        params = self.extensions.get("SIZE", ())
        if not params or not params[0].isascii() or not params[0].isdigit():
            return None
        if len(params[0]) > 20:
            return None
        limit = int(params[0])
        return limit or None


def parse_ehlo(reply: SmtpReply) -> Ehlo:
    """Parse an EHLO reply. A non-2xx reply (EHLO refused) yields no extensions."""
    first = reply.lines[0] if reply.lines else ""
    hostname, _, greeting = first.strip().partition(" ")
    if not reply.is_positive:
        return Ehlo(hostname="", greeting=reply.text, extensions={})
    extensions: dict[str, tuple[str, ...]] = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        keyword = words[0].upper()
        # A keyword listed twice keeps both parameter lists, in order.
        extensions[keyword] = extensions.get(keyword, ()) + tuple(words[1:])
    return Ehlo(hostname=hostname, greeting=greeting.strip(), extensions=extensions)


def smtp_command(verb: str, arg: str | None = None) -> bytes:
    """``VERB arg\\r\\n``. Refuses CR, LF and NUL so our own arguments can never smuggle in a
    second command (RFC 5321 §2.3.8: CR and LF only as the line terminator)."""
    _guard(verb, "verb")
    if not verb:
        raise ValueError("empty SMTP verb")
    if arg is None:
        return f"{verb}\r\n".encode()
    _guard(arg, "argument")
    return f"{verb} {arg}\r\n".encode()


def _guard(value: str, what: str) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"SMTP {what} contains CR, LF or NUL: {value!r}")
