"""gather_policy against an in-memory zone: the SPF walk (lookup and void counts, loops, bounds),
DMARC fallback and report authorisation, MX facts, reverse DNS, DANE wiring, and failures as
data. The resolver seam is the real `Resolver` with `query` answered from a dict; nothing leaves
the process (names under .test that are not in the zone are NXDOMAIN, so HTTP fetches fail at
DNS)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.context import Context
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    FetchStatus,
    Finding,
    LookupStatus,
    PolicyObservation,
)
from mailaudit.net.errors import DnsError, TlsError
from mailaudit.net.resolver import AnswerStatus, DnsAnswer, Resolver
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.serial import from_data, to_data
from mailaudit.settings import Settings

Zone = dict[tuple[str, str], tuple[str, ...]]


class ZoneResolver(Resolver):
    def __init__(
        self,
        zone: Zone,
        *,
        failing: frozenset[str] = frozenset(),
        secure: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(nameservers=("127.0.0.1",))
        self.zone = {(n.lower(), t): v for (n, t), v in zone.items()}
        self.names = {n for n, _ in self.zone}
        self.failing = failing
        self.secure = secure
        self.questions: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = name.lower().rstrip(".")
        self.questions.append((key, rdtype))
        if key in self.failing or "*" in self.failing:
            raise DnsError(f"{rdtype} {name}: timeout", reason="timeout")
        ad = key in self.secure
        if (key, "CNAME") in self.zone and rdtype != "CNAME":
            target = self.zone[(key, "CNAME")][0].rstrip(".")
            answer = await self.query(target, rdtype)
            return dataclasses.replace(answer, name=name, canonical_name=target)
        if (key, rdtype) in self.zone:
            records = self.zone[(key, rdtype)]
            if rdtype == "TXT":
                records = tuple(f'"{r}"' for r in records)
            return DnsAnswer(name, rdtype, AnswerStatus.OK, records, ad)
        if key in self.names:
            return DnsAnswer(name, rdtype, AnswerStatus.NO_ANSWER, authenticated=ad)
        return DnsAnswer(name, rdtype, AnswerStatus.NXDOMAIN)


BASE: Zone = {
    ("good.test", "MX"): ("10 mail.good.test.",),
    ("good.test", "TXT"): ("v=spf1 mx -all",),
    ("mail.good.test", "A"): ("127.0.0.10",),
    ("mail.good.test", "TXT"): ("v=spf1 a -all",),
    ("_dmarc.good.test", "TXT"): ("v=DMARC1; p=reject; rua=mailto:dmarc@good.test",),
    ("10.0.0.127.in-addr.arpa", "PTR"): ("mail.good.test.",),
}


def ctx_for(zone: Zone, **kwargs: frozenset[str]) -> Context:
    ctx = Context.create(Settings(nameservers=("127.0.0.1",)))
    return ctx.with_resolver(ZoneResolver(zone, **kwargs))


async def test_simple_domain() -> None:
    obs = await gather_policy(ctx_for(BASE), "Good.Test.")
    assert obs.domain == "good.test"
    assert [h.host for h in obs.mx.hosts] == ["mail.good.test"]
    assert obs.mx.hosts[0].addresses == ("127.0.0.10",)
    assert obs.spf.lookup_terms == ("good.test: mx",)
    assert obs.spf.void_lookups == ()
    assert obs.helo_spf[0].records == ("v=spf1 a -all",)
    assert obs.dmarc.found_at == "good.test"
    assert obs.reverse_dns[0].confirmed_names == ("mail.good.test",)
    # No mta-sts.good.test: the fetch fails at DNS, as data.
    assert obs.mtasts.fetch is not None
    assert obs.mtasts.fetch.status is FetchStatus.FAILED


async def test_eleven_lookups_through_nested_includes() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 include:a.test include:b.test -all",)
    zone[("a.test", "TXT")] = ("v=spf1 a mx include:c.test ~all",)
    zone[("a.test", "A")] = ("192.0.2.1",)
    zone[("a.test", "MX")] = ("10 a.test.",)
    zone[("b.test", "TXT")] = ("v=spf1 exists:b.test include:d.test -all",)
    zone[("b.test", "A")] = ("192.0.2.2",)
    zone[("c.test", "TXT")] = ("v=spf1 ip4:192.0.2.0/24 a:a.test mx:a.test -all",)
    zone[("d.test", "TXT")] = ("v=spf1 a:b.test a:a.test ptr -all",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    # good: include a, include b | a.test: a, mx, include c | c.test: a, mx
    # | b.test: exists, include d | d.test: a, a, ptr
    assert obs.spf.lookup_count == 12
    assert obs.spf.void_lookup_count == 0
    assert obs.spf.problems == ()
    assert [n.domain for n in obs.spf.nodes] == [
        "good.test",
        "a.test",
        "c.test",
        "b.test",
        "d.test",
    ]
    findings, _ = judge_policy(obs)
    assert "spf.too-many-lookups" in {f.id for f in findings}


async def test_terms_after_all_are_not_counted() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 mx -all include:never.test",)
    ctx = ctx_for(zone)
    obs = await gather_policy(ctx, "good.test")
    assert obs.spf.lookup_terms == ("good.test: mx",)
    assert isinstance(ctx.resolver, ZoneResolver)
    assert ("never.test", "TXT") not in ctx.resolver.questions
    assert ("good.test", "MX") in ctx.resolver.questions


async def test_void_lookups_are_counted() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = (
        "v=spf1 a:gone1.test a:gone2.test mx:gone3.test include:nospf.test -all",
    )
    zone[("nospf.test", "A")] = ("192.0.2.9",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.spf.void_lookup_count == 4
    assert obs.spf.lookup_count == 4
    assert obs.spf.problems == ("good.test: include:nospf.test: nospf.test has no SPF record",)
    ids = {f.id for f in judge_policy(obs)[0]}
    assert {"spf.too-many-void-lookups", "spf.include-broken"} <= ids


async def test_include_loop_is_detected_and_bounded() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 include:a.test -all",)
    zone[("a.test", "TXT")] = ("v=spf1 include:b.test -all",)
    zone[("b.test", "TXT")] = ("v=spf1 include:good.test -all",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.spf.problems == (
        "b.test: include:good.test: loop (good.test -> a.test -> b.test -> good.test)",
    )
    assert obs.spf.lookup_count == 3


async def test_redirect_is_followed_only_without_all() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 redirect=_spf.good.test",)
    zone[("_spf.good.test", "TXT")] = ("v=spf1 +all",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert [(n.domain, n.via) for n in obs.spf.nodes] == [
        ("good.test", "top"),
        ("_spf.good.test", "redirect"),
    ]
    assert "spf.plus-all" in {f.id for f in judge_policy(obs)[0]}


async def test_macros_are_counted_not_resolved() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 exists:%{i}._spf.%{d} -all",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.spf.lookup_terms == ("good.test: exists:%{i}._spf.%{d}",)
    assert obs.spf.void_lookups == ()


async def test_deep_include_chain_is_bounded() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 include:l0.test -all",)
    for i in range(30):
        zone[(f"l{i}.test", "TXT")] = (f"v=spf1 include:l{i + 1}.test -all",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert any("nested deeper" in p for p in obs.spf.problems)
    assert obs.spf.lookup_count > 10


async def test_timeout_inside_the_walk_marks_it_incomplete() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 include:slow.test -all",)
    obs = await gather_policy(ctx_for(zone, failing=frozenset({"slow.test"})), "good.test")
    assert obs.spf.incomplete == "good.test: include:slow.test: timeout"
    runs = {r.check: r for r in judge_policy(obs)[1]}
    assert runs["spf.lookups"].status is CheckStatus.NOT_TESTED


async def test_everything_timing_out_is_data_and_nothing_passes() -> None:
    obs = await gather_policy(ctx_for(BASE, failing=frozenset({"*"})), "good.test")
    assert obs.mx.lookup.status is LookupStatus.FAILED
    assert obs.spf.lookup.error == "timeout"
    _, runs = judge_policy(obs)
    assert not [r.check for r in runs if r.status is CheckStatus.PASSED]
    # Everything hangs on lookups that failed: nothing may claim "not applicable" either.
    not_tested = {r.check for r in runs if r.status is CheckStatus.NOT_TESTED}
    assert not_tested == {r.check for r in runs}, [(r.check, r.status, r.reason) for r in runs]


async def test_dmarc_falls_back_to_the_organisational_domain() -> None:
    zone = dict(BASE)
    zone[("sub.good.test", "MX")] = ("10 mail.good.test.",)
    obs = await gather_policy(ctx_for(zone), "sub.good.test")
    assert obs.organisational_domain == "good.test"
    assert [lk.name for lk in obs.dmarc.lookups] == ["_dmarc.sub.good.test", "_dmarc.good.test"]
    assert obs.dmarc.found_at == "good.test"
    assert obs.dmarc.inherited


async def test_external_report_destinations_are_checked() -> None:
    zone = dict(BASE)
    zone[("_dmarc.good.test", "TXT")] = (
        "v=DMARC1; p=none; rua=mailto:a@collector.test,mailto:b@mail.good.test; ruf=mailto:c@other.test",
    )
    zone[("good.test._report._dmarc.collector.test", "TXT")] = ("v=DMARC1",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    verdicts = {(a.tag, a.destination_domain): a.authorised for a in obs.dmarc.external_reports}
    # b@mail.good.test is inside the organisational domain: no authorisation needed.
    assert verdicts == {("rua", "collector.test"): True, ("ruf", "other.test"): False}


async def test_null_mx_and_cname_mx() -> None:
    zone = dict(BASE)
    zone[("null.test", "MX")] = ("0 .",)
    zone[("alias.test", "MX")] = ("10 mx.alias.test.", "20 192.0.2.7.")
    zone[("mx.alias.test", "CNAME")] = ("real.alias.test.",)
    zone[("real.alias.test", "A")] = ("192.0.2.8",)
    obs = await gather_policy(ctx_for(zone), "null.test")
    assert obs.mx.is_null_mx
    assert obs.helo_spf == ()
    assert obs.dane == ()
    obs = await gather_policy(ctx_for(zone), "alias.test")
    first, second = obs.mx.hosts
    assert (first.host, first.canonical_name, first.addresses) == (
        "mx.alias.test",
        "real.alias.test",
        ("192.0.2.8",),
    )
    assert (second.host, second.is_ip_literal) == ("192.0.2.7", True)
    assert {"dns.mx-cname", "dns.mx-ip-literal"} <= {f.id for f in judge_policy(obs)[0]}


async def test_reverse_dns_not_confirmed() -> None:
    zone = dict(BASE)
    zone[("10.0.0.127.in-addr.arpa", "PTR")] = ("elsewhere.test.",)
    zone[("elsewhere.test", "A")] = ("192.0.2.50",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.reverse_dns[0].names == ("elsewhere.test",)
    assert obs.reverse_dns[0].confirmed_names == ()
    assert "ptr.not-forward-confirmed" in {f.id for f in judge_policy(obs)[0]}


def _self_signed(cn: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize("matches", [True, False])
async def test_dane_uses_the_injected_chain_fetcher(matches: bool) -> None:
    presented = _self_signed("mail.good.test")
    published = presented if matches else _self_signed("other")
    zone = dict(BASE)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 0 1 " + hashlib.sha256(published).hexdigest(),)
    asked: list[tuple[str, str]] = []

    async def fetch_chain(host: str, address: str) -> tuple[bytes, ...]:
        asked.append((host, address))
        return (presented,)

    secure = frozenset({"good.test", "mail.good.test", "_25._tcp.mail.good.test"})
    obs = await gather_policy(
        ctx_for(zone, secure=secure), "good.test", fetch_certificate_chain=fetch_chain
    )
    assert asked == [("mail.good.test", "127.0.0.10")]
    dane = obs.dane[0]
    assert dane.validated
    assert dane.chains[0].match is not None
    assert dane.chains[0].match.matched is matches
    ids = {f.id for f in judge_policy(obs)[0]}
    assert ("dane.tlsa-mismatch" in ids) is not matches


async def test_dane_chain_fetch_failure_is_data() -> None:
    zone = dict(BASE)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 1 1 " + "ab" * 32,)

    async def fetch_chain(host: str, address: str) -> tuple[bytes, ...]:
        raise TlsError("handshake failed", reason="handshake-failed")

    secure = frozenset({"good.test", "mail.good.test", "_25._tcp.mail.good.test"})
    obs = await gather_policy(
        ctx_for(zone, secure=secure), "good.test", fetch_certificate_chain=fetch_chain
    )
    assert obs.dane[0].chains[0].error == "handshake-failed"


async def test_unsigned_tlsa_is_not_validated() -> None:
    zone = dict(BASE)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 1 1 " + "ab" * 32,)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert not obs.dane[0].validated
    assert "dane.tlsa-unvalidated" in {f.id for f in judge_policy(obs)[0]}


async def test_dane_needs_validated_addresses_too() -> None:
    # RFC 7672 §2.2.2: an insecure A record of the MX host is enough to make DANE not apply.
    zone = dict(BASE)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 1 1 " + "ab" * 32,)
    secure = frozenset({"good.test", "_25._tcp.mail.good.test"})
    obs = await gather_policy(ctx_for(zone, secure=secure), "good.test")
    assert obs.dane[0].unvalidated_answers == ("A mail.good.test",)
    finding = next(f for f in judge_policy(obs)[0] if f.id == "dane.tlsa-unvalidated")
    assert "A mail.good.test" in finding.detail


async def test_helo_spf_only_for_mx_hosts_in_the_organisational_domain() -> None:
    zone = dict(BASE)
    zone[("good.test", "MX")] = ("10 mail.good.test.", "20 mx.provider.test.")
    zone[("mx.provider.test", "A")] = ("192.0.2.25",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert [f.domain for f in obs.helo_spf] == ["mail.good.test"]


async def test_observation_round_trips_through_the_serialiser() -> None:
    zone = dict(BASE)
    zone[("good.test", "TXT")] = ("v=spf1 include:a.test redirect=b.test",)
    zone[("a.test", "TXT")] = ("v=spf1 ip4:192.0.2.0/24 -all",)
    zone[("_dmarc.good.test", "TXT")] = (
        "v=DMARC1; p=none; rua=mailto:r@collector.test; np=reject",
    )
    zone[("_mta-sts.good.test", "TXT")] = ("v=STSv1; id=1; ext=yes",)
    zone[("_smtp._tls.good.test", "TXT")] = ("v=TLSRPTv1; rua=mailto:t@good.test",)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 1 1 " + "ab" * 32, "1 0 0 00")

    async def fetch_chain(host: str, address: str) -> tuple[bytes, ...]:
        return (_self_signed(host),)

    obs = await gather_policy(ctx_for(zone), "good.test", fetch_certificate_chain=fetch_chain)
    assert from_data(PolicyObservation, to_data(obs)) == obs
    findings, runs = judge_policy(obs)
    assert [from_data(Finding, to_data(f)) for f in findings] == findings
    assert [from_data(CheckRun, to_data(r)) for r in runs] == runs


async def test_a_failing_chain_fetcher_never_escapes_gather_policy() -> None:
    zone = dict(BASE)
    zone[("_25._tcp.mail.good.test", "TLSA")] = ("3 1 1 " + "ab" * 32,)

    async def broken(host: str, address: str) -> tuple[bytes, ...]:
        raise ValueError("bug in the fetcher")

    obs = await gather_policy(ctx_for(zone), "good.test", fetch_certificate_chain=broken)
    assert obs.dane[0].chains[0].error == "error"
    assert obs.dane[0].chains[0].message == "ValueError: bug in the fetcher"


async def test_reverse_dns_of_ipv6_addresses() -> None:
    zone = dict(BASE)
    zone[("mail.good.test", "AAAA")] = ("2001:db8::25",)
    ptr_name = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    zone[(ptr_name, "PTR")] = ("mail.good.test.",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.mx.hosts[0].addresses == ("127.0.0.10", "2001:db8::25")
    by_address = {r.address: r for r in obs.reverse_dns}
    assert by_address["2001:db8::25"].confirmed_names == ("mail.good.test",)
    assert by_address["127.0.0.10"].confirmed_names == ("mail.good.test",)


async def test_upper_case_dmarc_tag_names_are_a_record() -> None:
    # Issue 10: "V=DMARC1; P=reject" was discarded as "no DMARC record" (tag names are ABNF
    # literals, case-insensitive).
    zone = dict(BASE)
    zone[("_dmarc.good.test", "TXT")] = ("V=DMARC1; P=reject; RUA=mailto:dmarc@good.test",)
    obs = await gather_policy(ctx_for(zone), "good.test")
    assert obs.dmarc.record is not None
    findings, runs = judge_policy(obs)
    assert not {"dmarc.missing", "dmarc.syntax", "dmarc.policy-none"} & {f.id for f in findings}
    assert {r.check: r.status for r in runs}["dmarc.policy"] is CheckStatus.PASSED
