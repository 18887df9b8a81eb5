"""IMAP responses, sans I/O: bytes in, `ImapResponse` out, None = need more data.

RFC 9051 §7 (and RFC 3501 §7): untagged ``* ...``, tagged ``A001 OK ...`` and continuation
``+ ...`` responses. A response may carry literals (RFC 9051 §4.3): a line ending in ``{n}``
(or the LITERAL+ form ``{n+}``, RFC 7888) is followed by exactly n raw bytes, then the response
line continues. Literals are capped before a byte of them is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mailaudit.protocols.buffer import LineBuffer
from mailaudit.protocols.errors import ProtocolError

_LITERAL = re.compile(rb"\{(\d+)\+?\}\Z")
_STATUSES = frozenset({"OK", "NO", "BAD", "PREAUTH", "BYE"})
# RFC 9051 §7.1: a tagged response is only ever OK, NO or BAD.
_TAGGED_STATUSES = frozenset({"OK", "NO", "BAD"})
# atom-specials of RFC 9051 §9 (plus CTLs): an argument holding one of these must be quoted.
_ATOM_SPECIALS = frozenset('(){ %*"\\]')
# RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">, ASTRING-CHAR = ATOM-CHAR / "]".
_TAG_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset('(){%*"\\+')

Kind = Literal["untagged", "tagged", "continuation"]


@dataclass(frozen=True)
class ImapResponse:
    """One complete response.

    `status` is OK/NO/BAD/PREAUTH/BYE for status responses, None for data such as
    ``* CAPABILITY``. `code`/`code_args` come from a ``[CODE args]`` response code (RFC 9051
    §7.1). For untagged responses `data_name` is the upper-cased name (``CAPABILITY``, ``OK``,
    ``EXISTS`` for ``* 3 EXISTS``) and `data_args` the whitespace-separated rest (for
    ``* 3 EXISTS`` the number: ``("3",)``). `raw` is the whole response, literals included.
    """

    kind: Kind
    tag: str | None
    status: str | None
    code: str | None
    code_args: tuple[str, ...]
    text: str
    raw: str
    data_name: str | None = None
    data_args: tuple[str, ...] = ()

    @property
    def is_ok(self) -> bool:
        return self.status == "OK"


class ImapReader:
    """Reads responses; caps line length, each literal and the whole response."""

    def __init__(
        self,
        *,
        max_line_bytes: int = 8192,
        max_literal_bytes: int = 65536,
        max_response_bytes: int = 262144,
    ) -> None:
        self._buf = LineBuffer(max_line_bytes=max_line_bytes)
        self._max_literal_bytes = max_literal_bytes
        self._max_response_bytes = max_response_bytes
        self._parts: list[bytes] = []
        self._literal_left = 0
        self._response_bytes = 0
        self._error: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned in a complete response; must be 0 before the
        TLS handshake after STARTTLS (RFC 9051 §6.2.1, and the buffering bug class)."""
        return self._response_bytes + self._buf.pending_bytes

    def feed(self, data: bytes) -> None:
        self._buf.feed(data)

    def next_response(self) -> ImapResponse | None:
        if self._error is not None:
            raise self._error
        try:
            return self._next_response()
        except ProtocolError as error:
            self._error = error
            raise

    def _count(self, n: int) -> None:
        self._response_bytes += n
        if self._response_bytes > self._max_response_bytes:
            raise ProtocolError(
                "reply-too-large", f"response larger than {self._max_response_bytes} bytes"
            )

    def _next_response(self) -> ImapResponse | None:
        while True:
            if self._literal_left:
                chunk = self._buf.take_raw(self._literal_left)
                if not chunk:
                    return None
                self._literal_left -= len(chunk)
                self._response_bytes += len(chunk)  # already checked against the cap
                self._parts.append(chunk)
                continue
            before = self._buf.pending_bytes
            line = self._buf.next_line()
            if line is None:
                return None
            self._count(before - self._buf.pending_bytes)
            match = _LITERAL.search(line) if line.endswith(b"}") else None
            if match is None:
                self._parts.append(line)
                raw = b"".join(self._parts)
                self._parts = []
                self._response_bytes = 0
                return _parse(raw.decode("utf-8", errors="replace"))
            self._parts.append(line + b"\r\n")
            self._start_literal(match.group(1))

    def _start_literal(self, digits: bytes) -> None:
        # Compare digit counts first: int() of a huge digit string is slow and, past 4300
        # digits, raises ValueError (CPython's int max_str_digits).
        if len(digits) > 20 or int(digits) > self._max_literal_bytes:
            raise ProtocolError(
                "literal-too-large",
                f"literal of {digits[:24].decode()} bytes exceeds {self._max_literal_bytes}",
            )
        size = int(digits)
        if self._response_bytes + size > self._max_response_bytes:
            raise ProtocolError(
                "reply-too-large", f"response larger than {self._max_response_bytes} bytes"
            )
        self._literal_left = size


