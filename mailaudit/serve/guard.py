"""Which addresses a discovery started from the web page may connect to.

A page that makes outgoing connections for anyone who types an address must not become a way
into the network it runs in. The tool's SSRF guard (`mailaudit.net.addresses`) sits in
`Resolver.addresses`, which every connection asks first (HTTP fetches, redirects, probes,
guesses, IP literals too). For the page its policy is stricter than the command line's: no
opting into private targets at all, neither with `--allow-private` nor implicitly through a
nameserver on a private address nor through names given with `--resolve`. The one exception is
a staging network the operator names with `--allow-network CIDR`, which the guard then treats as
global (the lab's 127.0.0.0/24). Everything else outside the public Internet is refused before
any connection, recorded in the discovery's `refused_targets` and shown on the page.

Each discovery gets a resolver of its own with a guard of its own, so a long-running server does
not accumulate what it refused."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailaudit.context import Context
from mailaudit.net.addresses import AddressGuard, AddressPolicy, parse_networks
from mailaudit.net.resolver import Resolver
from mailaudit.settings import Settings

__all__ = ["PublicOnly", "parse_networks"]


@dataclass(frozen=True)
class PublicOnly:
    """The page's network policy: public addresses, plus the named staging networks."""

    settings: Settings
    policy: AddressPolicy

    @classmethod
    def create(cls, settings: Settings, *, staging: tuple[str, ...] = ()) -> PublicOnly:
        parse_networks(staging)  # ValueError for a bad CIDR, before anything starts
        settings = replace(
            settings,
            allow_private=False,
            global_networks=(*settings.global_networks, *staging),
        )
        overrides = AddressPolicy.from_settings(settings).overrides
        return cls(settings, AddressPolicy(allow_private=False, overrides=overrides))

    def resolver(self) -> Resolver:
        """A resolver for one discovery, with a guard (and a record of refusals) of its own."""
        s = self.settings
        return Resolver(
            nameservers=s.nameservers,
            overrides=s.resolve,
            timeout_s=s.timeouts.dns_s,
            guard=AddressGuard(self.policy),
            concurrency=s.limits.dns_concurrency,
            cache_entries=s.limits.dns_cache_entries,
        )

    def context(self) -> Context:
        """The server's shared context (politeness slots, trust store, Public Suffix List)."""
        return Context.create(self.settings, resolver=self.resolver())
