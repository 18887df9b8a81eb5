"""The root of every exception mailaudit raises on purpose, so a caller can catch ours alone
(`except mailaudit.MailauditError`) and let programming errors through.

    MailauditError
    ├── NetError              mailaudit.net.errors: I/O failed (DNS, connect, TLS, deadline,
    │   │                     size limit, HTTP...), each with a stable `reason`
    │   └── DnsError, ConnectError, StepTimeout, BudgetExceeded, TlsError, PeerClosed,
    │       TooMuchData, HttpError, ProtocolViolation
    ├── ProtocolError         mailaudit.protocols.errors: a peer broke SMTP/POP3/IMAP or a cap
    ├── ConfigError           mailaudit.discovery.xmlsafe: a published client configuration
    │                         (autoconfig, Autodiscover XML) cannot be read
    └── UsageError            something the user gave us is unusable (also a ValueError)
        ├── ReportLoadError   mailaudit.report.json_report: a saved report
        ├── RequirementsError mailaudit.checks.requirements_file: a requirements file
        │                     (`--requirements`; PolicyError is its older name)
        └── LoadError         mailaudit.serial: JSON that does not fit the model

Probes do not raise for network trouble: they record it in their results ("failures are data");
these exceptions cross the library boundary only where a caller asked for one thing and could
not get it (fetch this URL, load this file).
"""

from __future__ import annotations

__all__ = ["MailauditError", "UsageError", "one_line"]


class MailauditError(Exception):
    """Every exception mailaudit raises on purpose."""


class UsageError(MailauditError, ValueError):
    """An input the user gave (a name, a URL, an option, a file) cannot be used; the message
    says why, in words fit for the user. A ValueError too, for callers that catch that."""


def one_line(text: str) -> str:
    """A message as one printable line: control characters (the user's or a server's) become
    visible escapes, never a second line or a terminal escape sequence in a CI log."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
