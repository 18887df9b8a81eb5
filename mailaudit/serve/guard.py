"""Which addresses a discovery started from the web page may connect to.

A page that makes outgoing connections for anyone who types an address must not become a way
into the network it runs in: every name it connects to is resolved through `GuardedResolver`,
which drops addresses outside the public Internet (loopback, private, link-local, shared,
reserved...) unless the operator named their network on the command line
(`--allow-network 127.0.0.0/24` for a staging lab). A redirect or a DNS answer that points
inside is then refused before any connection: every connection the tool makes (HTTP fetches,
probes, guesses) asks `Resolver.addresses` first, and an IP literal goes through it as well.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from mailaudit.context import Context
from mailaudit.net.errors import DnsError
from mailaudit.net.resolver import Resolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """`127.0.0.0/24`, `10.1.2.3` (one address)...; raises ValueError with a readable message."""
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs)


def is_allowed(address: str, allowed: tuple[Network, ...]) -> bool:
    """A public (global unicast) address, or one inside a network the operator allowed."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if any(ip in net for net in allowed if net.version == ip.version):
        return True
    return ip.is_global and not ip.is_multicast


class GuardedResolver(Resolver):
    """A resolver like the run's (same servers, overrides and timeouts, its own cache for this
    discovery), answering only addresses a discovery may connect to."""

    def __init__(self, ctx: Context, *, allowed: tuple[Network, ...]) -> None:
        settings = ctx.settings
        super().__init__(
            nameservers=settings.nameservers,
            overrides=settings.resolve,
            timeout_s=settings.timeouts.dns_s,
            # Its own record of refused addresses (this discovery's), passed on to the run's.
            guard=ctx.resolver.guard.child(),
            concurrency=settings.limits.dns_concurrency,
        )
        self._allowed = allowed
        self.refused: list[tuple[str, str]] = []

    async def addresses(self, host: str) -> tuple[str, ...]:
        found = await super().addresses(host)
        kept = tuple(a for a in found if is_allowed(a, self._allowed))
        for address in found:
            if address not in kept:
                self.refused.append((host, address))
        if not kept:
            shown = ", ".join(found)
            raise DnsError(
                f"{host}: {shown} is not a public address; not contacted", reason="not-public"
            )
        return kept
