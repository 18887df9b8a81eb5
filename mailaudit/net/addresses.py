"""Which addresses the tool may connect to: the SSRF guard (issue 10 item 3).

A domain's owner controls its DNS answers, redirects, MX, SRV and autoconfig documents. Without a
guard, a customer's record pointing at 10.0.0.1 or 127.0.0.1 makes an auditor inside an ISP
probe the ISP's own hosts. So every name the tool connects to is resolved through
`Resolver.addresses`, which passes its answer through one `AddressGuard`: non-global addresses
are dropped unless the user opted into private targets, and each drop is recorded as a
`RefusedTarget` (data, judged by `mailaudit.checks.scope`). A refused address is never
contacted, so nothing about it (status, banner, timing) can leak back into a report.

The user opts in
- explicitly: `Settings.allow_private` (`--allow-private`);
- by pointing the tool at a non-global nameserver (`--nameserver 10.0.0.53`, as the lab and
  staging do): every answer of such a server is internal by design;
- per name, by naming it: `--resolve HOST:IP` and `--endpoint`/probe URLs (`Settings.resolve`,
  `Settings.named_targets`): those names (and IP literals) may be non-global, others may not.

Classification is injectable so that loopback can play both roles in the lab:
`Settings.global_networks` and `Settings.private_networks` override the built-in table, the
longest prefix winning (e.g. 127.0.0.0/8 global, 127.0.0.160/29 private).

Public API (used by `mailaudit serve` and library users):
    address_range(address) -> AddressRange            built-in classification, no overrides
    AddressPolicy.from_settings(settings)             the run's policy
    AddressPolicy.classify(address) -> AddressRange   with the overrides
    AddressPolicy.permits(host, address) -> bool      may the tool connect there?
    AddressGuard(policy).admit(host, addresses)       filter; raises PrivateAddressRefused
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailaudit.model.scope import AddressRange, RefusedTarget
from mailaudit.net.errors import DnsError

if TYPE_CHECKING:
    from mailaudit.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateAddressRefused(DnsError):
    """Every address of a name is non-global and the user did not opt into private targets.
    A DnsError: for the caller the name leads nowhere it may go, as if it did not resolve."""

    reason = "private-address"


_SHARED = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def address_range(address: str) -> AddressRange:
    """The built-in classification of one IP address (IPv4-mapped IPv6 as its IPv4)."""
    ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Order matters: multicast is "global" to the ipaddress module, and the special ranges
    # below are also "private" to it.
    if ip.is_multicast:
        return AddressRange.MULTICAST
    if ip.is_loopback:
        return AddressRange.LOOPBACK
    if ip.is_link_local:
        return AddressRange.LINK_LOCAL
    if ip.version == 4 and ip in _SHARED:
        return AddressRange.SHARED
    if ip.version == 6 and ip in _UNIQUE_LOCAL:
        return AddressRange.UNIQUE_LOCAL
    if ip.version == 4 and any(ip in n for n in _RFC1918):
        return AddressRange.PRIVATE
    if ip.is_global and not ip.is_reserved and not ip.is_unspecified:
        return AddressRange.GLOBAL
    return AddressRange.RESERVED


_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def parse_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """CIDR networks (`10.0.0.0/8`, a bare address is a /32 or /128); raises ValueError."""
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in specs)


def _key(host: str) -> str:
    return host.lower().rstrip(".").strip("[]")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be connected to, for one run. Pure: no I/O, no state."""

    allow_private: bool = False
    # (network, treated as global) pairs; the longest matching prefix decides.
    overrides: tuple[tuple[Network, bool], ...] = ()
    # Names and IP literals the user named: reachable whatever their addresses.
    named: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        overrides = tuple((n, True) for n in parse_networks(settings.global_networks)) + tuple(
            (n, False) for n in parse_networks(settings.private_networks)
        )
        policy = cls(
            overrides=overrides,
            named=frozenset(_key(h) for h in (*settings.named_targets, *settings.resolve)),
        )
        # A nameserver inside the user's own network answers for internal names by design.
        private_dns = any(
            not policy.classify(_nameserver_host(n)).is_global for n in settings.nameservers
        )
        return cls(
            allow_private=settings.allow_private or private_dns,
            overrides=overrides,
            named=policy.named,
        )

    def classify(self, address: str) -> AddressRange:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        best: tuple[int, bool] | None = None
        for network, is_global in self.overrides:
            matches = ip.version == network.version and ip in network
            if matches and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, is_global)
        if best is not None:
            return AddressRange.GLOBAL if best[1] else _declared_range(address)
        return address_range(address)

    def permits(self, host: str, address: str) -> bool:
        """May the tool connect to `address`, reached through the name `host`?"""
        if self.allow_private or _key(host) in self.named or _key(address) in self.named:
            return True
        return self.classify(address).is_global


def _declared_range(address: str) -> AddressRange:
    # A network the user declared internal: keep the built-in name when it is not global
    # (loopback stays loopback), else say "internal".
    builtin = address_range(address)
    return AddressRange.INTERNAL if builtin.is_global else builtin


def _nameserver_host(spec: str) -> str:
    from mailaudit.net.resolver import parse_nameserver

    return parse_nameserver(spec)[0]


@dataclass
class AddressGuard:
    """The policy plus the record of what it refused. One per run (`Context.address_guard`);
    `child()` gives a sub-run (one discovery) its own record that also reaches the parent."""

    policy: AddressPolicy = field(default_factory=AddressPolicy)
    parent: AddressGuard | None = None
    _refused: dict[tuple[str, str], RefusedTarget] = field(default_factory=dict)

    def child(self) -> AddressGuard:
        return AddressGuard(self.policy, parent=self)

    @property
    def refused(self) -> tuple[RefusedTarget, ...]:
        return tuple(self._refused.values())

    def admit(self, host: str, addresses: Iterable[str]) -> tuple[str, ...]:
        """The addresses of `host` the tool may connect to; the others are recorded as refused.
        Raises PrivateAddressRefused when none is left. The message names the range only:
        nothing was sent there, so there is no status to tell."""
        allowed: list[str] = []
        refused: list[RefusedTarget] = []
        for address in addresses:
            if self.policy.permits(host, address):
                allowed.append(address)
            else:
                refused.append(RefusedTarget(_key(host), address, self.policy.classify(address)))
        for target in refused:
            self._record(target)
        if refused and not allowed:
            ranges = ", ".join(sorted({t.range.value for t in refused}))
            raise PrivateAddressRefused(
                f"{host}: resolves only to non-global addresses ({ranges}); not contacted "
                "(use --allow-private to allow private targets)",
                reason="private-address",
            )
        return tuple(allowed)

    def _record(self, target: RefusedTarget) -> None:
        self._refused.setdefault((target.host, target.address), target)
        if self.parent is not None:
            self.parent._record(target)
