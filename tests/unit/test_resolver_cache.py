"""The run's DNS cache: each (name, type) asked once within its TTL, negative answers too,
concurrent askers sharing the query in flight, failures not kept."""

from __future__ import annotations

import asyncio

import pytest

from mailaudit.context import Context
from mailaudit.net.errors import DnsError
from mailaudit.net.resolver import AnswerStatus, DnsAnswer, Resolver
from mailaudit.settings import Limits, Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class WireResolver(Resolver):
    """Answers from a table instead of the network; counts the questions that reach the wire."""

    def __init__(
        self,
        clock: Clock,
        *,
        delay_s: float = 0.0,
        concurrency: int = 64,
        cache_entries: int = 10_000,
    ) -> None:
        super().__init__(
            nameservers=("127.0.0.1",),
            monotonic=clock,
            concurrency=concurrency,
            cache_entries=cache_entries,
        )
        self.asked: list[tuple[str, str]] = []
        self.delay_s = delay_s
        self.fail_next = False
        self.on_wire = 0
        self.most_on_wire = 0

    async def _ask(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        self.asked.append((name, rdtype))
        self.on_wire += 1
        self.most_on_wire = max(self.most_on_wire, self.on_wire)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.on_wire -= 1
        if self.fail_next:
            self.fail_next = False
            raise DnsError(f"{rdtype} {name}: timeout", reason="timeout")
        if name.lower().startswith("missing"):
            return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN), 30.0
        return DnsAnswer(name, rdtype, AnswerStatus.OK, ("127.0.0.10",)), 300.0


async def test_a_question_is_asked_once_within_its_ttl() -> None:
    clock = Clock()
    resolver = WireResolver(clock)

    first = await resolver.query("mail.good.test", "A")
    again = await resolver.query("MAIL.good.test.", "a")
    clock.now += 299
    still = await resolver.query("mail.good.test", "A")

    assert resolver.asked == [("mail.good.test", "A")]
    assert first.records == again.records == still.records == ("127.0.0.10",)
    assert again.name == "MAIL.good.test."  # under the name it was asked by
    assert resolver.stats.queries == 1
    assert resolver.stats.cache_hits == 2

    clock.now += 2  # past the TTL
    await resolver.query("mail.good.test", "A")
    assert len(resolver.asked) == 2


async def test_negative_answers_are_cached_for_their_own_ttl() -> None:
    clock = Clock()
    resolver = WireResolver(clock)

    assert (await resolver.query("missing.test", "MX")).status is AnswerStatus.NXDOMAIN
    clock.now += 29
    await resolver.query("missing.test", "MX")
    assert len(resolver.asked) == 1
    clock.now += 2
    await resolver.query("missing.test", "MX")
    assert len(resolver.asked) == 2


async def test_concurrent_askers_share_the_query_in_flight() -> None:
    resolver = WireResolver(Clock(), delay_s=0.05)

    answers = await asyncio.gather(*(resolver.query("good.test", "MX") for _ in range(50)))

    assert resolver.asked == [("good.test", "MX")]
    assert {a.status for a in answers} == {AnswerStatus.OK}
    assert resolver.stats.shared_in_flight == 49


async def test_a_cancelled_asker_does_not_cancel_the_others() -> None:
    resolver = WireResolver(Clock(), delay_s=0.05)
    impatient = asyncio.ensure_future(resolver.query("good.test", "MX"))
    patient = asyncio.ensure_future(resolver.query("good.test", "MX"))
    await asyncio.sleep(0.01)

    impatient.cancel()

    assert (await patient).status is AnswerStatus.OK
    assert impatient.cancelled()


async def test_failures_are_not_kept() -> None:
    resolver = WireResolver(Clock())
    resolver.fail_next = True

    with pytest.raises(DnsError):
        await resolver.query("good.test", "MX")
    assert (await resolver.query("good.test", "MX")).status is AnswerStatus.OK
    assert len(resolver.asked) == 2


async def test_questions_on_the_wire_are_bounded() -> None:
    resolver = WireResolver(Clock(), delay_s=0.01, concurrency=4)

    await asyncio.gather(*(resolver.query(f"d{i}.test", "MX") for i in range(40)))

    assert len(resolver.asked) == 40
    assert resolver.most_on_wire == 4


async def test_the_cache_is_bounded_and_keeps_what_is_used() -> None:
    # Given a cache of 4 answers and a shared host every "domain" asks for
    resolver = WireResolver(Clock(), cache_entries=4)
    for i in range(20):
        await resolver.query("mail.shared.test", "A")
        await resolver.query(f"d{i}.test", "MX")
        await resolver.query(f"d{i}.test", "TXT")

    # Then the shared answer was asked once, each domain's answers once, and at most 4 are kept
    assert resolver.asked.count(("mail.shared.test", "A")) == 1
    assert len(resolver.asked) == 1 + 40
    assert len(resolver._cache) == 4
    assert resolver.stats.evicted == 40 + 1 - 4
    # The most recent domain is still there; the first one went and is asked again
    await resolver.query("d19.test", "TXT")
    await resolver.query("d0.test", "MX")
    assert resolver.asked[-1] == ("d0.test", "MX")
    assert len(resolver.asked) == 42


async def test_expired_answers_are_dropped_not_kept() -> None:
    clock = Clock()
    resolver = WireResolver(clock, cache_entries=10)
    for i in range(5):
        await resolver.query(f"missing{i}.test", "MX")  # NXDOMAIN, kept 30 s
    await resolver.query("good.test", "MX")  # kept 300 s
    assert len(resolver._cache) == 6

    clock.now += 31
    # Ten insertions later the cache sweeps: the expired negative answers are gone, although
    # there was room for them, and the live answer stays.
    for i in range(4):
        await resolver.query(f"h{i}.test", "A")
    assert len(resolver._cache) == 5
    assert resolver.stats.evicted == 0
    await resolver.query("good.test", "MX")
    assert resolver.asked.count(("good.test", "MX")) == 1
    # An expired answer looked up is dropped and asked again
    clock.now += 300
    await resolver.query("good.test", "MX")
    assert resolver.asked.count(("good.test", "MX")) == 2


def test_the_cache_size_is_a_setting() -> None:
    context = Context.create(
        Settings(nameservers=("127.0.0.1",), limits=Limits(dns_cache_entries=123))
    )
    assert context.resolver._cache.capacity == 123
    with pytest.raises(ValueError, match="at least one"):
        Resolver(nameservers=("127.0.0.1",), cache_entries=0)
