"""The tool's own resolver: every name the tool connects to is resolved here, so a user's
`--nameserver` and `--resolve` apply to SMTP, IMAP, POP3, HTTP and TLS work alike, and the system
resolver is never consulted when a nameserver is given. Questions go out through our own stub
transport (`mailaudit.net.dns_transport`: a few long-lived sockets per nameserver); dnspython
does the wire format and reads /etc/resolv.conf when no nameserver is given.

One `Resolver` serves one run (`Context.create` makes it) and is its DNS cache: every (name,
type) is asked once within its TTL, negative answers (NXDOMAIN, NODATA) are kept for their SOA
negative TTL (RFC 2308), and concurrent askers of the same question share the one query in flight.
Failures (timeout, SERVFAIL) are not kept: the next asker tries again. The cache holds at most
`cache_entries` answers, the least recently used dropped first, expired ones swept out: a fleet's
shared answers (its hosts' addresses, its providers' names) are asked for by every domain and
stay, while a customer's own answers go some thousand questions after its audit is done (issue
11: a cache that kept everything held 310,000 answers at 10,000 domains). At most `concurrency`
queries are on the wire at once, so thousands of domains never open thousands of UDP sockets
(issue 11: unbounded lookups starved each other into timeouts)."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from mailaudit.net.addresses import AddressGuard
from mailaudit.net.dns_transport import DnsTransport, Nameserver
from mailaudit.net.errors import DnsError
from mailaudit.protocols.dns_wire import name_wire


class AnswerStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no-answer"


@dataclass(frozen=True)
class DnsAnswer:
    name: str
    rdtype: str
    status: AnswerStatus
    # Each record in presentation form ("10 mail.good.test.", "\"v=spf1 -all\"").
    records: tuple[str, ...] = ()
    # The AD bit: a validating resolver vouched for the answer (DNSSEC).
    authenticated: bool = False
    # The name the answer came from after CNAMEs, when it differs from `name`.
    canonical_name: str | None = None


class Upstream(Protocol):
    """Another process's resolver that this one asks instead of the wire (a domain worker's
    parent, `mailaudit.audit.process_engine`): the names a fleet shares (its hosts, their
    addresses) are then asked once per run, not once per process."""

    def local(self, name: str) -> bool:
        """Ask this name on the wire ourselves (no other process will ask it)."""
        ...

    async def ask(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        """The answer and the seconds it may still be kept. Raises DnsError as `query` does."""
        ...


@dataclass(frozen=True)
class MxRecord:
    preference: int
    host: str  # without trailing dot; "" for a null MX (RFC 7505)


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # without trailing dot; "" means "service not offered" (RFC 2782)


def parse_nameserver(spec: str) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address."""
    spec = spec.strip()
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = int(port_text)
    else:
        host, port = spec, 53
    ipaddress.ip_address(host)  # raises ValueError on a host name: we need an address
    if not 0 < port < 65536:
        raise ValueError(f"bad port in {spec!r}")
    return host, port


def _nameservers(specs: tuple[str, ...]) -> list[Nameserver]:
    if specs:
        return [Nameserver.of(*parse_nameserver(spec)) for spec in specs]
    # No --nameserver: the system's, read from /etc/resolv.conf by dnspython (configuration
    # only; the questions go through our own transport).
    system = dns.resolver.Resolver()
    servers = []
    for address in system.nameservers:
        text = str(address)
        port = system.nameserver_ports.get(text, system.port)
        try:
            servers.append(Nameserver.of(text, port))
        except ValueError:
            continue  # a DoH URL or a scoped address: not something this transport speaks
    if not servers:
        raise DnsError("no nameserver configured in the system", reason="error")
    return servers


