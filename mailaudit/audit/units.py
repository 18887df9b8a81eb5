"""The fleet engine's work units: plain, frozen, serialisable data (issue 11; issue 12 runs the
same units on Dask workers). Nothing here holds a socket, a task or a Context.

The shape of a run — plan, DNS phase, endpoints once, join:

1. **Domain phase** (I/O, one unit per domain): `gather_domain(ctx, domain, options)` →
   `DomainFacts`: the domain's targets (MX hosts on 25, discovery's client endpoints, guessed
   names, and the implicit-TLS port beside each STARTTLS client port), the addresses of every
   target host, discovery's result and the DNS policy observation. Answers come from the run's
   DNS cache, so domains sharing hosts share lookups.
2. **Plan** (pure): `Planner.add(facts)` → the new `EndpointUnit`s that domain needs, keyed by
   (address, port); a key seen before is never planned twice. `plan(facts...)` is the batch form.
3. **Endpoint phase** (I/O, one unit per unique (address, port)): `audit_endpoint_unit(ctx,
   unit)` → `EndpointFacts`: the probe (421: wait, retry once), the protocol audit, the TLS scan.
4. **Join / reduce** (pure, `mailaudit.audit.assemble`): per-endpoint verdicts, the cross-endpoint
   checks (implicit TLS per address, TLS consistency per host name, MTA-STS against the MX
   probes), then one `DomainReport` per domain and the `Report`.

A distributed runner ships `DomainUnit`/`EndpointUnit` to workers and gets
`DomainFacts`/`EndpointFacts` back (all `mailaudit.serial`-serialisable: `to_data`/`from_data`);
it plans and assembles on the client. The JSONL stream (`mailaudit.audit.jsonl`) is the same
facts, one record per line: resume and `mailaudit report run.jsonl` rebuild from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailaudit.model import (
    DiscoveryResult,
    Endpoint,
    Finding,
    Observation,
    PolicyObservation,
    ProtocolAudit,
    TlsScan,
)
from mailaudit.probes.protocol_audit import DEFAULT_RELAY_TEST_DOMAIN

__all__ = [
    "DomainFacts",
    "DomainUnit",
    "EndpointFacts",
    "EndpointUnit",
    "HostAddresses",
    "OutOfScope",
    "Role",
    "Target",
    "UnitOptions",
]


class Role(StrEnum):
    EXPLICIT = "explicit"  # named by the user with --endpoint
    MX = "mx"
    CLIENT = "client"  # found by discovery
    GUESS = "guess"  # guessed names, and the implicit-TLS port beside a STARTTLS port

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


@dataclass(frozen=True)
class OutOfScope:
    """A host a domain's records led to, outside that domain's scope."""

    domain: str
    host: str
    # How the domain led there: the URLs and names, first one first.
    chain: tuple[str, ...]


@dataclass(frozen=True)
class UnitOptions:
    """What the units of one run do: the serialisable part of `AuditOptions`."""

    only: tuple[Role, ...] = ()  # empty: everything
    guess: bool = True
    discovery: bool = True
    protocol_audit: bool = True
    tls: bool = True
    policy: bool = True
    # `--only policy`: the DNS policy alone; no target, so no connection to a mail host.
    dns_only: bool = False
    ispdb_dir: str | None = None
    relay_test_domain: str = DEFAULT_RELAY_TEST_DOMAIN
    # Registrable domains the user adds to the scope (--scope), see mailaudit.audit.scope.
    scope: tuple[str, ...] = ()

    def wants(self, role: Role) -> bool:
        return not self.only or role in self.only


@dataclass(frozen=True)
class DomainUnit:
    domain: str
    options: UnitOptions
    # A host named only by --endpoint: audited under its name, without MX, discovery or policy.
    endpoints_only: bool = False
    explicit: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class HostAddresses:
    host: str
    addresses: tuple[str, ...]  # empty: the name does not resolve


@dataclass(frozen=True)
class DomainFacts:
    """Everything the domain phase learnt about one domain."""

    domain: str
    endpoints_only: bool
    targets: tuple[Target, ...]
    addresses: tuple[HostAddresses, ...]
    errors: tuple[str, ...] = ()
    discovery: DiscoveryResult | None = None
    policy: PolicyObservation | None = None
    # Hosts the domain led to that are outside its scope (touched passively only), and the
    # target hosts the SSRF guard refused to contact, with their findings.
    out_of_scope: tuple[OutOfScope, ...] = ()
    refused_hosts: tuple[str, ...] = ()
    scope_findings: tuple[Finding, ...] = ()

    def addresses_of(self, host: str) -> tuple[str, ...]:
        for h in self.addresses:
            if h.host == host:
                return h.addresses
        return ()


@dataclass(frozen=True)
class EndpointUnit:
    """One (address, port) to probe, audit and scan once for the whole run."""

    address: str
    port: int
    endpoint: Endpoint  # the lead name: what the user named, then MX, client, guess
    names: tuple[str, ...]  # every name that led here when it was planned (for the TLS scan)
    own_domain: str | None  # a domain that uses it (the relay test's "own" recipient)
    protocol_audit: bool
    tls: bool
    # Discovery's completed probe of this endpoint, when it made one: not probed again.
    known: Observation | None = None
    # Out of the planning domain's scope: probed passively, no protocol audit, no TLS scan.
    passive: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def id(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class EndpointFacts:
    address: str
    port: int
    observation: Observation
    protocol_audit: ProtocolAudit | None = None
    tls_scan: TlsScan | None = None
    passive: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def id(self) -> str:
        return f"{self.address}:{self.port}"
