"""Real replies from the lab's DNS servers (Knot, authoritative; unbound, validating) read by the
wire reader's fast path and by dnspython: the same answer, and the fast path taken for the kinds
an audit asks most (issue 11)."""

from __future__ import annotations

import socket

import dns.flags
import dns.message
import pytest

from mailaudit.net.dns_transport import reply_of
from mailaudit.protocols.dns_wire import read_reply

pytestmark = pytest.mark.lab

COMMON = [
    ("good.test", "MX"),
    ("good.test", "TXT"),
    ("_dmarc.good.test", "TXT"),
    ("mail.good.test", "A"),
    ("mail.good.test", "AAAA"),  # NODATA, SOA in the authority section
    ("nothing-here.good.test", "MX"),  # NXDOMAIN
    ("_imap._tcp.busyimap.test", "SRV"),
    ("_submission._tcp.guess.test", "SRV"),  # NXDOMAIN
    ("10.0.0.127.in-addr.arpa", "PTR"),
    ("_mta-sts.good.test", "TXT"),
]
SIGNED = [("mail.dane.test", "A"), ("_25._tcp.mail.dane.test", "TLSA")]  # RRSIGs: dnspython's


def ask(server: str, name: str, rdtype: str) -> bytes:
    query = dns.message.make_query(name, rdtype, use_edns=0, want_dnssec=True)
    query.flags |= dns.flags.AD
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3.0)
        sock.connect((server, 53))
        sock.send(query.to_wire())
        return sock.recv(65535)


def dnspython_reads(wire: bytes) -> object:
    message = dns.message.from_wire(wire)
    assert isinstance(message, dns.message.QueryMessage)
    return reply_of(message)


@pytest.mark.parametrize("which", ["MAILAUDIT_NAMESERVER", "MAILAUDIT_LAB_RESOLVER"])
def test_lab_replies_read_alike_and_the_common_ones_fast(
    lab_env: dict[str, str], which: str
) -> None:
    server = lab_env[which].split(":")[0]

    answered = set()
    for name, rdtype in COMMON:
        wire = ask(server, name, rdtype)
        fast = read_reply(wire)
        assert fast is not None, (name, rdtype)
        assert fast == dnspython_reads(wire), (name, rdtype)
        if fast.answered:
            answered.add(rdtype)
    assert answered == {"MX", "TXT", "A", "SRV", "PTR"}  # every common type seen answered

    for name, rdtype in SIGNED:
        wire = ask(server, name, rdtype)
        assert read_reply(wire) is None  # signatures are left to dnspython
        assert dnspython_reads(wire)