def _split_code(rest: str) -> tuple[str | None, tuple[str, ...], str]:
    """Split ``[CODE args] text`` (RFC 9051 §7.1 resp-text) into code, args and text."""
    if not rest.startswith("["):
        return None, (), rest
    end = rest.find("]")
    if end < 0:  # unterminated: treat as plain text rather than guess
        return None, (), rest
    inner = rest[1:end].strip()
    text = rest[end + 1 :].strip()
    name, _, args = inner.partition(" ")
    args = args.strip()
    if args.startswith("(") and args.endswith(")"):  # [PERMANENTFLAGS (\Seen \*)]
        args = args[1:-1]
    return (name.upper() or None), tuple(args.split()), text


def _parse(raw: str) -> ImapResponse:
    head, _, rest = raw.partition(" ")
    if head == "+":
        code, code_args, text = _split_code(rest.strip())
        return ImapResponse("continuation", None, None, code, code_args, text, raw)
    if not head or not rest.strip():
        raise ProtocolError("bad-response", f"malformed response: {raw[:40]!r}")
    first, _, after = rest.strip().partition(" ")
    word = first.upper()
    if head == "*":
        if word in _STATUSES:
            code, code_args, text = _split_code(after.strip())
            return ImapResponse("untagged", None, word, code, code_args, text, raw, data_name=word)
        if first.isascii() and first.isdigit():  # * 3 EXISTS, * 1 FETCH (...)
            name, _, tail = after.strip().partition(" ")
            if not name:
                raise ProtocolError("bad-response", f"number without data name: {raw[:40]!r}")
            args = (first, *tail.split())
            return ImapResponse(
                "untagged", None, None, None, (), tail.strip(), raw,
                data_name=name.upper(), data_args=args,
            )  # fmt: skip
        return ImapResponse(
            "untagged", None, None, None, (), after.strip(), raw,
            data_name=word, data_args=tuple(after.split()),
        )  # fmt: skip
    if word not in _TAGGED_STATUSES or not set(head) <= _TAG_CHARS:
        raise ProtocolError("bad-response", f"malformed tagged response: {raw[:40]!r}")
    code, code_args, text = _split_code(after.strip())
    return ImapResponse("tagged", head, word, code, code_args, text, raw)


def capabilities_from(resp: ImapResponse) -> frozenset[str] | None:
    """Capabilities from ``* CAPABILITY ...`` or a ``[CAPABILITY ...]`` code in an OK/PREAUTH
    response (RFC 9051 §7.1: servers should send them in the greeting and after login)."""
    if resp.kind == "untagged" and resp.status is None and resp.data_name == "CAPABILITY":
        return frozenset(arg.upper() for arg in resp.data_args)
    if resp.status in ("OK", "PREAUTH") and resp.code == "CAPABILITY":
        return frozenset(arg.upper() for arg in resp.code_args)
    return None


def imap_login_disabled(caps: frozenset[str]) -> bool:
    """LOGINDISABLED: LOGIN refused on this connection (RFC 9051 §6.2.3), typically before TLS."""
    return "LOGINDISABLED" in caps


def imap_supports_starttls(caps: frozenset[str]) -> bool:
    return "STARTTLS" in caps


def imap_auth_mechanisms(caps: frozenset[str]) -> tuple[str, ...]:
    """SASL mechanisms from ``AUTH=x`` capabilities, sorted (a set has no order)."""
    return tuple(sorted(cap[5:] for cap in caps if cap.startswith("AUTH=") and len(cap) > 5))


class ImapTagger:
    """Command tags A001, A002, ... (RFC 9051 §2.2.1: a new tag for each command)."""

    def __init__(self, *, prefix: str = "A") -> None:
        self._prefix = prefix
        self._count = 0

    def next(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:03d}"


def imap_command(tag: str, command: str, *args: str) -> bytes:
    """``tag COMMAND args\\r\\n``. Arguments are atoms, quoted (RFC 9051 §4.3) when they hold
    spaces or specials. CR, LF and NUL are refused everywhere: they cannot be quoted, and
    letting them through would let an argument inject a second command."""
    for value in (tag, command, *args):
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"IMAP command part contains CR, LF or NUL: {value!r}")
    if not tag or not command or " " in tag:
        raise ValueError("IMAP tag and command must be non-empty, tag without spaces")
    parts = [tag, command, *(_atom_or_quoted(arg) for arg in args)]
    return (" ".join(parts) + "\r\n").encode()


def _atom_or_quoted(arg: str) -> str:
    if (
        arg
        and arg.isascii()
        and not any(c in _ATOM_SPECIALS or ord(c) < 0x20 or c == "\x7f" for c in arg)
    ):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
