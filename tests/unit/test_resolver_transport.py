"""The resolver's own DNS transport against an in-process DNS server on loopback: long-lived
sockets, random ids, anti-spoofing, retries across nameservers, TCP after truncation, and the
answers' meaning (negative TTLs, CNAME chains, the AD bit)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from mailaudit.context import Context
from mailaudit.net.dns_transport import _Question
from mailaudit.net.errors import DnsError
from mailaudit.net.resolver import AnswerStatus, Resolver, is_ip_literal
from mailaudit.protocols.dns_wire import name_wire
from mailaudit.settings import Settings, Timeouts
from tests.unit.fake_dns import (
    FakeDns,
    rcode,
    serving_in_thread,
    silent,
    truncated,
    without_edns,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def mail_zone() -> FakeDns:
    return FakeDns(
        zone={
            ("mail.good.test", "A"): (300, ("127.0.0.10",)),
            ("good.test", "MX"): (300, ("10 mail.good.test.",)),
        }
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeDns]:
    fake = await mail_zone().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def second() -> AsyncIterator[FakeDns]:
    fake = await mail_zone().start()
    yield fake
    await fake.stop()


def resolver_for(*servers: FakeDns, **options: object) -> Resolver:
    return Resolver(nameservers=tuple(s.spec for s in servers), **options)  # type: ignore[arg-type]


async def test_many_questions_share_a_few_long_lived_sockets(server: FakeDns) -> None:
    # Given a zone with 300 names
    for i in range(300):
        server.zone[(f"h{i}.good.test", "A")] = (300, (f"127.0.1.{i % 250}",))
    resolver = resolver_for(server, sockets_per_server=4)

    # When all are asked at once
    answers = await asyncio.gather(*(resolver.query(f"h{i}.good.test", "A") for i in range(300)))

    # Then every answer is right, and the server saw 300 questions from only 4 source ports
    assert [a.records for a in answers] == [(f"127.0.1.{i % 250}",) for i in range(300)]
    assert len(server.seen) == 300
    assert len(server.udp_sources) == 4
    await resolver.aclose()


async def test_message_ids_are_random(server: FakeDns) -> None:
    resolver = resolver_for(server)

    await asyncio.gather(*(resolver.query(f"n{i}.good.test", "A") for i in range(200)))

    ids = [seen.query.id for seen in server.seen]
    assert len(set(ids)) >= 190  # 200 draws from 65,536: a handful of repeats at most
    assert ids != sorted(ids)
    assert max(ids) - min(ids) > 30_000
    await resolver.aclose()


async def test_query_asks_for_dnssec_and_reports_the_ad_bit(server: FakeDns) -> None:
    server.authenticated = True
    resolver = resolver_for(server)

    answer = await resolver.query("good.test", "MX")

    assert answer.records == ("10 mail.good.test.",)
    assert answer.authenticated
    query = server.seen[0].query
    assert query.flags & dns.flags.RD
    assert query.flags & dns.flags.AD
    assert query.edns == 0
    assert query.ednsflags & dns.flags.DO
    assert query.payload == 1232


async def test_spoofed_replies_are_ignored(server: FakeDns) -> None:
    # Given a server that first sends a reply with a wrong id, then one with the right id but
    # another question, then (from another port) the right id and question, then the real one
    outsider = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outsider.bind(("127.0.0.1", 0))

    def forged(query: dns.message.Message, address: str) -> dns.message.Message:
        reply = dns.message.make_response(query)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "A", address))
        return reply

    def spoofing(fake: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
        wrong_id = forged(query, "6.6.6.6")
        wrong_id.id = (query.id + 1) % 65536
        other = dns.message.make_query("evil.test", "A")
        other.id = query.id
        wrong_question = forged(other, "6.6.6.7")
        outsider.sendto(forged(query, "6.6.6.8").to_wire(), fake.seen[-1].source)
        return [wrong_id.to_wire(), wrong_question.to_wire(), fake.answer(query).to_wire()]

    server.behaviour = spoofing
    resolver = resolver_for(server)

    # When the name is asked
    answer = await resolver.query("mail.good.test", "A")

    # Then only the genuine reply counts
    assert answer.records == ("127.0.0.10",)
    outsider.close()
    await resolver.aclose()


async def test_a_reply_to_an_unknown_id_alone_is_a_timeout(server: FakeDns) -> None:
    def wrong_id_only(fake: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
        reply = fake.answer(query)
        reply.id = (query.id + 1) % 65536
        return [reply.to_wire()]

    server.behaviour = wrong_id_only
    resolver = resolver_for(server, timeout_s=0.3, try_timeout_s=0.1)

    with pytest.raises(DnsError) as caught:
        await resolver.query("mail.good.test", "A")
    assert caught.value.reason == "timeout"


async def test_a_truncated_reply_is_asked_again_over_tcp(server: FakeDns) -> None:
    # Given an answer bigger than the EDNS payload, which the server truncates over UDP
    records = tuple(f'"v=spf1 include:n{i:03}.good.test -all"' for i in range(60))
    server.zone[("big.good.test", "TXT")] = (300, records)
    server.behaviour = truncated
    resolver = resolver_for(server)

    answer = await resolver.query("big.good.test", "TXT")

    assert sorted(answer.records) == sorted(records)
    assert [s.over_tcp for s in server.seen] == [False, True]
    await resolver.aclose()


async def test_a_silent_server_passes_the_question_to_the_next(
    server: FakeDns, second: FakeDns
) -> None:
    server.behaviour = silent
    resolver = resolver_for(server, second, timeout_s=3.0, try_timeout_s=0.2)

    answer = await resolver.query("mail.good.test", "A")

    assert answer.records == ("127.0.0.10",)
    assert len(server.seen) == 1
    assert len(second.seen) == 1
    await resolver.aclose()


async def test_silence_everywhere_is_a_timeout_after_retries(
    server: FakeDns, second: FakeDns
) -> None:
    server.behaviour = second.behaviour = silent
    resolver = resolver_for(server, second, timeout_s=0.5, try_timeout_s=0.1)

    with pytest.raises(DnsError) as caught:
        await resolver.query("mail.good.test", "A")

    assert caught.value.reason == "timeout"
    # Tried in turn, each more than once within the lifetime.
    assert len(server.seen) >= 2
    assert len(second.seen) >= 2
    await resolver.aclose()


async def test_a_late_reply_to_an_earlier_try_still_counts(server: FakeDns) -> None:
    # Given a server that answers only the first try, after that try's timeout
    loop = asyncio.get_running_loop()

    def slow_first(fake: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
        if len(fake.seen) == 1:
            source = fake.seen[-1].source
            reply = fake.answer(query).to_wire()
            loop.call_later(0.15, lambda: fake._udp.sendto(reply, source))  # type: ignore[union-attr]
        return []

    server.behaviour = slow_first
    resolver = resolver_for(server, timeout_s=2.0, try_timeout_s=0.1)

    answer = await resolver.query("mail.good.test", "A")

    assert answer.records == ("127.0.0.10",)
    assert len(server.seen) == 2  # the retransmission went out, the first reply won
    await resolver.aclose()


async def test_servfail_moves_to_the_next_server(server: FakeDns, second: FakeDns) -> None:
    server.behaviour = rcode(dns.rcode.SERVFAIL)
    resolver = resolver_for(server, second, try_timeout_s=1.5)

    answer = await resolver.query("mail.good.test", "A")

    assert answer.records == ("127.0.0.10",)
    assert len(server.seen) == 1
    assert len(second.seen) == 1
    await resolver.aclose()


@pytest.mark.parametrize("code", [dns.rcode.SERVFAIL, dns.rcode.REFUSED])
async def test_no_server_answering_is_servfail_and_not_kept(
    server: FakeDns, second: FakeDns, code: dns.rcode.Rcode
) -> None:
    server.behaviour = second.behaviour = rcode(code)
    resolver = resolver_for(server, second)

    for _ in range(2):
        with pytest.raises(DnsError) as caught:
            await resolver.query("mail.good.test", "A")
        assert caught.value.reason == "servfail"
    # Each server asked once per lookup: a failure is not cached, and not retried in a loop.
    assert len(server.seen) == len(second.seen) == 2
    await resolver.aclose()


async def test_a_closed_port_is_servfail_without_waiting() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    resolver = Resolver(nameservers=(f"127.0.0.1:{port}",), timeout_s=30.0)

    with pytest.raises(DnsError) as caught:
        await asyncio.wait_for(resolver.query("mail.good.test", "A"), timeout=10)

    assert caught.value.reason == "servfail"
    await resolver.aclose()


async def test_formerr_without_edns_is_asked_again_without_edns(server: FakeDns) -> None:
    server.behaviour = without_edns
    resolver = resolver_for(server)

    answer = await resolver.query("mail.good.test", "A")

    assert answer.records == ("127.0.0.10",)
    assert [s.query.edns for s in server.seen] == [0, -1]
    await resolver.aclose()


@pytest.mark.parametrize(
    ("soa_ttl", "soa_minimum", "cap_s", "kept_s"),
    [(300, 60, 3600.0, 60), (30, 600, 3600.0, 30), (300, 600, 100.0, 100)],
)
async def test_nxdomain_is_kept_for_its_negative_ttl(
    server: FakeDns, soa_ttl: int, soa_minimum: int, cap_s: float, kept_s: int
) -> None:
    # RFC 2308 §5: min(SOA TTL, SOA MINIMUM), capped by our own bound.
    server.soa_ttl, server.soa_minimum = soa_ttl, soa_minimum
    clock = Clock()
    resolver = resolver_for(server, monotonic=clock, max_negative_ttl_s=cap_s)

    answer = await resolver.query("nowhere.good.test", "MX")
    assert answer.status is AnswerStatus.NXDOMAIN
    clock.now += kept_s - 1
    await resolver.query("nowhere.good.test", "MX")
    assert len(server.seen) == 1
    clock.now += 2
    await resolver.query("nowhere.good.test", "MX")
    assert len(server.seen) == 2
    await resolver.aclose()


async def test_nodata_is_an_answer_kept_for_its_negative_ttl(server: FakeDns) -> None:
    clock = Clock()
    resolver = resolver_for(server, monotonic=clock)

    answer = await resolver.query("good.test", "TXT")

    assert answer.status is AnswerStatus.NO_ANSWER
    assert answer.records == ()
    clock.now += 59
    await resolver.query("good.test", "TXT")
    clock.now += 2
    await resolver.query("good.test", "TXT")
    assert len(server.seen) == 2
    await resolver.aclose()


async def test_a_cname_chain_is_followed_and_kept_for_its_shortest_ttl(server: FakeDns) -> None:
    # www -> alias (TTL 100) -> mail.good.test (TTL 50) whose A has TTL 300
    server.cnames = {"www.good.test": ("alias.good.test", 100)}
    server.cnames["alias.good.test"] = ("mail.good.test", 50)
    clock = Clock()
    resolver = resolver_for(server, monotonic=clock)

    answer = await resolver.query("www.good.test", "A")

    assert answer.records == ("127.0.0.10",)
    assert answer.canonical_name == "mail.good.test"
    clock.now += 49
    await resolver.query("www.good.test", "A")
    assert len(server.seen) == 1
    clock.now += 2
    await resolver.query("www.good.test", "A")
    assert len(server.seen) == 2
    await resolver.aclose()


async def test_guard_views_share_the_sockets(server: FakeDns) -> None:
    resolver = resolver_for(server, sockets_per_server=2)
    view = resolver.with_guard(resolver.guard.child())

    await asyncio.gather(
        *(r.query(f"v{i}.good.test", "A") for i in range(20) for r in (resolver, view))
    )

    assert len(server.udp_sources) == 2
    await view.aclose()


async def test_closing_the_context_closes_the_sockets_and_a_new_question_reopens(
    server: FakeDns,
) -> None:
    ctx = Context.create(Settings(nameservers=(server.spec,), timeouts=Timeouts(dns_s=2.0)))

    await ctx.resolver.query("mail.good.test", "A")
    await ctx.aclose()
    await ctx.aclose()  # twice is harmless
    await ctx.resolver.query("good.test", "MX")

    assert len(server.udp_sources) == 2  # the first socket was closed, a new one opened
    await ctx.aclose()


def test_a_resolver_works_across_event_loops_and_its_sockets_close_with_each() -> None:
    # The CLI runs asyncio.run with a Context made outside it, and nobody calls aclose: the end
    # of each loop closes that loop's sockets (a leak would fail this test: warnings are errors).
    with serving_in_thread(mail_zone()) as fake:
        resolver = Resolver(nameservers=(fake.spec,), timeout_s=2.0)

        first = asyncio.run(resolver.query("mail.good.test", "A"))
        second = asyncio.run(resolver.query("good.test", "MX"))

    assert first.records == ("127.0.0.10",)
    assert second.records == ("10 mail.good.test.",)
    assert len(fake.udp_sources) == 2


@pytest.mark.parametrize(
    "name", ["good.test", "MAIL.Good.Test.", "_submission._tcp.x.test", "a" * 63 + ".test"]
)
@pytest.mark.parametrize("rdtype", ["A", "AAAA", "MX", "TXT", "SRV", "PTR", "TLSA"])
@pytest.mark.parametrize("edns", [True, False])
def test_a_query_is_the_wire_dnspython_would_build(name: str, rdtype: str, edns: bool) -> None:
    # The resolver writes a plain name's wire form itself and the transport splices it into a
    # per-type template; the bytes must not differ from dnspython's.
    qname = dns.name.from_text(name)
    expected = dns.message.make_query(qname, rdtype)
    expected.id = 4321
    expected.flags = dns.flags.RD | dns.flags.AD
    if edns:
        expected.use_edns(0, dns.flags.DO, 1232)
    name_on_wire = name_wire(name)
    assert name_on_wire is not None

    wire = _Question(name_on_wire, dns.rdatatype.from_text(rdtype), label=name).wire(
        4321, edns=edns
    )

    assert wire == expected.to_wire()


async def test_addresses_of_a_shared_host_come_from_the_cache(server: FakeDns) -> None:
    server.zone[("mail.good.test", "AAAA")] = (300, ("::1",))
    resolver = resolver_for(server)

    found = [await resolver.lookup_addresses("Mail.Good.Test.") for _ in range(3)]

    assert found == [("127.0.0.10", "::1")] * 3
    assert len(server.seen) == 2  # A and AAAA, once
    assert resolver.stats.queries == 2
    assert resolver.stats.cache_hits == 4
    await resolver.aclose()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("mail.good.test", False),
        ("1.2.3.4", True),
        ("1.2.3", False),
        ("::1", True),
        ("2001:db8::25", True),
        ("1234", False),
        ("a:b", False),
        ("\u0661\u0662.\u0661.\u0661.\u0661", False),  # Arabic-Indic digits: not an address
    ],
)
def test_ip_literals_are_told_from_names(host: str, expected: bool) -> None:
    assert is_ip_literal(host) is expected


async def test_a_nameserver_that_cannot_be_reached_is_servfail() -> None:
    # connect() refuses a UDP socket to the broadcast address (no SO_BROADCAST): the server is
    # out at once, as a refused port is.
    resolver = Resolver(nameservers=("255.255.255.255",), timeout_s=30.0)

    with pytest.raises(DnsError) as caught:
        await asyncio.wait_for(resolver.query("mail.good.test", "A"), timeout=10)

    assert caught.value.reason == "servfail"
    await resolver.aclose()
