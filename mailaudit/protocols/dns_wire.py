"""A small DNS wire reader for the replies a mail audit gets most (issue 11): pure, sans-I/O.

Why: dnspython's `message.from_wire` builds an rdata object per record (immutable, validated),
a `Name` per owner and target, then `resolve_chaining` and `to_text` walk them again; at fleet
scale that was a sixth of a run's CPU. This reader goes once over the bytes and yields only what
the resolver keeps: the outcome, the answer's records in presentation form, the name after
CNAMEs, and the TTL the answer may be kept.

It is a fast path, never the only path: `read_reply` returns None for anything it does not cover
exactly (another opcode or rcode, a class other than IN, a type it does not parse, EDNS options,
a truncated reply, malformed or surprising data of any kind), and the caller then parses the
reply with dnspython. When it does return a `WireReply`, that is what dnspython would make of the
same bytes: the same records, in the same order, rendered the same way (`Rdata.to_text`), the same
CNAME chain (`QueryMessage.resolve_chaining`, at most 16 links), the same TTL (an RRset's TTL is
its records' smallest, a TTL above 2^31-1 reads as 0; a negative answer's is bounded by the SOA
in the authority section, RFC 2308) and the same name compression rules (pointers only backwards,
at most 16 hops, names at most 255 bytes). tests/unit/test_dns_wire.py holds the two equal on
generated replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["WireReply", "name_text", "name_wire", "read_reply"]

# Header flags (RFC 1035 §4.1.1, RFC 4035 §3.2.3).
_QR = 0x8000
_OPCODE = 0x7800
_TC = 0x0200
_AD = 0x0020
_NXDOMAIN = 3

_CNAME = 5
_SOA = 6
_OPT = 41
_IN = 1

# dnspython's limits: CNAME links followed, compression pointer hops, and the negative TTL of
# an answer without SOA.
_MAX_CHAIN = 16
_MAX_HOPS = 16
_MAX_TTL = 2**32 - 1
_NEGATIVE_TTL_WITHOUT_SOA = 300


@dataclass(frozen=True, slots=True)
class WireReply:
    """What a NOERROR or NXDOMAIN reply says about its question."""

    nxdomain: bool
    # The AD bit: the resolver vouched for the answer (DNSSEC).
    authenticated: bool
    # An RRset of the question's type was found at the end of the CNAME chain.
    answered: bool
    # Its records in presentation form, as dnspython's to_text renders them.
    records: tuple[str, ...]
    # The owner name after CNAMEs, absolute, in presentation form ("mail.good.test.").
    canonical_name: str
    # How long the answer may be kept: the smallest TTL on the chain, and for a negative answer
    # the SOA's TTL and MINIMUM (RFC 2308 §5).
    ttl: int


def _escapes(*, specials: bytes, plain: range) -> dict[int, str]:
    # A str.translate table over latin-1 text (one code point per byte).
    table: dict[int, str] = {}
    for byte in range(256):
        if byte in specials:
            table[byte] = "\\" + chr(byte)
        elif byte not in plain:
            table[byte] = f"\\{byte:03d}"
    return table


# Presentation escapes, as dnspython writes them: in a label the zone-file specials, space and
# every byte outside printable ASCII; in a character string only '"' and '\', and bytes outside
# printable ASCII (a space stays as it is).
_LABEL_ESCAPES = _escapes(specials=b'"().;\\@$', plain=range(0x21, 0x7F))
_STRING_ESCAPES = _escapes(specials=b'"\\', plain=range(0x20, 0x7F))

_PLAIN_NAME = re.compile(r"(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?")


def name_wire(text: str) -> bytes | None:
    """The uncompressed wire form of a plain host name (letters, digits, '-', '_'), as
    dnspython's `from_text(text).to_wire()` writes it; None for anything else (escapes,
    non-ASCII, the root, a name too long), which dnspython should read."""
    if _PLAIN_NAME.fullmatch(text) is None:
        return None
    labels = text.rstrip(".").split(".")
    wire = b"".join(len(label).to_bytes(1, "big") + label.encode("ascii") for label in labels)
    return wire + b"\x00" if len(wire) < 255 else None


@lru_cache(maxsize=4096)
def name_text(wire: bytes) -> str:
    """A name's presentation form from its uncompressed wire form (dnspython's Name.to_text).
    Cached: a fleet's answers name the same few hosts again and again."""
    if wire == b"\x00":
        return "."
    labels = []
    at = 0
    length = wire[0]
    while length:
        labels.append(wire[at + 1 : at + 1 + length].decode("latin-1").translate(_LABEL_ESCAPES))
        at += 1 + length
        length = wire[at]
    return ".".join(labels) + "."


