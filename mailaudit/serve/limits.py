"""Per-client rate limits: a token bucket per client address, in a bounded table.

A client that empties its bucket gets 429 with the seconds until its next token; the table
forgets the least recently seen clients beyond `max_clients`, so a flood of source addresses
cannot grow it without bound (a forgotten client starts again with a full bucket, which is at
most `burst` extra requests)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    burst: int
    per_minute: float

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class RateLimiter:
    def __init__(
        self, rate: Rate, *, clock: Callable[[], float], max_clients: int = 10_000
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._max_clients = max_clients
        # client -> (tokens, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """0.0 when `client` may go ahead (one token taken), else the seconds to wait."""
        now = self._clock()
        tokens, then = self._buckets.pop(client, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + (now - then) * self.rate.per_second)
        if tokens >= 1.0:
            self._remember(client, tokens - 1.0, now)
            return 0.0
        self._remember(client, tokens, now)
        return (1.0 - tokens) / self.rate.per_second

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
