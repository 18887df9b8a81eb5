"""An in-process DNS server on loopback (UDP and TCP on one port) for the transport's tests: it
answers from a small zone, and a test can make it misbehave (stay silent, SERVFAIL, truncate,
refuse EDNS, send spoofed replies first). It records what it saw: every query, and the source
address of each UDP datagram (to count the client's sockets)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# A test's hook: the wire replies to send for one UDP query (possibly none, possibly several).
UdpBehaviour = Callable[["FakeDns", dns.message.Message, bytes], list[bytes]]


@dataclass
class Seen:
    query: dns.message.Message
    source: tuple[str, int]
    over_tcp: bool


@dataclass
class FakeDns:
    # (name, type) -> records in presentation form, with one TTL per rrset.
    zone: dict[tuple[str, str], tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    # name -> (target, ttl): a CNAME.
    cnames: dict[str, tuple[str, int]] = field(default_factory=dict)
    # (SOA record TTL, SOA MINIMUM) returned with negative answers.
    soa_ttl: int = 300
    soa_minimum: int = 60
    authenticated: bool = False
    behaviour: UdpBehaviour | None = None
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.Server | None = None

    async def start(self) -> FakeDns:
        loop = asyncio.get_running_loop()
        # TCP first on a free port, then UDP on the same number (as a nameserver listens).
        self._tcp = await asyncio.start_server(self._serve_tcp, "127.0.0.1", 0)
        self.port = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _UdpServer(self), local_addr=("127.0.0.1", self.port)
        )
        return self

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def udp_sources(self) -> set[tuple[str, int]]:
        return {s.source for s in self.seen if not s.over_tcp}

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The correct reply from the zone, following CNAMEs inside it."""
        reply = dns.message.make_response(query)
        if self.authenticated:
            reply.flags |= dns.flags.AD
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        while name in self.cnames:
            target, ttl = self.cnames[name]
            reply.answer.append(dns.rrset.from_text(name + ".", ttl, "IN", "CNAME", target + "."))
            name = target
        if (name, rdtype) in self.zone:
            ttl, records = self.zone[(name, rdtype)]
            reply.answer.append(dns.rrset.from_text(name + ".", ttl, "IN", rdtype, *records))
        else:
            if not any(n == name for n, _ in self.zone):
                reply.set_rcode(dns.rcode.NXDOMAIN)
            soa = f"ns.test. admin.test. 1 3600 600 86400 {self.soa_minimum}"
            reply.authority.append(dns.rrset.from_text("test.", self.soa_ttl, "IN", "SOA", soa))
        return reply

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            size = int.from_bytes(await reader.readexactly(2), "big")
            query = dns.message.from_wire(await reader.readexactly(size))
            peer = writer.get_extra_info("peername")
            self.seen.append(Seen(query, (str(peer[0]), int(peer[1])), over_tcp=True))
            reply = self.answer(query).to_wire(max_size=65535)
            writer.write(len(reply).to_bytes(2, "big") + reply)
            await writer.drain()
        finally:
            writer.close()

    def _reply_udp(self, query: dns.message.Message, wire: bytes) -> list[bytes]:
        if self.behaviour is not None:
            return self.behaviour(self, query, wire)
        return [self.answer(query).to_wire()]


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDns) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        query = dns.message.from_wire(data)
        source = (str(addr[0]), int(addr[1]))
        self.server.seen.append(Seen(query, source, over_tcp=False))
        assert self.transport is not None
        for reply in self.server._reply_udp(query, data):
            self.transport.sendto(reply, addr)


def truncated(server: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
    """Over UDP: the header and question with TC set, no records (the answer is too big)."""
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.TC
    return [reply.to_wire()]


def silent(server: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
    return []


def rcode(code: dns.rcode.Rcode) -> UdpBehaviour:
    def reply(server: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
        response = dns.message.make_response(query)
        response.set_rcode(code)
        return [response.to_wire()]

    return reply


def without_edns(server: FakeDns, query: dns.message.Message, wire: bytes) -> list[bytes]:
    """A server from before EDNS: FORMERR, without an OPT record, to a query that has one."""
    if query.edns >= 0:
        response = dns.message.make_response(query)
        response.use_edns(False)
        response.set_rcode(dns.rcode.FORMERR)
        return [response.to_wire()]
    return [server.answer(query).to_wire()]


@contextmanager
def serving_in_thread(server: FakeDns) -> Iterator[FakeDns]:
    """The server on an event loop of its own, for tests that run several loops of their own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