def is_ip_literal(host: str) -> bool:
    # Nearly every host is a name: skip the parse, and the exception it raises, unless the text
    # could be an address (a fleet asks this for every host of every domain).
    if ":" not in host and not host.replace(".", "").isdigit():
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Resolver:
    def __init__(
        self,
        *,
        nameservers: tuple[str, ...] = (),
        overrides: dict[str, tuple[str, ...]] | None = None,
        timeout_s: float = 4.0,
        guard: AddressGuard | None = None,
        concurrency: int = 64,
        max_negative_ttl_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
        try_timeout_s: float | None = None,
        sockets_per_server: int = 4,
        cache_entries: int = 10_000,
        upstream: Upstream | None = None,
    ) -> None:
        # Every address the tool connects to comes from `addresses()`, so this is the one
        # place the SSRF guard sits (mailaudit.net.addresses). The default guard refuses every
        # non-global address.
        self.guard = guard if guard is not None else AddressGuard()
        # `timeout_s` is each question's whole lifetime; a try waits at most 2 s before the
        # question goes to the next nameserver (dnspython's defaults, kept from before).
        self._timeout_s = timeout_s
        self._transport = DnsTransport(
            _nameservers(nameservers),
            try_timeout_s=try_timeout_s if try_timeout_s is not None else min(timeout_s, 2.0),
            sockets_per_server=sockets_per_server,
        )
        self._overrides = {k.lower().rstrip("."): v for k, v in (overrides or {}).items()}
        self._wire = asyncio.Semaphore(concurrency)
        self._max_negative_ttl_s = max_negative_ttl_s
        self._monotonic = monotonic
        self.stats = ResolverStats()
        self._cache = _AnswerCache(cache_entries, self.stats)
        self._in_flight: dict[tuple[str, str], asyncio.Future[tuple[DnsAnswer, float]]] = {}
        self._upstream = upstream

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """One lookup; NXDOMAIN and NODATA are answers, not errors. Raises DnsError on timeouts,
        SERVFAIL and malformed names. Answered from the run's cache within the answer's TTL."""
        key = (name.lower().rstrip("."), rdtype.upper())
        cached = self._cache.get(key, self._monotonic())
        if cached is not None:
            self.stats.cache_hits += 1
            return _renamed(cached, name)
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._ask_counted(name, rdtype))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        else:
            self.stats.shared_in_flight += 1
        # Shielded: one asker cancelled (a guess no longer needed) must not cancel the query
        # for the others.
        answer, _ = await asyncio.shield(pending)
        return _renamed(answer, name)

    def _settle(self, key: tuple[str, str], done: asyncio.Future[tuple[DnsAnswer, float]]) -> None:
        if self._in_flight.get(key) is done:
            del self._in_flight[key]
        if done.cancelled() or done.exception() is not None:
            return
        answer, ttl_s = done.result()
        if ttl_s > 0:
            now = self._monotonic()
            self._cache.put(key, answer, now + ttl_s, now)

    async def query_for_peer(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        """`query` for a resolver that has us as its `Upstream`: the answer and the seconds it
        may still be kept (0: not to be kept)."""
        answer = await self.query(name, rdtype)
        now = self._monotonic()
        return answer, self._cache.expires_in((name.lower().rstrip("."), rdtype.upper()), now)

    async def _ask_counted(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        upstream = self._upstream
        if upstream is not None and not upstream.local(name):
            self.stats.upstream += 1
            return await upstream.ask(name, rdtype)
        async with self._wire:
            self.stats.queries += 1
            return await self._ask(name, rdtype)

    async def _ask(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        """One question on the wire: the answer and how long it may be kept (seconds)."""
        try:
            qtype = _rdatatype(rdtype)
            # A plain host name is put on the wire directly; anything else (escapes, IDNA,
            # errors) goes through dnspython's name parser.
            wire = name_wire(name)
            if wire is None:
                qname = dns.name.from_text(name)
                wire = qname.to_wire()
                assert wire is not None  # an absolute name always renders
                label = f"{qtype.name} {qname}"
            else:
                label = f"{qtype.name} {name if name.endswith('.') else name + '.'}"
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as exc:
            raise DnsError(f"{rdtype} {name}: bad name", reason="bad-name") from exc
        except (dns.exception.DNSException, UnicodeError) as exc:
            raise DnsError(f"{rdtype} {name}: {exc}", reason="error") from exc
        reply = await self._transport.exchange(wire, qtype, lifetime_s=self._timeout_s, label=label)
        # RFC 2308: a negative answer is kept for min(SOA TTL, SOA MINIMUM) (worked out with
        # the CNAME TTLs on the way), capped by our own bound.
        if reply.nxdomain:
            ttl_s = min(float(reply.ttl), self._max_negative_ttl_s)
            return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN), ttl_s
        if not reply.answered:
            ttl_s = min(float(reply.ttl), self._max_negative_ttl_s)
            no_answer = DnsAnswer(
                name, rdtype, AnswerStatus.NO_ANSWER, authenticated=reply.authenticated
            )
            return no_answer, ttl_s
        # The TTL of an answer reached through CNAMEs is the shortest on the chain.
        canonical = reply.canonical_name.rstrip(".")
        found = DnsAnswer(
            name,
            rdtype,
            AnswerStatus.OK,
            reply.records,
            reply.authenticated,
            canonical if canonical.lower() != name.lower().rstrip(".") else None,
        )
        return found, float(reply.ttl)

    async def aclose(self) -> None:
        """Close the DNS sockets (every `with_guard` view shares them). Safe to call twice; a
        later question opens new ones."""
        await self._transport.aclose()

    def with_guard(self, guard: AddressGuard) -> Resolver:
        """The same resolver — its cache, queries in flight and limits shared — recording what
        `guard` refuses (one discovery's own record, reaching the run's through its parent)."""
        view = copy.copy(self)
        view.guard = guard
        return view

    async def addresses(self, host: str) -> tuple[str, ...]:
        """The IPv4 and IPv6 addresses of `host` the tool may connect to (overrides first, IP
        literals as they are), through the address guard. Raises DnsError when the name has
        none, PrivateAddressRefused when the guard admits none."""
        return self.guard.admit(host, await self.lookup_addresses(host))

    async def lookup_addresses(self, host: str) -> tuple[str, ...]:
        """Every address of `host`, unguarded: for judging (forward-confirmed PTR), never for
        connecting."""
        key = host.lower().rstrip(".")
        if key in self._overrides:
            return self._overrides[key]
        if is_ip_literal(key.strip("[]")):
            return (key.strip("[]"),)
        # Shared hosts are asked for by every domain: both answers fresh in the cache are
        # taken without a task each (what asyncio.gather would cost).
        now = self._monotonic()
        a_cached = self._cache.get((key, "A"), now)
        aaaa_cached = self._cache.get((key, "AAAA"), now) if a_cached is not None else None
        if a_cached is not None and aaaa_cached is not None:
            self.stats.cache_hits += 2
            a, aaaa = a_cached, aaaa_cached
        else:
            a, aaaa = await asyncio.gather(self.query(host, "A"), self.query(host, "AAAA"))
        found = a.records + aaaa.records
        if found:
            return found
        if a.status is AnswerStatus.NXDOMAIN:
            raise DnsError(f"{host}: no such domain (NXDOMAIN)", reason="nxdomain")
        raise DnsError(f"{host}: no A or AAAA record", reason="no-answer")

    async def mx(self, domain: str) -> tuple[DnsAnswer, tuple[MxRecord, ...]]:
        answer = await self.query(domain, "MX")
        records = []
        for text in answer.records:
            pref, _, host = text.partition(" ")
            records.append(MxRecord(int(pref), host.rstrip(".")))
        return answer, tuple(sorted(records, key=lambda r: (r.preference, r.host)))

    async def srv(self, name: str) -> tuple[DnsAnswer, tuple[SrvRecord, ...]]:
        answer = await self.query(name, "SRV")
        records = []
        for text in answer.records:
            priority, weight, port, target = text.split()
            records.append(SrvRecord(int(priority), int(weight), int(port), target.rstrip(".")))
        return answer, tuple(sorted(records, key=lambda r: (r.priority, -r.weight)))

    async def txt(self, name: str) -> tuple[DnsAnswer, tuple[str, ...]]:
        """TXT strings of each record joined as RFC 7208 §3.3 says (no separator)."""
        answer = await self.query(name, "TXT")
        return answer, tuple(_join_txt(text) for text in answer.records)

    async def ptr(self, address: str) -> tuple[DnsAnswer, tuple[str, ...]]:
        name = dns.reversename.from_address(address).to_text()
        answer = await self.query(name, "PTR")
        return answer, tuple(r.rstrip(".") for r in answer.records)


@dataclass
class ResolverStats:
    """What the run's DNS cost: questions sent, answered from the cache, shared in flight, and
    answers the bounded cache let go before their TTL ran out."""

    queries: int = 0
    cache_hits: int = 0
    shared_in_flight: int = 0
    evicted: int = 0
    # Asked of the `Upstream` resolver instead of the wire.
    upstream: int = 0


class _AnswerCache:
    """(name, type) -> answer until its expiry on the monotonic clock; at most `capacity`
    answers, the least recently used dropped first. Expired answers go when they are next
    looked up, and all of them once per `capacity` insertions (a sweep, O(1) amortised)."""

    def __init__(self, capacity: int, stats: ResolverStats) -> None:
        if capacity < 1:
            raise ValueError("the DNS cache needs room for at least one answer")
        self.capacity = capacity
        self._stats = stats
        self._entries: OrderedDict[tuple[str, str], tuple[DnsAnswer, float]] = OrderedDict()
        self._until_sweep = capacity

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, str], now: float) -> DnsAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def expires_in(self, key: tuple[str, str], now: float) -> float:
        """Seconds the answer under `key` stays (0 when it is not kept), without touching it."""
        entry = self._entries.get(key)
        return max(0.0, entry[1] - now) if entry is not None else 0.0

    def put(self, key: tuple[str, str], answer: DnsAnswer, expires: float, now: float) -> None:
        self._entries[key] = (answer, expires)
        self._entries.move_to_end(key)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._until_sweep = self.capacity
            for stale in [k for k, (_, until) in self._entries.items() if until <= now]:
                del self._entries[stale]
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self._stats.evicted += 1


@cache
def _rdatatype(text: str) -> dns.rdatatype.RdataType:
    return dns.rdatatype.from_text(text)


def _renamed(answer: DnsAnswer, name: str) -> DnsAnswer:
    # The cache key is case-insensitive; an asker gets the answer under the name it asked.
    return answer if answer.name == name else replace(answer, name=name)


def _join_txt(presentation: str) -> str:
    # dnspython renders a TXT rdata as one or more quoted strings; joining them is the value.
    parts: list[str] = []
    i = 0
    while i < len(presentation):
        if presentation[i] == '"':
            j = i + 1
            chunk = []
            while j < len(presentation) and presentation[j] != '"':
                if presentation[j] == "\\" and j + 1 < len(presentation):
                    nxt = presentation[j + 1]
                    if nxt.isdigit() and j + 3 < len(presentation):
                        chunk.append(chr(int(presentation[j + 1 : j + 4])))
                        j += 4
                        continue
                    chunk.append(nxt)
                    j += 2
                    continue
                chunk.append(presentation[j])
                j += 1
            parts.append("".join(chunk))
            i = j + 1
        else:
            i += 1
    return "".join(parts)
