"""`mailaudit ispdb lint`: real data problems in config-v1.1.xml files. Pure: (name, bytes) in,
findings out; the CLI reads the directory."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.checks.catalogue import finding
from mailaudit.discovery.autoconfig_xml import KNOWN_PLACEHOLDERS, RawServer, read_raw
from mailaudit.discovery.xmlsafe import ConfigError, parse_document
from mailaudit.model import Finding, Severity

# Four or more capitals after a percent sign: a placeholder, whole or broken. Shorter runs are
# URL escapes such as %C3%A6 in documentation links.
_PLACEHOLDER = re.compile(r"%([A-Z][A-Z_]{3,})(%?)")

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


@dataclass(frozen=True)
class LintReport:
    files: int
    providers: int
    domains: int
    findings: tuple[Finding, ...]


def lint_files(files: Iterable[tuple[str, bytes]]) -> LintReport:
    findings: list[Finding] = []
    count = providers = domains = 0
    for name, data in files:
        count += 1
        file_findings, domain_count = lint_file(name, data)
        findings.extend(file_findings)
        if domain_count is not None:
            providers += 1
            domains += domain_count
    return LintReport(count, providers, domains, tuple(findings))


def lint_file(name: str, data: bytes) -> tuple[tuple[Finding, ...], int | None]:
    """Findings for one file, and its number of <domain> entries (None when unreadable)."""
    try:
        root = parse_document(data)
        raw = read_raw(data)
    except ConfigError as exc:
        return (finding("discovery.ispdb-invalid", name, str(exc)),), None
    out = list(_placeholders(name, root))
    for server in raw.servers:
        out.extend(_server(name, server))
    out.extend(_plaintext(name, raw.servers))
    return tuple(out), len(raw.domains)


def _placeholders(name: str, root: ET.Element) -> Iterable[Finding]:
    for element in root.iter():
        values = [element.text or "", *element.attrib.values()]
        tag = element.tag.rsplit("}", 1)[-1]
        for value in values:
            for match in _PLACEHOLDER.finditer(value):
                token = f"%{match.group(1)}%"
                if not match.group(2):
                    yield finding(
                        "discovery.ispdb-bad-placeholder",
                        name,
                        f"<{tag}> {value.strip()!r}: placeholder %{match.group(1)} is not closed "
                        f"by '%'",
                        evidence=(value.strip(),),
                    )
                elif token not in KNOWN_PLACEHOLDERS:
                    yield finding(
                        "discovery.ispdb-bad-placeholder",
                        name,
                        f"<{tag}> {value.strip()!r}: unknown placeholder {token}",
                        evidence=(value.strip(),),
                    )


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
