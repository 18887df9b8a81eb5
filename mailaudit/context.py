"""The seams of a run in one object, in two halves:

- `Settings`: configuration, frozen, freely derived (`ctx.with_settings(...)` for a shorter
  budget, say);
- `Services`: what one run shares — the resolver and its DNS cache, TLS contexts, politeness
  slots, the run memo, the clock. Created once by `Context.create`; every derived Context shares
  the same `Services`, so nobody has to remember to create a semaphore before copying (issue 9).

Everything that does I/O takes a `Context`; tests build one pointing at the lab.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache

from publicsuffixlist import PublicSuffixList

from mailaudit.net.addresses import AddressGuard, AddressPolicy
from mailaudit.net.politeness import Politeness, RunMemo
from mailaudit.net.resolver import Resolver, Upstream
from mailaudit.net.tls import permissive_context, verifying_context
from mailaudit.settings import Settings

__all__ = ["Context"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@cache
def public_suffix_list() -> PublicSuffixList:
    """The Public Suffix List shipped with publicsuffixlist, parsed once per process (about
    60 ms and 1.2 MiB a parse: issue 11 found one parse per domain blocking the event loop)."""
    return PublicSuffixList()


@dataclass(frozen=True)
class Services:
    """What one run shares, whatever settings a part of it runs with."""

    resolver: Resolver
    verifying_tls: ssl.SSLContext
    permissive_tls: ssl.SSLContext
    politeness: Politeness
    memo: RunMemo
    # The SSRF guard and what it refused in this run; the resolver holds the same object.
    address_guard: AddressGuard
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Context:
    settings: Settings
    services: Services

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        politeness: Politeness | None = None,
        memo: RunMemo | None = None,
        dns_upstream: Upstream | None = None,
    ) -> Context:
        """`memo` and `dns_upstream` share a run across processes (a domain worker's, see
        `mailaudit.audit.process_engine`); by default the run is this process's alone."""
        settings = settings or Settings()
        if resolver is None:
            resolver = Resolver(
                nameservers=settings.nameservers,
                overrides=settings.resolve,
                timeout_s=settings.timeouts.dns_s,
                guard=AddressGuard(AddressPolicy.from_settings(settings)),
                concurrency=settings.limits.dns_concurrency,
                cache_entries=settings.limits.dns_cache_entries,
                monotonic=monotonic,
                upstream=dns_upstream,
            )
        return cls(
            settings=settings,
            services=Services(
                resolver=resolver,
                verifying_tls=verifying_context(settings.ca_file),
                permissive_tls=permissive_context(),
                politeness=politeness or Politeness(settings.limits, monotonic=monotonic),
                memo=memo or RunMemo(),
                address_guard=resolver.guard,
                clock=clock,
                monotonic=monotonic,
            ),
        )

    async def aclose(self) -> None:
        """Close what the run holds open (the DNS sockets). Optional: the end of `asyncio.run`
        closes them too; call it when a long-lived loop outlives the run (a Dask worker, a
        server)."""
        await self.services.resolver.aclose()

    def with_settings(self, settings: Settings) -> Context:
        """Other settings (a shorter budget, say), the same run: the services stay shared. The
        politeness limits are the run's, set when it was created."""
        return replace(self, settings=settings)

    def with_politeness(self, politeness: Politeness) -> Context:
        """Other connection limits (shared with other processes), everything else shared."""
        return replace(self, services=replace(self.services, politeness=politeness))

    def with_resolver(self, resolver: Resolver) -> Context:
        """Another resolver (tests answer from a zone), everything else shared."""
        return replace(self, services=replace(self.services, resolver=resolver))

    @property
    def resolver(self) -> Resolver:
        return self.services.resolver

    @property
    def verifying_tls(self) -> ssl.SSLContext:
        return self.services.verifying_tls

    @property
    def permissive_tls(self) -> ssl.SSLContext:
        return self.services.permissive_tls

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.services.clock

    @property
    def monotonic(self) -> Callable[[], float]:
        return self.services.monotonic

    @property
    def address_guard(self) -> AddressGuard:
        return self.services.address_guard

    @property
    def memo(self) -> RunMemo:
        return self.services.memo

    @property
    def public_suffixes(self) -> PublicSuffixList:
        return public_suffix_list()

    def endpoint_slot(self, address: str, port: int) -> AbstractAsyncContextManager[None]:
        """Politeness: hold this while connected to (address, port) — limits per endpoint, per
        address and per second, whoever asks."""
        return self.services.politeness.endpoint(address, port)

    def global_slot(self) -> asyncio.Semaphore:
        """At most `max_concurrency` connections at once in the whole run."""
        return self.services.politeness.global_slot()
