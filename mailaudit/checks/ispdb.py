"""`mailaudit ispdb lint`'s judgement: real data problems in one config-v1.1.xml file, from what
the linter read (`IspdbFile`). Pure; the registry's "ispdb" check."""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.catalogue import finding
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.verdict import status_of
from mailaudit.model import Finding, IspdbFile, RawServer, Severity

__all__ = ["CHECK", "judge_ispdb_file"]

CHECK = "ispdb"

# Standard ports: (protocol, port) -> the security that belongs there.
_STANDARD = {
    ("imap", 993): "ssl",
    ("imap", 143): "starttls",
    ("pop3", 995): "ssl",
    ("pop3", 110): "starttls",
    ("smtp", 465): "ssl",
    ("smtp", 587): "starttls",
    ("smtp", 25): "starttls",
}
_PROTOCOL_OF_PORT = {port: protocol for (protocol, port) in _STANDARD}
_NO_USERNAME_NEEDED = {"none", "client-ip-address", "tls-client-cert"}


def judge_ispdb_file(facts: IspdbFile) -> Outcome:
    """Every finding of one file, and one run named after the file."""
    found = list(_judge(facts))
    return Outcome.single(CHECK, facts.name, status_of(found, ()), None, found)


def _judge(facts: IspdbFile) -> Iterable[Finding]:
    name = facts.name
    if facts.error is not None or facts.provider is None:
        yield finding("discovery.ispdb-invalid", name, facts.error or "unreadable")
        return
    for use in facts.placeholders:
        if not use.closed:
            yield finding(
                "discovery.ispdb-bad-placeholder",
                name,
                f"<{use.tag}> {use.value!r}: placeholder %{use.name} is not closed by '%'",
                evidence=(use.value,),
            )
        elif not use.known:
            yield finding(
                "discovery.ispdb-bad-placeholder",
                name,
                f"<{use.tag}> {use.value!r}: unknown placeholder %{use.name}%",
                evidence=(use.value,),
            )
    for server in facts.provider.servers:
        yield from _server(name, server)
    yield from _plaintext(name, facts.provider.servers)


def _server(name: str, server: RawServer) -> Iterable[Finding]:
    if server.type not in ("imap", "pop3", "smtp"):
        return
    label = f"{server.type} {server.hostname}:{server.port}"
    security = (server.socket_type or "plain").lower()
    if security not in ("ssl", "starttls", "plain"):
        yield finding(
            "discovery.ispdb-odd-port",
            name,
            f"{label}: unknown socketType {server.socket_type!r}",
        )
    if server.port and server.port.isdigit():
        port = int(server.port)
        owner = _PROTOCOL_OF_PORT.get(port)
        expected = _STANDARD.get((server.type, port))
        if owner is not None and owner != server.type:
            yield finding(
                "discovery.ispdb-odd-port",
                name,
                f"{label} {server.socket_type}: port {port} is the standard {owner} port",
            )
        elif expected == "ssl" and security != "ssl":
            yield finding(
                "discovery.ispdb-odd-port",
                name,
                f"{label}: socketType {server.socket_type} on the implicit-TLS port {port}",
            )
        elif expected == "starttls" and security == "ssl":
            yield finding(
                "discovery.ispdb-odd-port",
                name,
                f"{label}: socketType SSL on the STARTTLS port {port}",
            )
    elif server.port:
        yield finding("discovery.ispdb-odd-port", name, f"{label}: port is not a number")
    auth = {a.lower() for a in server.authentication}
    if not server.username:
        # Consistent when the server takes no password, but worth a look: an SMTP server
        # without authentication is submission by source address.
        no_password = bool(auth) and auth <= _NO_USERNAME_NEEDED
        yield finding(
            "discovery.ispdb-missing-username",
            name,
            f"{label}: no <username>; authentication "
            f"{', '.join(server.authentication) or 'unspecified'}",
            severity=Severity.INFO if no_password else None,
        )


def _plaintext(name: str, servers: tuple[RawServer, ...]) -> Iterable[Finding]:
    for direction, types in (("incoming", ("imap", "pop3")), ("outgoing", ("smtp",))):
        relevant = [s for s in servers if s.type in types]
        plain = [s for s in relevant if (s.socket_type or "plain").lower() == "plain"]
        if relevant and len(plain) == len(relevant):
            yield finding(
                "discovery.ispdb-plaintext-only",
                name,
                f"every {direction} server is plaintext: "
                + ", ".join(f"{s.type} {s.hostname}:{s.port}" for s in plain),
            )
        else:
            for s in plain:
                yield finding(
                    "discovery.ispdb-plaintext-server",
                    name,
                    f"{s.type} {s.hostname}:{s.port} is plaintext (a secure alternative exists)",
                )