class _Malformed(Exception):
    """Anything the fast path does not take: the caller asks dnspython."""


def _name(data: bytes, at: int, end: int) -> tuple[bytes, int]:
    """The name at `at` (reading no further than `end`), uncompressed, and where it ends.

    Compression as dnspython allows it: a pointer goes strictly backwards (before the last
    place it jumped to, or before the name's start), the target's labels end before the
    segment that pointed there, at most 16 hops, at most 255 bytes in all."""
    segments: list[bytes] = []
    start = at  # where the current segment starts
    lowest = at  # a pointer must go below this
    hops = 0
    resume = -1  # where the reader goes on after the name, once it has jumped
    while True:
        if at >= end:
            raise _Malformed
        length = data[at]
        if length == 0:
            segments.append(data[start : at + 1])
            if resume < 0:
                resume = at + 1
            break
        if length < 64:
            at += 1 + length
            if at > end:
                raise _Malformed
        elif length >= 192:
            if at + 1 >= end:
                raise _Malformed
            target = (length & 0x3F) << 8 | data[at + 1]
            if target >= lowest:
                raise _Malformed
            hops += 1
            if hops > _MAX_HOPS:
                raise _Malformed
            segments.append(data[start:at])
            if resume < 0:
                resume = at + 2
            # The target and its labels must lie before the segment that pointed there.
            end = start
            lowest = start = at = target
        else:
            raise _Malformed  # label types 01 and 10 (RFC 6891 §5)
    wire = segments[0] if len(segments) == 1 else b"".join(segments)
    if len(wire) > 255:
        raise _Malformed
    return wire, resume


class _RRset:
    __slots__ = ("keys", "rdatas", "ttl")

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        # Records de-duplicated as dnspython's rdataset does: by their canonical form (names in
        # lower case), the first one kept, in order.
        self.keys: dict[bytes, object] = {}
        self.rdatas: list[object] = []


def _ip6(address: bytes) -> str:
    # dnspython's dns.ipv6.inet_ntoa: hex groups without leading zeros, the longest run of two
    # or more zero groups (the first of equals) as '::', and ::a.b.c.d / ::ffff:a.b.c.d for
    # the IPv4-compatible and IPv4-mapped prefixes.
    groups = [f"{address[i] << 8 | address[i + 1]:x}" for i in range(0, 16, 2)]
    best_start = best_len = 0
    run_start = -1
    for i in range(9):
        if i < 8 and groups[i] == "0":
            if run_start < 0:
                run_start = i
        elif run_start >= 0:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = -1
    if best_len <= 1:
        return ":".join(groups)
    if best_start == 0 and (best_len == 6 or (best_len == 5 and groups[5] == "ffff")):
        prefix = "::" if best_len == 6 else "::ffff:"
        return prefix + ".".join(str(b) for b in address[12:])
    return ":".join(groups[:best_start]) + "::" + ":".join(groups[best_start + best_len :])


