"""The exception tree of the I/O layer. Every transport error is translated into one of these
at one place (`mailaudit.net.connection` and `mailaudit.net.resolver`), so callers deal with
our reasons, never with OSError, ssl.SSLError or dns.exception subclasses. `NetError` sits under
the package's root, `mailaudit.MailauditError`.

    NetError
    ├── DnsError          reason: nxdomain | no-answer | timeout | servfail | bad-name
    │   └── PrivateAddressRefused  reason: private-address (net.addresses, the SSRF guard)
    ├── ConnectError      reason: refused | unreachable | timeout | reset
    ├── StepTimeout       a read, a command or a handshake took longer than its deadline
    ├── BudgetExceeded    the whole endpoint took longer than its overall budget
    ├── TlsError          reason: handshake-failed | certificate | buffered-data | timeout
    ├── PeerClosed        the server closed the connection
    └── TooMuchData       the server sent more than the size limit
"""

from __future__ import annotations

import re

from mailaudit.errors import MailauditError

# How Python shows bytes: b'...', b"...", bytearray(b'...'). Libraries put them in their messages
# (h11: "illegal status line: bytearray(b'HTTP/1.1 2x0 OK')"); ours show the text.
_BYTES_REPR = re.compile(
    r"""bytearray\(b(?P<q1>['"])(?P<t1>(?:\\.|(?!(?P=q1)).)*)(?P=q1)\)"""
    r"""|(?<![\w])b(?P<q2>['"])(?P<t2>(?:\\.|(?!(?P=q2)).)*)(?P=q2)"""
)


def without_bytes_reprs(message: str) -> str:
    """`illegal status line: bytearray(b'HTTP/1.1 2x0 OK')` -> `... "HTTP/1.1 2x0 OK"`."""
    return _BYTES_REPR.sub(lambda m: f'"{m.group("t1") or m.group("t2") or ""}"', message)


class NetError(MailauditError):
    """Its message is for people: no Python reprs of bytes (issue 10, item 5)."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(without_bytes_reprs(message))
        if reason is not None:
            self.reason = reason


class DnsError(NetError):
    reason = "dns"


class ConnectError(NetError):
    reason = "connect"


class StepTimeout(NetError):
    reason = "timeout"


class BudgetExceeded(NetError):
    reason = "budget-exceeded"


class TlsError(NetError):
    reason = "tls"


class PeerClosed(NetError):
    reason = "closed"


class TooMuchData(NetError):
    reason = "too-much-data"
