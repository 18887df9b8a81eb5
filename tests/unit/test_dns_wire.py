"""The DNS wire reader's fast path says exactly what dnspython's path says (issue 11).

Replies are generated with dnspython (random names sharing suffixes, so the renderer compresses
them; CNAME chains; TXT strings with quotes, backslashes and any byte; MX, SRV, PTR, NS; A and
AAAA incl. the IPv4-mapped forms; NXDOMAIN and NODATA with an SOA; TTLs past 2^31; duplicate
records; RRsets split across records with different TTLs) and read both ways. The fast path may
decline (None: the transport then asks dnspython), but whatever it returns must equal
`reply_of(dns.message.from_wire(...))`, and on the common kind of reply it must not decline.
Mangled bytes never raise and never yield an answer dnspython would not give.
"""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.ipv6
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailaudit.net.dns_transport import reply_of
from mailaudit.protocols.dns_wire import WireReply, name_text, name_wire, read_reply

IN = dns.rdataclass.IN
BASES = ("good.test", "Example.COM", "mail.provider.test", "x.y.z.test", "")


def dnspython_reads(wire: bytes) -> WireReply | None:
    """The transport's slow path, or None where the transport would not take the reply."""
    try:
        message = dns.message.from_wire(wire)
        if not isinstance(message, dns.message.QueryMessage) or message.flags & dns.flags.TC:
            return None
        if message.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return None
        return reply_of(message)
    except Exception:
        return None


plain_label = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=12,
).map(str.encode)
odd_label = st.binary(min_size=1, max_size=12)  # dots, spaces, quotes, '\', any byte
label = st.one_of(plain_label, plain_label, plain_label, odd_label)


@st.composite
def names(draw: st.DrawFn) -> dns.name.Name:
    base = draw(st.sampled_from(BASES))
    labels = [*draw(st.lists(label, max_size=3)), *base.encode().split(b".")]
    if draw(st.booleans()):  # the same name, another case: compression ignores case
        labels = [x.swapcase() for x in labels]
    labels = [x for x in labels if x]
    try:
        return dns.name.Name([*labels, b""])
    except dns.name.NameTooLong:
        return dns.name.Name([b"long", b"test", b""])


ttls = st.one_of(
    st.sampled_from([0, 60, 300, 3600]),
    st.integers(0, 2**31 - 1),
    st.integers(2**31, 2**32 - 1),  # read as 0
)


@st.composite
def ipv6(draw: st.DrawFn) -> str:
    raw = draw(
        st.one_of(
            st.binary(min_size=16, max_size=16),
            st.binary(min_size=4, max_size=4).map(lambda v4: bytes(10) + b"\xff\xff" + v4),
            st.binary(min_size=4, max_size=4).map(lambda v4: bytes(12) + v4),
            st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8]), min_size=8, max_size=8).map(
                lambda groups: b"".join(g.to_bytes(2, "big") for g in groups)
            ),
        )
    )
    return dns.ipv6.inet_ntoa(raw)


def rdata_of(rdtype: dns.rdatatype.RdataType, draw: st.DrawFn) -> dns.rdata.Rdata:
    # Built from text where that is simplest; dnspython's own constructors otherwise.
    if rdtype == dns.rdatatype.A:
        octets = draw(st.lists(st.integers(0, 255), min_size=4, max_size=4))
        return dns.rdata.from_text(IN, rdtype, ".".join(map(str, octets)))
    if rdtype == dns.rdatatype.AAAA:
        return dns.rdata.from_text(IN, rdtype, draw(ipv6()))
    if rdtype == dns.rdatatype.TXT:
        strings = draw(
            st.lists(
                st.one_of(
                    st.binary(max_size=40),
                    st.text(alphabet='v=spf1 -all"\\;é ', max_size=40).map(str.encode),
                    st.binary(min_size=250, max_size=255),
                ),
                min_size=1,
                max_size=4,
            )
        )
        cls = dns.rdata.get_rdata_class(IN, rdtype)
        return cls(IN, rdtype, strings)  # type: ignore[no-any-return]
    if rdtype == dns.rdatatype.MX:
        cls = dns.rdata.get_rdata_class(IN, rdtype)
        return cls(IN, rdtype, draw(st.integers(0, 65535)), draw(names()))  # type: ignore[no-any-return]
    if rdtype == dns.rdatatype.SRV:
        cls = dns.rdata.get_rdata_class(IN, rdtype)
        fields = draw(st.lists(st.integers(0, 65535), min_size=3, max_size=3))
        return cls(IN, rdtype, *fields, draw(names()))  # type: ignore[no-any-return]
    if rdtype == dns.rdatatype.TLSA:
        return dns.rdata.from_text(IN, rdtype, "3 1 1 " + "ab" * 32)
    cls = dns.rdata.get_rdata_class(IN, rdtype)  # PTR, NS, CNAME
    return cls(IN, rdtype, draw(names()))  # type: ignore[no-any-return]


