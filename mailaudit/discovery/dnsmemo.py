"""One discovery run asks the same names many times (autoconfig.<domain> over HTTPS and HTTP,
the domain for .well-known and Autodiscover, each probed host before its probe). Within one run
an answer does not change, so each (name, type) is asked once; concurrent askers share the one
query in flight. Failures are not remembered: the next asker tries again."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from mailaudit.context import Context
from mailaudit.net.resolver import DnsAnswer, Resolver


class RunResolver(Resolver):
    """The run's resolver (same nameservers, overrides and timeouts) with a per-run memo."""

    def __init__(self, ctx: Context) -> None:
        settings = ctx.settings
        super().__init__(
            nameservers=settings.nameservers,
            overrides=settings.resolve,
            timeout_s=settings.timeouts.dns_s,
            # Its own record of refused addresses (this discovery's), passed on to the run's.
            guard=ctx.resolver.guard.child(),
        )
        self._memo: dict[tuple[str, str], asyncio.Task[DnsAnswer]] = {}

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = (name.lower().rstrip("."), rdtype.upper())
        task = self._memo.get(key)
        if task is None:
            task = asyncio.ensure_future(super().query(name, rdtype))
            self._memo[key] = task
        try:
            return await asyncio.shield(task)
        except Exception:
            if self._memo.get(key) is task:
                del self._memo[key]
            raise


def with_run_resolver(ctx: Context) -> Context:
    """`ctx` with a memoising resolver, sharing everything else (trust store, politeness
    slots, the Public Suffix List)."""
    ctx.global_slot()
    return replace(ctx, resolver=RunResolver(ctx))
