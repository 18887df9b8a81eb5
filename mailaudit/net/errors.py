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

from mailaudit.errors import MailauditError


class NetError(MailauditError):
    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
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