def _rdata(data: bytes, rdtype: int, at: int, end: int) -> tuple[bytes, object]:
    """One record's data: its canonical form (to de-duplicate) and what the reply needs of it
    (presentation text, a CNAME's target wire, an SOA's MINIMUM)."""
    size = end - at
    if rdtype == 1:  # A
        if size != 4:
            raise _Malformed
        raw = data[at:end]
        return raw, f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"
    if rdtype == 28:  # AAAA
        if size != 16:
            raise _Malformed
        raw = data[at:end]
        return raw, _ip6(raw)
    if rdtype in (_CNAME, 2, 12):  # CNAME, NS, PTR
        target, after = _name(data, at, end)
        if after != end:
            raise _Malformed
        return target.lower(), target
    if rdtype == 15:  # MX
        if size < 3:
            raise _Malformed
        exchange, after = _name(data, at + 2, end)
        if after != end:
            raise _Malformed
        preference = data[at] << 8 | data[at + 1]
        return data[at : at + 2] + exchange.lower(), f"{preference} {name_text(exchange)}"
    if rdtype == 16:  # TXT: one or more character strings
        if size == 0:
            raise _Malformed
        strings = []
        pos = at
        while pos < end:
            stop = pos + 1 + data[pos]
            if stop > end:
                raise _Malformed
            text = data[pos + 1 : stop].decode("latin-1").translate(_STRING_ESCAPES)
            strings.append(f'"{text}"')
            pos = stop
        return data[at:end], " ".join(strings)
    if rdtype == 33:  # SRV
        if size < 7:
            raise _Malformed
        target, after = _name(data, at + 6, end)
        if after != end:
            raise _Malformed
        priority = data[at] << 8 | data[at + 1]
        weight = data[at + 2] << 8 | data[at + 3]
        port = data[at + 4] << 8 | data[at + 5]
        text = f"{priority} {weight} {port} {name_text(target)}"
        return data[at : at + 6] + target.lower(), text
    if rdtype == _SOA:
        mname, pos = _name(data, at, end)
        rname, pos = _name(data, pos, end)
        if end - pos != 20:
            raise _Malformed
        minimum = int.from_bytes(data[pos + 16 : end], "big")
        return mname.lower() + rname.lower() + data[pos:end], minimum
    raise _Malformed  # a type this reader does not parse


def read_reply(data: bytes) -> WireReply | None:
    """A NOERROR or NXDOMAIN reply to a standard query, read as dnspython reads it; None for
    anything else, or anything this reader does not cover (then ask dnspython)."""
    try:
        return _read(data)
    except (_Malformed, IndexError):
        return None


def _read(data: bytes) -> WireReply | None:
    size = len(data)
    if size < 12:
        return None
    flags = data[2] << 8 | data[3]
    if not flags & _QR or flags & (_OPCODE | _TC):
        return None
    if data[4:6] != b"\x00\x01":
        return None
    counts = (data[6] << 8 | data[7], data[8] << 8 | data[9], data[10] << 8 | data[11])
    qname, at = _name(data, 12, size)
    if at + 4 > size:
        return None
    qtype = data[at] << 8 | data[at + 1]
    if data[at + 2 : at + 4] != b"\x00\x01" or qtype == _OPT or qtype >= 128:
        return None  # another class, or a meta type (OPT, TSIG, ANY...)
    at += 4
    answer: dict[tuple[bytes, int], _RRset] = {}
    authority_soa: dict[bytes, _RRset] = {}
    opt_ttl = -1
    for section, count in enumerate(counts):
        for _ in range(count):
            owner, at = _name(data, at, size)
            if at + 10 > size:
                return None
            rdtype = data[at] << 8 | data[at + 1]
            rdclass = data[at + 2] << 8 | data[at + 3]
            ttl = int.from_bytes(data[at + 4 : at + 8], "big")
            rdlen = data[at + 8] << 8 | data[at + 9]
            at += 10
            end = at + rdlen
            if end > size:
                return None
            if rdtype == _OPT:
                # One OPT, at the root, in the additional section; options we leave to dnspython.
                if section != 2 or opt_ttl >= 0 or owner != b"\x00" or rdlen:
                    return None
                opt_ttl = ttl
                continue
            if rdclass != _IN:
                return None
            key, value = _rdata(data, rdtype, at, end)
            at = end
            if ttl > 0x7FFFFFFF:
                ttl = 0  # RFC 2181 §8, as dnspython reads it
            if section == 0:
                rrset = answer.get((owner.lower(), rdtype))
                if rrset is None:
                    rrset = answer[(owner.lower(), rdtype)] = _RRset(ttl)
            elif section == 1 and rdtype == _SOA:
                rrset = authority_soa.get(owner.lower())
                if rrset is None:
                    rrset = authority_soa[owner.lower()] = _RRset(ttl)
            else:
                continue  # parsed (so known to be well formed), but nothing we keep
            _add(rrset, rdtype, key, value, ttl)
    if at != size:
        return None  # trailing bytes: dnspython refuses the message
    rcode = (flags & 0xF) | ((opt_ttl >> 20) & 0xFF0 if opt_ttl >= 0 else 0)
    if rcode not in (0, _NXDOMAIN):
        return None
    return _chain(qname, qtype, answer, authority_soa, nxdomain=rcode == _NXDOMAIN, flags=flags)