COMMON_TYPES = [
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.MX,
    dns.rdatatype.TXT,
    dns.rdatatype.SRV,
    dns.rdatatype.PTR,
    dns.rdatatype.NS,
    dns.rdatatype.CNAME,
]


def rrsets(
    name: dns.name.Name, rdtype: dns.rdatatype.RdataType, draw: st.DrawFn
) -> list[dns.rrset.RRset]:
    """One RRset as one or more wire RRsets: split ones carry different TTLs, and a record may
    repeat (dnspython merges and de-duplicates them on reading)."""
    rdatas = [rdata_of(rdtype, draw) for _ in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        rdatas.append(rdatas[0])
    parts = draw(st.integers(1, len(rdatas)))
    out = []
    for i in range(parts):
        rrset = dns.rrset.RRset(name, IN, rdtype)
        rrset.ttl = draw(ttls)
        # A duplicate in another part stays on the wire (within one RRset dnspython drops it).
        for rd in rdatas[i::parts]:
            rrset.add(rd)
        out.append(rrset)
    return out


def soa(name: dns.name.Name, draw: st.DrawFn) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, IN, dns.rdatatype.SOA)
    rrset.ttl = draw(ttls)
    cls = dns.rdata.get_rdata_class(IN, dns.rdatatype.SOA)
    fields = draw(st.lists(st.integers(0, 2**32 - 1), min_size=5, max_size=5))
    rrset.add(cls(IN, dns.rdatatype.SOA, draw(names()), draw(names()), *fields))
    return rrset


