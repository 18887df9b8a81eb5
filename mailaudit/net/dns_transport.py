"""Our own DNS stub transport: questions to the configured nameservers over a few long-lived UDP
sockets, TCP when a reply is truncated.

Why not `dns.asyncresolver`: it opens a fresh UDP socket for every question, and at fleet scale
(issue 11, thousands of domains, tens of questions each) socket set-up and teardown were a third
of the run's CPU. Here each nameserver gets `sockets_per_server` connected UDP sockets, each on its
own random source port, opened on first use in the running event loop and reused for every
question after that. Replies are read by our own wire reader (`mailaudit.protocols.dns_wire`)
when they are of the common kind, else by dnspython (`from_wire`, `resolve_chaining`); queries
are dnspython's, built once per type (`make_query`) with each question's name spliced in.

Anti-spoofing (RFC 5452): every question carries a random 16-bit id; a datagram is taken as the
reply only when its id is one we are waiting for on that socket, it comes from the nameserver's
address and port, and its question section is ours. Anything else is dropped.

Resolution, as dnspython's stub does it: each try waits `try_timeout_s`, then the question goes to
the next nameserver (earlier tries stay open: a late reply still counts), until the lifetime is
spent (`DnsError(reason="timeout")`). SERVFAIL, REFUSED, a malformed reply or a refused port take a
nameserver out for this question; none left is `DnsError(reason="servfail")`. A truncated reply is
asked again once over TCP. A FORMERR from a server that does not speak EDNS is asked again without
EDNS.

Sockets live as long as their event loop: `aclose()` closes them, and so does the end of
`asyncio.run` (it cancels every task left, including the one that holds the sockets), so a
forgotten close never leaks a socket past its loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from mailaudit.net.errors import DnsError
from mailaudit.protocols.dns_wire import WireReply, read_reply

__all__ = ["DnsTransport", "Nameserver", "reply_of"]

# Ask for the AD bit (RFC 6840 §5.7) and DNSSEC records so a validating resolver can tell us an
# answer was DNSSEC-checked; 1232 bytes is the DNS Flag Day 2020 payload size.
QUERY_FLAGS = dns.flags.RD | dns.flags.AD
EDNS_PAYLOAD = 1232
_HEADER = 12
_QR = 0x80
_TC = 0x02


@dataclass(frozen=True)
class Nameserver:
    address: str  # normalised (ipaddress), as the kernel reports a datagram's source
    port: int = 53

    @classmethod
    def of(cls, address: str, port: int = 53) -> Nameserver:
        return cls(str(ipaddress.ip_address(address)), port)

    def __str__(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )


class _Question:
    """One question's wire forms and what a reply must repeat of it."""

    def __init__(self, name_wire: bytes, rdtype: dns.rdatatype.RdataType, *, label: str) -> None:
        # `name_wire`: the absolute name, uncompressed; `label` names the question in errors.
        self.rdtype = rdtype
        self.label = label
        self.name_wire = name_wire
        self.edns_wire = _with_name(_query_template(rdtype, edns=True), name_wire)
        self.plain_wire = b""  # built only for a server that refuses EDNS
        # Names compare case-insensitively; a label length byte (<= 63) is never an ASCII letter.
        self.name_lower = name_wire.lower()
        self.tail = self.edns_wire[_HEADER + len(name_wire) : _HEADER + len(name_wire) + 4]

    def wire(self, query_id: int, *, edns: bool) -> bytes:
        if not edns and not self.plain_wire:
            self.plain_wire = _with_name(_query_template(self.rdtype, edns=False), self.name_wire)
        body = self.edns_wire if edns else self.plain_wire
        return query_id.to_bytes(2, "big") + body[2:]

    def is_answered_by(self, data: bytes) -> bool:
        """The reply flag set and exactly our question repeated (RFC 5452 §9.1)."""
        end = _HEADER + len(self.name_lower)
        return (
            len(data) >= end + 4
            and data[2] & _QR != 0
            and data[4:6] == b"\x00\x01"
            and data[_HEADER:end].lower() == self.name_lower
            and data[end : end + 4] == self.tail
        )