def _add(rrset: _RRset, rdtype: int, key: bytes, value: object, ttl: int) -> None:
    if rrset.rdatas and ttl < rrset.ttl:
        rrset.ttl = ttl
    if rdtype in (_CNAME, _SOA):
        # Singleton types: a later record replaces the one before (dnspython's rdataset).
        rrset.keys = {key: None}
        rrset.rdatas = [value]
    elif key not in rrset.keys:
        rrset.keys[key] = None
        rrset.rdatas.append(value)


def _chain(
    qname: bytes,
    qtype: int,
    answer: dict[tuple[bytes, int], _RRset],
    authority_soa: dict[bytes, _RRset],
    *,
    nxdomain: bool,
    flags: int,
) -> WireReply | None:
    # dnspython's QueryMessage.resolve_chaining, on our own sets.
    min_ttl = _MAX_TTL
    found: _RRset | None = None
    links = 0
    name = qname
    while links < _MAX_CHAIN:
        key = name.lower()
        found = answer.get((key, qtype))
        if found is not None:
            min_ttl = min(min_ttl, found.ttl)
            break
        cname = answer.get((key, _CNAME)) if qtype != _CNAME else None
        if cname is None:
            break
        min_ttl = min(min_ttl, cname.ttl)
        target = cname.rdatas[0]
        assert isinstance(target, bytes)
        name = target
        links += 1
    if links >= _MAX_CHAIN or (nxdomain and found is not None):
        return None  # dnspython: ChainTooLong, AnswerForNXDOMAIN
    if found is not None and qtype == _SOA:
        return None  # an SOA answer is not rendered here
    if found is None:
        # The SOA at the name or the nearest ancestor bounds a negative answer (RFC 2308).
        owner = name.lower()
        while True:
            soa = authority_soa.get(owner)
            if soa is not None:
                minimum = soa.rdatas[0]
                assert isinstance(minimum, int)
                min_ttl = min(min_ttl, soa.ttl, minimum)
                break
            if owner == b"\x00":
                min_ttl = min(min_ttl, _NEGATIVE_TTL_WITHOUT_SOA)
                break
            owner = owner[1 + owner[0] :]
        records: tuple[str, ...] = ()
    elif qtype in (_CNAME, 2, 12):
        records = tuple(name_text(r) for r in found.rdatas if isinstance(r, bytes))
    else:
        records = tuple(r for r in found.rdatas if isinstance(r, str))
    return WireReply(
        nxdomain=nxdomain,
        authenticated=bool(flags & _AD),
        answered=found is not None,
        records=records,
        canonical_name=name_text(name),
        ttl=min_ttl,
    )
