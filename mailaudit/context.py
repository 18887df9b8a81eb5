"""The seams of a run in one object: settings, resolver, TLS contexts, politeness limits and the
clock. Everything that does I/O takes a `Context`; tests build one pointing at the lab."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from publicsuffixlist import PublicSuffixList

from mailaudit.net.addresses import AddressGuard, AddressPolicy
from mailaudit.net.resolver import Resolver
from mailaudit.net.tls import permissive_context, verifying_context
from mailaudit.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    settings: Settings
    resolver: Resolver
    verifying_tls: ssl.SSLContext
    permissive_tls: ssl.SSLContext
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    # The SSRF guard and what it refused in this run; the resolver holds the same object.
    address_guard: AddressGuard = field(default_factory=AddressGuard)
    _endpoint_locks: dict[tuple[str, int], asyncio.Semaphore] = field(default_factory=dict)
    _global: asyncio.Semaphore | None = None
    _psl: PublicSuffixList | None = None

    @classmethod
    def create(cls, settings: Settings | None = None) -> Context:
        settings = settings or Settings()
        guard = AddressGuard(AddressPolicy.from_settings(settings))
        return cls(
            settings=settings,
            resolver=Resolver(
                nameservers=settings.nameservers,
                overrides=settings.resolve,
                timeout_s=settings.timeouts.dns_s,
                guard=guard,
            ),
            verifying_tls=verifying_context(settings.ca_file),
            permissive_tls=permissive_context(),
            address_guard=guard,
        )

    @property
    def public_suffixes(self) -> PublicSuffixList:
        """The Public Suffix List shipped with publicsuffixlist, parsed once per run (about
        50 ms a parse: too slow to repeat for each of thousands of domains)."""
        if self._psl is None:
            self._psl = PublicSuffixList()
        return self._psl

    def endpoint_slot(self, address: str, port: int) -> asyncio.Semaphore:
        """Politeness: at most `connections_per_endpoint` connections at once to one
        (address, port), whoever asks."""
        key = (address, port)
        if key not in self._endpoint_locks:
            self._endpoint_locks[key] = asyncio.Semaphore(
                self.settings.limits.connections_per_endpoint
            )
        return self._endpoint_locks[key]

    def global_slot(self) -> asyncio.Semaphore:
        if self._global is None:
            self._global = asyncio.Semaphore(self.settings.limits.max_concurrency)
        return self._global