@cache
def _query_template(rdtype: dns.rdatatype.RdataType, *, edns: bool) -> bytes:
    """dnspython's query for the root name, per type: every question of that type is this wire
    with its own name in the root's place. Building each query with make_query + to_wire was
    an eighth of a fleet run's CPU (issue 11); splicing a name costs a microsecond."""
    query = dns.message.make_query(dns.name.root, rdtype)
    query.flags = QUERY_FLAGS
    if edns:
        query.use_edns(0, dns.flags.DO, EDNS_PAYLOAD)
    return query.to_wire()


def _with_name(template: bytes, name_wire: bytes) -> bytes:
    # The question's name starts right after the header; the root name is the single byte 0.
    return template[:_HEADER] + name_wire + template[_HEADER + 1 :]


class _Verdict(Enum):
    AGAIN = "again"
    WAIT = "wait"


class _Inbox:
    """Where the replies to one question's tries arrive, whichever socket they came in on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.items: deque[tuple[Nameserver, bytes | OSError]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, server: Nameserver, item: bytes | OSError) -> None:
        self.items.append((server, item))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, until: float) -> None:
        """Until something arrives or the loop's clock reaches `until`."""
        if self.items:
            return
        self._waiter = waiter = self._loop.create_future()
        timer = self._loop.call_at(until, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _UdpSocket(asyncio.DatagramProtocol):
    """One connected UDP socket to one nameserver, shared by many questions in flight."""

    def __init__(self, server: Nameserver, owner: _LoopSockets) -> None:
        self.server = server
        # The owner is reachable from the loop through this protocol, so the task that closes
        # the sockets at the loop's end stays alive as long as they are open.
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[_Question, _Inbox]] = {}
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def send(self, question: _Question, inbox: _Inbox, *, edns: bool) -> int:
        query_id = secrets.randbits(16)
        while query_id in self.waiting:
            query_id = secrets.randbits(16)
        self.waiting[query_id] = (question, inbox)
        assert self.transport is not None
        self.transport.sendto(question.wire(query_id, edns=edns))
        return query_id

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) < _HEADER:
            self.dropped += 1
            return
        query_id = int.from_bytes(data[:2], "big")
        entry = self.waiting.get(query_id)
        if (
            entry is None
            or addr[0] != self.server.address
            or addr[1] != self.server.port
            or not entry[0].is_answered_by(data)
        ):
            self.dropped += 1
            return
        del self.waiting[query_id]
        entry[1].put(self.server, data)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error on a connected socket (port unreachable): it names no question, so every
        # question waiting here hears that this server failed.
        error = exc if isinstance(exc, OSError) else OSError(str(exc))
        waiting, self.waiting = self.waiting, {}
        for _, inbox in waiting.values():
            inbox.put(self.server, error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionAbortedError("DNS socket closed"))