@st.composite
def replies(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A reply's wire form, and whether it is of the kind the fast path must take."""
    qname = draw(names())
    qtype = draw(st.sampled_from([*COMMON_TYPES, dns.rdatatype.TLSA]))
    query = dns.message.make_query(qname, qtype, id=4321)
    edns = draw(st.booleans())
    if edns:
        query.use_edns(0, dns.flags.DO, 1232)
    reply = dns.message.make_response(query)
    if draw(st.booleans()):
        reply.flags |= dns.flags.AD
    common = qtype != dns.rdatatype.TLSA
    rcode = draw(
        st.sampled_from([dns.rcode.NOERROR] * 3 + [dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL])
    )
    reply.set_rcode(rcode)
    common = common and rcode != dns.rcode.SERVFAIL
    # The answer: a CNAME chain (sometimes a loop, sometimes too long), then the type asked.
    owner = qname
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3, 17]))):
        target = draw(names())
        cname = dns.rrset.RRset(owner, IN, dns.rdatatype.CNAME)
        cname.ttl = draw(ttls)
        cname.add(dns.rdata.get_rdata_class(IN, dns.rdatatype.CNAME)(IN, 5, target))
        reply.answer.append(cname)
        owner = target
    answered = draw(st.sampled_from([True, True, True, False]))
    if answered:
        reply.answer.extend(rrsets(owner, qtype, draw))
    if draw(st.booleans()):  # a record of another name or type the chain does not reach
        other = draw(st.sampled_from(COMMON_TYPES))
        reply.answer.extend(rrsets(draw(names()), other, draw))
    # The authority: an SOA at the name, an ancestor or elsewhere; NS records maybe.
    if draw(st.booleans()):
        zone = owner
        for _ in range(draw(st.integers(0, 3))):
            if zone != dns.name.root:
                zone = zone.parent()
        reply.authority.append(soa(draw(st.sampled_from([zone, draw(names())])), draw))
    if draw(st.booleans()):
        reply.authority.extend(rrsets(owner, dns.rdatatype.NS, draw))
    if draw(st.booleans()):  # glue
        reply.additional.extend(rrsets(draw(names()), draw(st.sampled_from([1, 28])), draw))
    if edns and draw(st.booleans()):  # an EDNS option: left to dnspython
        reply.use_edns(0, dns.flags.DO, 1232, options=[dns.edns.GenericOption(65001, b"x")])
        common = False
    wire = reply.to_wire(max_size=65535, want_shuffle=False)
    return wire, common


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(replies())
def test_the_fast_path_reads_a_reply_as_dnspython_does(reply: tuple[bytes, bool]) -> None:
    wire, common = reply
    slow = dnspython_reads(wire)

    fast = read_reply(wire)

    if common:
        assert fast == slow  # taken whenever dnspython takes it, declined when it refuses it
    else:
        assert fast is None or fast == slow


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(replies(), st.data())
def test_mangled_replies_never_raise_nor_differ(
    reply: tuple[bytes, bool], data: st.DataObject
) -> None:
    wire, _ = reply
    mangled = bytearray(wire)
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, len(mangled)))
        if how == "cut":
            del mangled[at:]
        elif how == "insert":
            mangled[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        elif mangled and at < len(mangled):
            if how == "flip":
                mangled[at] = data.draw(st.integers(0, 255))
            else:
                del mangled[at]

    fast = read_reply(bytes(mangled))

    if fast is not None:
        assert fast == dnspython_reads(bytes(mangled))


@given(st.binary(max_size=200))
def test_random_bytes_never_raise_nor_differ(junk: bytes) -> None:
    # A header that passes the first checks, then anything.
    wire = b"\x12\x34\x81\x80\x00\x01" + junk
    fast = read_reply(wire)
    if fast is not None:
        assert fast == dnspython_reads(wire)


def pointer_reply(qname_wire: bytes, owner: bytes) -> bytes:
    header = b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    question = qname_wire + b"\x00\x01\x00\x01"
    return header + question + owner + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x7f\x00\x00\x01"


@pytest.mark.parametrize(
    ("owner", "taken"),
    [
        (b"\xc0\x0c", True),  # a pointer back to the question's name
        (b"\x04mail\xc0\x0c", False),  # another name (mail.good.test): no answer to the question
        (b"\xc0\x1e", False),  # forward, onto itself
        (b"\xc0\x11", False),  # onto the question's second label: test., no answer
        (b"\xc0\x0d", False),  # into a label's text: label type 01, malformed
        (b"\x80\x0c", False),  # label type 10 (RFC 6891): malformed
    ],
)
def test_compression_pointers(owner: bytes, taken: bool) -> None:
    wire = pointer_reply(b"\x04good\x04test\x00", owner)
    slow = dnspython_reads(wire)

    fast = read_reply(wire)

    assert fast == slow
    assert (fast is not None and fast.answered) is taken


def test_a_pointer_loop_is_refused() -> None:
    # The question's name points forward, at the answer's owner, which points back at it.
    wire = pointer_reply(b"\xc0\x1c", b"\xc0\x0c")
    assert read_reply(wire) is None
    assert dnspython_reads(wire) is None


def test_a_common_reply_reads_like_dnspython() -> None:
    # The kind a fleet gets most: NOERROR, one MX, compressed, EDNS, AD.
    query = dns.message.make_query("Cust00001.test", "MX", use_edns=0, want_dnssec=True, id=1)
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.AD
    reply.answer.append(
        dns.rrset.from_text("cust00001.test.", 300, "IN", "MX", "10 mail.wellknown.test.")
    )
    wire = reply.to_wire()

    fast = read_reply(wire)

    assert fast == WireReply(
        nxdomain=False,
        authenticated=True,
        answered=True,
        records=("10 mail.wellknown.test.",),
        canonical_name="Cust00001.test.",
        ttl=300,
    )
    assert fast == dnspython_reads(wire)


plain_names = st.lists(plain_label.map(bytes.decode), min_size=1, max_size=5).map(".".join)


@given(plain_names, st.booleans())
def test_a_plain_name_is_put_on_the_wire_as_dnspython_does(text: str, dot: bool) -> None:
    text += "." if dot else ""
    assert name_wire(text) == dns.name.from_text(text).to_wire()


@given(st.text(alphabet="abcXYZ019-_.\\ é@*", max_size=300))
def test_any_other_name_is_left_to_dnspython(text: str) -> None:
    wire = name_wire(text)
    if wire is not None:  # taken only when dnspython writes exactly that
        assert wire == dns.name.from_text(text).to_wire()
    elif _plain(text):
        assert len(text.rstrip(".")) > 253  # too long: dnspython raises


def _plain(text: str) -> bool:
    labels = text.removesuffix(".").split(".")
    return all(
        0 < len(x) <= 63 and all(c.isascii() and (c.isalnum() or c in "-_") for c in x)
        for x in labels
    )


@given(st.lists(st.binary(min_size=1, max_size=63), max_size=4))
def test_a_name_is_rendered_as_dnspython_does(labels: list[bytes]) -> None:
    name = dns.name.Name([*labels, b""])
    wire = name.to_wire()
    assert wire is not None
    assert name_text(wire) == name.to_text()
