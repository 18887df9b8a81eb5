"""Microseconds per DNS reply: dnspython's path (from_wire, resolve_chaining, to_text) against our
wire reader's fast path (mailaudit.protocols.dns_wire), on replies like a fleet audit's (issue 11).
Prints figures; not a test.

    python bench/dns_parse.py                        # replies built with dnspython
    python bench/dns_parse.py --nameserver 127.0.0.53 --domains 50   # recorded from the fleet lab
                                                     # (inside the lab's namespace, fleet served)

The built set mirrors what a fleet customer's audit asks (fixtures/lab/fleet.py): MX, SPF and
DMARC TXT, six RFC 6186 SRV names, NXDOMAIN with an SOA for the names it does not have (MTA-STS,
TLS-RPT, autoconfig, BIMI...), the shared hosts' A and their AAAA (NODATA with an SOA), and a CNAME.
Every reply is read both ways first and must come out the same.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rrset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailaudit.net.dns_transport import reply_of
from mailaudit.protocols.dns_wire import read_reply

SOA = "ns.lab.test. hostmaster.lab.test. 2026120301 3600 600 86400 300"
SRV = (
    ("_submissions._tcp", "0 1 465 smtp.guess.test."),
    ("_submission._tcp", "10 1 587 smtp.guess.test."),
    ("_imaps._tcp", "0 1 993 mail.httponly.test."),
    ("_imap._tcp", "10 1 143 mail.httponly.test."),
    ("_pop3s._tcp", "10 1 995 pop3.guess.test."),
    ("_pop3._tcp", "20 1 110 pop3.guess.test."),
)
MISSING = ("_mta-sts", "_smtp._tls", "autoconfig", "autodiscover", "default._bimi", "mta-sts")


def _reply(qname: str, rdtype: str, answers: list[tuple[str, str, str]], *, nx: bool) -> bytes:
    query = dns.message.make_query(qname, rdtype, use_edns=0, want_dnssec=True, id=1)
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.AA
    for owner, atype, text in answers:
        reply.answer.append(dns.rrset.from_text(owner, 300, "IN", atype, text))
    if nx or not answers:
        zone = qname.split(".", 1)[1] if qname.startswith("_") or nx else qname
        zone = ".".join(qname.rstrip(".").split(".")[-2:]) + "."  # the customer's zone
        reply.authority.append(dns.rrset.from_text(zone, 300, "IN", "SOA", SOA))
    if nx:
        reply.set_rcode(dns.rcode.NXDOMAIN)
    return reply.to_wire()


def built(domains: int) -> list[bytes]:
    replies = []
    for i in range(1, domains + 1):
        d = f"cust{i:05d}.test."
        replies.append(_reply(d, "MX", [(d, "MX", "10 mail.wellknown.test.")], nx=False))
        replies.append(_reply(d, "TXT", [(d, "TXT", '"v=spf1 mx -all"')], nx=False))
        dmarc = f'"v=DMARC1; p=reject; rua=mailto:dmarc@{d[:-1]}"'
        replies.append(_reply("_dmarc." + d, "TXT", [("_dmarc." + d, "TXT", dmarc)], nx=False))
        for label, text in SRV:
            replies.append(_reply(f"{label}.{d}", "SRV", [(f"{label}.{d}", "SRV", text)], nx=False))
        for label in MISSING:
            replies.append(_reply(f"{label}.{d}", "TXT", [], nx=True))
        replies.append(_reply(d, "A", [], nx=False))  # NODATA
        host = "mail.wellknown.test."
        replies.append(_reply(host, "A", [(host, "A", "127.0.0.71")], nx=False))
        replies.append(_reply(host, "AAAA", [], nx=False))
        alias = f"www.{d}"
        chain = [(alias, "CNAME", host), (host, "A", "127.0.0.71")]
        replies.append(_reply(alias, "A", chain, nx=False))
    return replies


def recorded(nameserver: str, domains: int) -> list[bytes]:
    """The same questions asked of a live nameserver (the fleet lab's Knot)."""
    questions = []
    for i in range(1, domains + 1):
        d = f"cust{i:05d}.test."
        questions += [(d, "MX"), (d, "TXT"), ("_dmarc." + d, "TXT"), (d, "A"), (d, "AAAA")]
        questions += [(f"{label}.{d}", "SRV") for label, _ in SRV]
        questions += [(f"{label}.{d}", "TXT") for label in MISSING]
    questions += [("mail.wellknown.test.", "A"), ("mail.wellknown.test.", "AAAA")]
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2.0)
        sock.connect((nameserver, 53))
        for qname, rdtype in questions:
            query = dns.message.make_query(qname, rdtype, use_edns=0, want_dnssec=True)
            query.flags |= dns.flags.AD
            sock.send(query.to_wire())
            replies.append(sock.recv(65535))
    return replies


def slow(wire: bytes) -> object:
    message = dns.message.from_wire(wire)
    assert isinstance(message, dns.message.QueryMessage)
    return reply_of(message)


def per_reply_us(read: object, replies: list[bytes], rounds: int) -> float:
    assert callable(read)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for wire in replies:
            read(wire)
        best = min(best, time.perf_counter() - start)
    return best / len(replies) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=200, help="customer domains to mirror")
    parser.add_argument("--nameserver", help="record the replies from this nameserver instead")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many passes")
    args = parser.parse_args()
    if args.nameserver:
        replies = recorded(args.nameserver, args.domains)
        source = f"recorded from {args.nameserver}"
    else:
        replies = built(args.domains)
        source = "built with dnspython"
    taken = 0
    for wire in replies:
        fast = read_reply(wire)
        if fast is not None:
            taken += 1
            assert fast == slow(wire), wire
    load = os.getloadavg()
    print(
        f"{len(replies)} replies ({source}); fast path taken for {taken}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    dnspython_us = per_reply_us(slow, replies, args.rounds)
    fast_us = per_reply_us(read_reply, replies, args.rounds)
    print(f"dnspython (from_wire + resolve_chaining + to_text): {dnspython_us:8.1f} µs per reply")
    print(f"fast path (read_reply):                             {fast_us:8.1f} µs per reply")
    print(f"ratio: {dnspython_us / fast_us:.1f}x")


if __name__ == "__main__":
    main()
