"""Which endpoints an audit of a domain looks at: the MX hosts on port 25, the client endpoints
discovery found, and the hosts ISPs classically name smtp./imap./pop3./pop./mail."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailaudit.context import Context
from mailaudit.discovery.guess import GUESS_PLAN
from mailaudit.model import Endpoint, Scheme, ServerSetting
from mailaudit.net.errors import DnsError


class Role(StrEnum):
    EXPLICIT = "explicit"  # named by the user with --endpoint
    MX = "mx"
    CLIENT = "client"  # found by discovery
    GUESS = "guess"

    @property
    def priority(self) -> int:
        return list(Role).index(self)


@dataclass(frozen=True)
class Target:
    endpoint: Endpoint
    role: Role
    domain: str

    @property
    def required(self) -> bool:
        """A guessed endpoint that is not there is no finding; a named one is."""
        return self.role is not Role.GUESS


async def mx_targets(ctx: Context, domain: str) -> tuple[list[Target], list[str]]:
    """Port 25 of every MX host; a null MX (RFC 7505) means none. Errors come back as text."""
    try:
        _, records = await ctx.resolver.mx(domain)
    except DnsError as exc:
        return [], [f"MX lookup failed: {exc}"]
    targets = [
        Target(Endpoint(Scheme.SMTP, r.host.lower(), 25), Role.MX, domain)
        for r in records
        if r.host
    ]
    return targets, []


def guess_targets(domain: str) -> list[Target]:
    """The names and ports discovery would guess (its `GUESS_PLAN`), under the domain itself
    only: the bare domain is a web host far more often than a mail host."""
    targets: dict[Endpoint, Target] = {}
    for protocol, prefixes, ports in GUESS_PLAN:
        for prefix in prefixes:
            if not prefix:
                continue
            for port, security in ports:
                setting = ServerSetting(protocol, f"{prefix}{domain}", port, security)
                endpoint = Endpoint(setting.scheme, setting.host, port)
                targets.setdefault(endpoint, Target(endpoint, Role.GUESS, domain))
    return list(targets.values())
