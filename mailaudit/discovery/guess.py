"""Guessing, as ISPs name their servers (Thunderbird's guessConfig): imap., pop3., pop., smtp.,
mail. and the bare domain, on the standard ports, implicit TLS first. Only names under the
user's exact domain are tried. Host names that do not resolve are dropped before any connection.
"""

from __future__ import annotations

import asyncio

from mailaudit.context import Context
from mailaudit.discovery.query import Query
from mailaudit.discovery.sources import Found, SourceLog, SourceRun
from mailaudit.model import (
    Protocol,
    Security,
    ServerSetting,
    Source,
    SourceStatus,
    Trust,
    UsernameForm,
)
from mailaudit.net.errors import NetError

# protocol -> (host prefixes in order, (port, security) in order: implicit TLS first)
GUESS_PLAN: tuple[tuple[Protocol, tuple[str, ...], tuple[tuple[int, Security], ...]], ...] = (
    (Protocol.IMAP, ("imap.", "mail.", ""), ((993, Security.SSL), (143, Security.STARTTLS))),
    (
        Protocol.POP3,
        ("pop3.", "pop.", "mail.", ""),
        ((995, Security.SSL), (110, Security.STARTTLS)),
    ),
    (
        Protocol.SMTP,
        ("smtp.", "mail.", ""),
        ((465, Security.SSL), (587, Security.STARTTLS), (25, Security.STARTTLS)),
    ),
)


def guess_hosts(domain: str) -> tuple[str, ...]:
    hosts: list[str] = []
    for _, prefixes, _ in GUESS_PLAN:
        for prefix in prefixes:
            if prefix + domain not in hosts:
                hosts.append(prefix + domain)
    return tuple(hosts)


def guess_settings(query: Query, resolvable: frozenset[str]) -> tuple[ServerSetting, ...]:
    """Every guess for the hosts that resolve, implicit TLS first, then STARTTLS, then port 25;
    within that, the usual host names before mail. and the bare domain."""
    ordered: list[tuple[int, int, int, ServerSetting]] = []
    for protocol_order, (protocol, prefixes, ports) in enumerate(GUESS_PLAN):
        for port_order, (port, security) in enumerate(ports):
            for host_order, prefix in enumerate(prefixes):
                host = prefix + query.domain
                if host not in resolvable:
                    continue
                setting = ServerSetting(
                    protocol=protocol,
                    host=host,
                    port=port,
                    security=security,
                    username=query.address or "%EMAILADDRESS%",
                    username_form=UsernameForm.ADDRESS,
                )
                ordered.append((port_order, host_order, protocol_order, setting))
    ordered.sort(key=lambda item: item[:3])
    return tuple(item[3] for item in ordered)


async def guess(ctx: Context, query: Query) -> SourceRun:
    """Resolve the guessable names; the settings for those that exist are the candidates (the
    caller probes them, staggered)."""
    log = SourceLog(Source.GUESS)
    hosts = guess_hosts(query.domain)
    results = await asyncio.gather(
        *(ctx.resolver.addresses(h) for h in hosts), return_exceptions=True
    )
    resolvable = set()
    for host, result in zip(hosts, results, strict=True):
        if isinstance(result, NetError):
            log.note(host, f"not tried: {result.reason}")
        elif isinstance(result, BaseException):
            raise result
        else:
            resolvable.add(host)
    settings = guess_settings(query, frozenset(resolvable))
    found = tuple(
        Found(s, Trust.TRUSTED, f"guess {s.host}:{s.port}", rank) for rank, s in enumerate(settings)
    )
    if not found:
        return log.done(SourceStatus.NOT_FOUND, "none of the usual host names resolves")
    return log.done(
        SourceStatus.FOUND,
        f"{len(resolvable)} host name(s) resolve: {', '.join(sorted(resolvable))}",
        found=found,
    )
