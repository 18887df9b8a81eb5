"""Run settings: every knob in one frozen object, filled from the CLI or by library users."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Limits", "Settings", "Timeouts"]


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    # One server reply (greeting, EHLO, CAPA...); bounded as a whole, so a server dripping one
    # byte a second cannot stretch it.
    reply_s: float = 10.0
    tls_handshake_s: float = 10.0
    # Everything one endpoint may take, all steps together.
    endpoint_budget_s: float = 30.0
    dns_s: float = 4.0
    http_s: float = 8.0
    # A server that answers 421 (busy, too many connections) is asked once more after this
    # long; a second 421 makes its checks inconclusive.
    refused_retry_s: float = 5.0


@dataclass(frozen=True)
class Limits:
    # Bytes one connection may receive in total before we give up on it.
    max_bytes_per_connection: int = 1_048_576
    max_http_body_bytes: int = 262_144
    max_http_redirects: int = 10
    # Politeness: connections at once to one (address, port), to one address (all its ports),
    # and new connections per second to one address (0: unpaced).
    connections_per_endpoint: int = 1
    connections_per_address: int = 4
    connections_per_second_per_address: float = 20.0
    # Connections at once overall.
    max_concurrency: int = 32
    # DNS questions on the wire at once (the cache answers the rest).
    dns_concurrency: int = 64
    # Answers the run's DNS cache keeps at most (least recently used dropped first; under 1 KB
    # each). Sized for the answers a fleet shares (its hosts, its providers) and the domains in
    # flight (domain_concurrency x ~31 questions); a finished customer's answers go.
    dns_cache_entries: int = 10_000
    # Domains gathering their DNS facts (MX, discovery, policy) at once in a fleet audit.
    domain_concurrency: int = 64
    # Domains whose DNS phase is done that may wait for their endpoints at once (their facts
    # wait on disk, a task each in memory); past it the DNS phase waits.
    domains_waiting: int = 4096
    # sslyze worker processes at once (mailaudit.probes.tls_scan), about 65 MB each while
    # scanning. bench/fleet.py, N=100, 15 shared endpoints, 2 cores: 4 workers 427 MB / 26 s,
    # 2 workers 257 MB / 23 s, 1 worker 178 MB / 19 s (issue 11): the scan is CPU-bound, so
    # more workers than free cores only add memory.
    tls_workers: int = 1


@dataclass(frozen=True)
class Settings:
    nameservers: tuple[str, ...] = ()
    # curl-style overrides: host name -> addresses.
    resolve: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ca_file: str | None = None
    ehlo_name: str = "mailaudit.invalid"
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    # The SSRF guard (mailaudit.net.addresses): connect to non-global addresses (loopback,
    # RFC 1918, CGNAT, link-local, ULA, multicast, reserved) only when the user opts in.
    allow_private: bool = False
    # Hosts or IP addresses the user named as targets (--endpoint, probe URLs): reachable
    # even when non-global. Names given to `resolve` count as named too.
    named_targets: tuple[str, ...] = ()
    # CIDR networks to treat as internal although they are global (an ISP's own ranges), and
    # as global although they are not (a lab playing the Internet on loopback). The longest
    # prefix wins.
    private_networks: tuple[str, ...] = ()
    global_networks: tuple[str, ...] = ()