class _LoopSockets:
    """The UDP sockets of one event loop, and the task that closes them when the loop ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop, per_server: int) -> None:
        self.loop = loop
        self.per_server = per_server
        self.sockets: dict[Nameserver, list[_UdpSocket]] = {}
        self._opening: dict[Nameserver, asyncio.Future[None]] = {}
        self._turn = 0
        self._closed: asyncio.Future[None] = loop.create_future()
        self._keeper = loop.create_task(self._keep())

    async def pick(self, server: Nameserver) -> _UdpSocket:
        sockets = self.sockets.get(server)
        if sockets is None:
            opening = self._opening.get(server)
            if opening is None:
                opening = self._opening[server] = asyncio.ensure_future(self._open(server))
            await asyncio.shield(opening)
            sockets = self.sockets[server]
        self._turn += 1
        return sockets[self._turn % len(sockets)]

    async def _open(self, server: Nameserver) -> None:
        try:
            opened: list[_UdpSocket] = []
            try:
                for _ in range(self.per_server):
                    # Connected: the kernel drops datagrams from any other source, and a fresh
                    # ephemeral (random) source port per socket.
                    _, protocol = await self.loop.create_datagram_endpoint(
                        lambda: _UdpSocket(server, self), remote_addr=(server.address, server.port)
                    )
                    opened.append(protocol)
            except BaseException:
                for protocol in opened:
                    if protocol.transport is not None:
                        protocol.transport.close()
                raise
            self.sockets[server] = opened
        finally:
            del self._opening[server]

    async def _keep(self) -> None:
        try:
            await self._closed
        finally:
            for sockets in self.sockets.values():
                for protocol in sockets:
                    if protocol.transport is not None:
                        protocol.transport.close()
            self.sockets.clear()

    async def aclose(self) -> None:
        if not self._closed.done():
            self._closed.set_result(None)
        if not self._keeper.done():
            await self._keeper


class DnsTransport:
    """Questions to a fixed list of nameservers, over sockets shared by the whole run."""

    def __init__(
        self,
        nameservers: Sequence[Nameserver],
        *,
        try_timeout_s: float = 2.0,
        sockets_per_server: int = 4,
    ) -> None:
        if not nameservers:
            raise ValueError("no nameserver to ask")
        self.nameservers = tuple(nameservers)
        self.try_timeout_s = try_timeout_s
        self.sockets_per_server = sockets_per_server
        self._sockets: _LoopSockets | None = None

    def _loop_sockets(self) -> _LoopSockets:
        loop = asyncio.get_running_loop()
        # A new event loop (another asyncio.run with the same Context) gets sockets of its own;
        # the old loop's were closed when it ended.
        if self._sockets is None or self._sockets.loop is not loop:
            self._sockets = _LoopSockets(loop, self.sockets_per_server)
        return self._sockets

    async def aclose(self) -> None:
        """Close the sockets (they reopen if the transport is used again)."""
        sockets, self._sockets = self._sockets, None
        if sockets is not None and sockets.loop is asyncio.get_running_loop():
            await sockets.aclose()

    async def exchange(
        self, name_wire: bytes, rdtype: dns.rdatatype.RdataType, *, lifetime_s: float, label: str
    ) -> WireReply:
        """What the reply (NOERROR or NXDOMAIN) says, its CNAME chain resolved. `name_wire` is
        the question's absolute name, uncompressed; `label` names it in errors ("MX a.test.").
        Raises DnsError."""
        sockets = self._loop_sockets()
        loop = sockets.loop
        deadline = loop.time() + lifetime_s
        question = _Question(name_wire, rdtype, label=label)
        inbox = _Inbox(loop)
        usable = list(self.nameservers)
        without_edns: set[Nameserver] = set()
        tries: list[tuple[_UdpSocket, int]] = []
        failures: list[str] = []
        turn = 0
        again: Nameserver | None = None
        try:
            while True:
                if not usable:
                    raise DnsError(
                        f"{label}: no server answered ({'; '.join(failures)})", reason="servfail"
                    )
                now = loop.time()
                if now >= deadline:
                    raise DnsError(f"{label}: timeout", reason="timeout")
                if again is None:
                    server = usable[turn % len(usable)]
                    turn += 1
                else:
                    server, again = again, None
                try:
                    udp = await sockets.pick(server)
                except OSError as exc:  # no route to it, say: this server is out
                    usable.remove(server)
                    failures.append(f"{server}: {exc}")
                    continue
                tries.append((udp, udp.send(question, inbox, edns=server not in without_edns)))
                until = min(now + self.try_timeout_s, deadline)
                # Wait for this try (or a late reply to an earlier one) until its time is up or
                # a server drops out, then ask the next.
                moved_on = False
                while not moved_on and loop.time() < until:
                    await inbox.wait(until)
                    while inbox.items and not moved_on:
                        replier, item = inbox.items.popleft()
                        if replier not in usable:
                            continue
                        outcome = await self._judge(question, replier, item, until, without_edns)
                        if isinstance(outcome, WireReply):
                            return outcome
                        if outcome is _Verdict.AGAIN:
                            again = replier
                            moved_on = True
                        elif outcome is not _Verdict.WAIT:
                            usable.remove(replier)
                            failures.append(f"{replier}: {outcome}")
                            moved_on = True
        finally:
            for udp, query_id in tries:
                udp.waiting.pop(query_id, None)

    async def _judge(
        self,
        question: _Question,
        server: Nameserver,
        item: bytes | OSError,
        until: float,
        without_edns: set[Nameserver],
    ) -> WireReply | _Verdict | str:
        """A usable reply; AGAIN (ask this server again) or WAIT (keep waiting for a reply);
        otherwise why this server is out for this question."""
        if isinstance(item, OSError):
            return str(item) or type(item).__name__
        data = item
        if data[2] & _TC:
            try:
                data = await self._tcp(question, server, until, edns=server not in without_edns)
            except TimeoutError:
                return _Verdict.WAIT  # the server stays in: a later try may do better
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as exc:
                return f"TCP: {exc or type(exc).__name__}"
        fast = read_reply(data)
        if fast is not None:
            return fast
        # Not the common kind (another rcode, type or class, EDNS options, anything odd):
        # dnspython reads it and says what is wrong with it.
        try:
            reply = dns.message.from_wire(data)
        except (dns.exception.DNSException, ValueError) as exc:
            return f"malformed reply: {exc}"
        if not isinstance(reply, dns.message.QueryMessage) or reply.flags & dns.flags.TC:
            return "truncated over TCP" if data is not item else "not a query reply"
        rcode = reply.rcode()
        if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            try:
                return reply_of(reply)
            except dns.exception.DNSException as exc:
                return f"bad answer: {exc}"
        if rcode == dns.rcode.YXDOMAIN:
            raise DnsError(f"{question.label}: YXDOMAIN", reason="error")
        if rcode == dns.rcode.FORMERR and reply.edns < 0 and server not in without_edns:
            # RFC 6891 §7: a server that does not know EDNS answers FORMERR without an OPT record.
            without_edns.add(server)
            return _Verdict.AGAIN
        return dns.rcode.to_text(rcode)

    async def _tcp(
        self, question: _Question, server: Nameserver, until: float, *, edns: bool
    ) -> bytes:
        """One question over TCP (RFC 7766), bounded by the try's deadline. The two-byte length
        prefix bounds the reply to 64 KiB, and exactly that many bytes are read."""
        query_id = secrets.randbits(16)
        wire = question.wire(query_id, edns=edns)
        async with asyncio.timeout_at(until):
            reader, writer = await asyncio.open_connection(server.address, server.port)
            try:
                writer.write(len(wire).to_bytes(2, "big") + wire)
                size = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(size)
            finally:
                writer.close()
        if len(data) < _HEADER or int.from_bytes(data[:2], "big") != query_id:
            raise ValueError("reply id does not match")
        if not question.is_answered_by(data):
            raise ValueError("reply question does not match")
        return data


def reply_of(reply: dns.message.QueryMessage) -> WireReply:
    """What a NOERROR or NXDOMAIN reply parsed by dnspython says (the slow path; the wire
    reader's fast path must say the same). Raises dns.exception.DNSException on a bad chain."""
    chain = reply.resolve_chaining()
    return WireReply(
        nxdomain=reply.rcode() == dns.rcode.NXDOMAIN,
        authenticated=bool(reply.flags & dns.flags.AD),
        answered=chain.answer is not None,
        records=() if chain.answer is None else tuple(r.to_text() for r in chain.answer),
        canonical_name=chain.canonical_name.to_text(),
        ttl=chain.minimum_ttl,
    )
