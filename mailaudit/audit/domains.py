"""The fleet's input: a domains file, one domain per line. `#` starts a comment, blank lines are
ignored; a line that is not a domain name is reported with its line number and skipped, never
aborting the fleet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.errors import UsageError
from mailaudit.model import HOSTNAME
from mailaudit.names import ascii_host
from mailaudit.net.resolver import is_ip_literal

__all__ = ["BadLine", "read_domains"]


@dataclass(frozen=True)
class BadLine:
    number: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.text!r}: {self.reason} (skipped)"


def read_domains(lines: Iterable[str]) -> tuple[list[str], list[BadLine]]:
    domains: list[str] = []
    bad: list[BadLine] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            domain = ascii_host(text)  # UTS 46, as for a DOMAIN argument
        except UsageError:
            bad.append(BadLine(number, text, "not a domain name"))
            continue
        if any(c.isspace() for c in text):
            bad.append(BadLine(number, text, "one domain per line"))
        elif "." not in domain or not HOSTNAME.match(domain) or is_ip_literal(domain):
            bad.append(BadLine(number, text, "not a domain name"))
        else:
            domains.append(domain)
    return domains, bad
