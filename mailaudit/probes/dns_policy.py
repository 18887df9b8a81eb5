"""The DNS mail policy probe: MX, SPF, DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE and reverse DNS of
one domain, gathered as facts (`PolicyObservation`).

Every question goes through the context's resolver and HTTP fetch. A timeout or SERVFAIL is
recorded on the `Lookup` it hit; `gather_policy` does not raise for network trouble. Judging is
`mailaudit.checks.dns_policy.judge_policy`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from publicsuffixlist import PublicSuffixList

from mailaudit.context import Context
from mailaudit.model import (
    ChainCheck,
    DaneFacts,
    DmarcFacts,
    DnssecFacts,
    FetchStatus,
    Lookup,
    LookupStatus,
    MtaStsFacts,
    MtaStsFetch,
    MxFacts,
    MxHost,
    PolicyObservation,
    ReportAuthorisation,
    ReverseDns,
    SpfFacts,
    SpfNode,
    TlsRptFacts,
)
from mailaudit.net.errors import DnsError, NetError
from mailaudit.net.http import fetch
from mailaudit.policy._names import looks_like_ip_literal, normalise
from mailaudit.policy.dane import TlsaRecord, parse_tlsa, tlsa_matches
from mailaudit.policy.dmarc import dmarc_records_among, is_dmarc_record, parse_dmarc
from mailaudit.policy.mtasts import (
    POLICY_MAX_BYTES,
    mtasts_records_among,
    parse_mtasts_policy,
    parse_mtasts_record,
)
from mailaudit.policy.spf import (
    Mechanism,
    SpfRecord,
    parse_spf,
    spf_records_among,
)
from mailaudit.policy.tlsrpt import parse_tlsrpt, tlsrpt_records_among

__all__ = [
    "CertificateChainFetcher",
    "gather_policy",
    "lookup",
]

# (MX host name, address) -> the DER certificate chain the server presents on port 25 after
# STARTTLS, leaf first; raises a NetError when it cannot get one. For example
# `functools.partial(mailaudit.probes.certificate_chain.fetch_mx_chain, ctx)`, or a lookup in the
# chains the TLS scan already holds (no second connection).
CertificateChainFetcher = Callable[[str, str], Awaitable[tuple[bytes, ...]]]

_T = TypeVar("_T")

# Bounds of the SPF walk: nested include/redirect levels, and DNS questions in all. Both are well
# above what a valid record needs (10 lookups), so counts past the limit are still reported.
_SPF_MAX_DEPTH = 10
_SPF_MAX_QUERIES = 50

# Per-MX-host work (addresses, HELO SPF, TLSA, reverse DNS) runs for this many hosts at once: a
# domain with 1,000 MX hosts must not fire 6,000 questions at the resolver in one burst (they
# time out, and it is rude).
_HOSTS_AT_ONCE = 50


async def gather_policy(
    ctx: Context,
    domain: str,
    *,
    fetch_certificate_chain: CertificateChainFetcher | None = None,
) -> PolicyObservation:
    """Gather the DNS mail policy facts of `domain`. Never raises for DNS or network failures:
    they are recorded in the observation."""
    domain = normalise(domain)
    psl = ctx.public_suffixes  # parsed once per process, never on the loop per domain
    org_domain = _organisational_domain(psl, domain)
    per_host = asyncio.Semaphore(_HOSTS_AT_ONCE)
    mx = await _gather_mx(ctx, domain, per_host)
    mail_hosts = mx.mail_hosts
    name_hosts = [h for h in mail_hosts if not h.is_ip_literal]
    async with asyncio.TaskGroup() as group:
        spf = group.create_task(_walk_spf(ctx, domain, walk=True))
        # HELO names of MX hosts run by someone else (a mail provider) are theirs to publish.
        helo_spf = [
            group.create_task(_bounded(per_host, partial(_walk_spf, ctx, h.host, walk=False)))
            for h in name_hosts
            if _organisational_domain(psl, h.host) == org_domain
        ]
        dmarc = group.create_task(_gather_dmarc(ctx, psl, domain, org_domain))
        mtasts = group.create_task(_gather_mtasts(ctx, domain))
        tlsrpt = group.create_task(_gather_tlsrpt(ctx, domain))
        dnssec = group.create_task(_gather_dnssec(ctx, domain, org_domain))
        dane = [
            group.create_task(
                _bounded(
                    per_host, partial(_gather_dane, ctx, h, mx.lookup, fetch_certificate_chain)
                )
            )
            for h in name_hosts
        ]
        # One reverse lookup per address, however many MX names share it.
        first_host = {a: h.host for h in reversed(mail_hosts) for a in h.addresses}
        reverse_by_address = {
            a: group.create_task(_bounded(per_host, partial(_reverse, ctx, host, a)))
            for a, host in first_host.items()
        }
    return PolicyObservation(
        domain=domain,
        organisational_domain=org_domain,
        mx=mx,
        spf=spf.result(),
        helo_spf=tuple(t.result() for t in helo_spf),
        dmarc=dmarc.result(),
        mtasts=mtasts.result(),
        tlsrpt=tlsrpt.result(),
        dnssec=dnssec.result(),
        dane=tuple(t.result() for t in dane),
        reverse_dns=tuple(
            dataclasses.replace(reverse_by_address[a].result(), host=h.host)
            for h in mail_hosts
            for a in h.addresses
        ),
    )


async def lookup(ctx: Context, name: str, rdtype: str) -> Lookup:
    """One DNS question as a fact: answered (ok / nxdomain / no-answer) or failed, with why."""
    try:
        if rdtype == "TXT":
            answer, records = await ctx.resolver.txt(name)
        else:
            answer = await ctx.resolver.query(name, rdtype)
            records = answer.records
    except DnsError as exc:
        return Lookup(name, rdtype, LookupStatus.FAILED, error=exc.reason, message=str(exc))
    return Lookup(
        name,
        rdtype,
        LookupStatus(answer.status.value),
        records,
        answer.authenticated,
        answer.canonical_name,
    )


def _organisational_domain(psl: PublicSuffixList, name: str) -> str:
    # RFC 7489 §3.2: the public suffix plus one label; a name that is itself a suffix stays as is.
    found = psl.privatesuffix(name)
    return str(found) if found else name


# --- MX ---------------------------------------------------------------------------------------


async def _bounded(slots: asyncio.Semaphore, work: Callable[[], Awaitable[_T]]) -> _T:
    # The coroutine is made only once a slot is free: a cancelled wait leaves none unawaited.
    async with slots:
        return await work()


async def _gather_mx(ctx: Context, domain: str, per_host: asyncio.Semaphore) -> MxFacts:
    mx_lookup = await lookup(ctx, domain, "MX")
    entries: list[tuple[int, str]] = []
    for text in mx_lookup.records:
        preference, _, host = text.partition(" ")
        entries.append((int(preference), normalise(host)))
    entries.sort()
    hosts = await asyncio.gather(
        *(_bounded(per_host, partial(_mx_host, ctx, p, h)) for p, h in entries)
    )
    return MxFacts(mx_lookup, tuple(hosts))


async def _mx_host(ctx: Context, preference: int, host: str) -> MxHost:
    if host == "":
        return MxHost(preference, host, is_ip_literal=False)
    if looks_like_ip_literal(host):
        # Such a name may still resolve (a zone can hold a label "192.0.2.1"), but MTAs differ
        # on whether they use it; we do not look it up and report it as it is.
        return MxHost(preference, host, is_ip_literal=True)
    a, aaaa = await asyncio.gather(lookup(ctx, host, "A"), lookup(ctx, host, "AAAA"))
    canonical = a.canonical_name or aaaa.canonical_name
    return MxHost(
        preference,
        host,
        is_ip_literal=False,
        address_lookups=(a, aaaa),
        addresses=a.records + aaaa.records,
        canonical_name=normalise(canonical) if canonical else None,
    )


# --- SPF --------------------------------------------------------------------------------------


@dataclass
class _SpfWalk:
    """Mutable state of one SPF walk; frozen into `SpfFacts` at the end."""

    nodes: list[SpfNode] = field(default_factory=list)
    lookup_terms: list[str] = field(default_factory=list)
    void_lookups: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    queries: int = 0
    incomplete: str | None = None

    def stop(self, reason: str) -> None:
        if self.incomplete is None:
            self.incomplete = reason

    def may_query(self) -> bool:
        if self.queries >= _SPF_MAX_QUERIES:
            self.stop(f"walk stopped after {_SPF_MAX_QUERIES} DNS questions")
            return False
        self.queries += 1
        return True


async def _walk_spf(ctx: Context, domain: str, *, walk: bool) -> SpfFacts:
    """The SPF record of `domain` and, with `walk`, every record reached through include: and
    redirect=, counting the DNS-querying terms and void lookups of RFC 7208 §4.6.4."""
    top = await lookup(ctx, domain, "TXT")
    records = spf_records_among(top.records)
    if len(records) != 1:
        return SpfFacts(domain, top, records)
    record = parse_spf(records[0])
    if not walk:
        return SpfFacts(domain, top, records, record)
    state = _SpfWalk()
    state.nodes.append(SpfNode(domain, "top", 0, record))
    await _visit(ctx, state, domain, record, (domain,))
    return SpfFacts(
        domain,
        top,
        records,
        record,
        nodes=tuple(state.nodes),
        walked=True,
        lookup_terms=tuple(state.lookup_terms),
        void_lookups=tuple(state.void_lookups),
        problems=tuple(state.problems),
        incomplete=state.incomplete,
    )


async def _visit(
    ctx: Context, state: _SpfWalk, domain: str, record: SpfRecord, path: tuple[str, ...]
) -> None:
    for mechanism in record.mechanisms:
        if mechanism.kind is Mechanism.ALL:
            break  # terms after "all" are never evaluated (RFC 7208 §5.1)
        if not mechanism.kind.queries_dns:
            continue
        label = f"{domain}: {mechanism.text}"
        state.lookup_terms.append(label)
        if mechanism.has_macro or mechanism.kind is Mechanism.PTR:
            continue  # depends on the sender being checked: counted, not resolved
        target = normalise(mechanism.domain or domain)
        if mechanism.kind is Mechanism.INCLUDE:
            await _follow(ctx, state, label, target, "include", path)
        elif mechanism.kind is Mechanism.A:
            if not state.may_query():
                return
            a, aaaa = await asyncio.gather(lookup(ctx, target, "A"), lookup(ctx, target, "AAAA"))
            if a.failed or aaaa.failed:
                state.stop(f"{label}: {(a if a.failed else aaaa).error}")
            elif a.is_void and aaaa.is_void:
                state.void_lookups.append(label)
        else:  # MX, EXISTS
            if not state.may_query():
                return
            answer = await lookup(ctx, target, "MX" if mechanism.kind is Mechanism.MX else "A")
            if answer.failed:
                state.stop(f"{label}: {answer.error}")
            elif answer.is_void:
                state.void_lookups.append(label)
            elif mechanism.kind is Mechanism.MX and len(answer.records) > 10:
                state.problems.append(
                    f"{label}: {len(answer.records)} MX names, more than the 10 allowed (RFC 7208 §4.6.4)"
                )
    redirect = record.effective_redirect
    if redirect is not None:
        label = f"{domain}: redirect={redirect}"
        state.lookup_terms.append(label)
        if "%" not in redirect:
            await _follow(ctx, state, label, normalise(redirect), "redirect", path)


async def _follow(
    ctx: Context, state: _SpfWalk, label: str, target: str, via: str, path: tuple[str, ...]
) -> None:
    if target in path:
        state.problems.append(f"{label}: loop ({' -> '.join((*path, target))})")
        return
    if len(path) > _SPF_MAX_DEPTH:
        state.problems.append(f"{label}: nested deeper than {_SPF_MAX_DEPTH} levels")
        return
    if not state.may_query():
        return
    answer = await lookup(ctx, target, "TXT")
    if answer.failed:
        state.stop(f"{label}: {answer.error}")
        return
    if answer.is_void:
        state.void_lookups.append(label)
    found = spf_records_among(answer.records)
    if len(found) != 1:
        what = "no SPF record" if not found else f"{len(found)} SPF records"
        # include: of such a domain is a permerror (RFC 7208 §5.2), so is redirect= (§6.1).
        state.problems.append(f"{label}: {target} has {what}")
        return
    record = parse_spf(found[0])
    state.nodes.append(SpfNode(target, via, len(path), record))
    if record.errors:
        state.problems.append(
            f"{label}: the record of {target} is invalid: {'; '.join(record.errors)}"
        )
        return
    await _visit(ctx, state, target, record, (*path, target))


# --- DMARC ------------------------------------------------------------------------------------


async def _gather_dmarc(
    ctx: Context, psl: PublicSuffixList, domain: str, org_domain: str
) -> DmarcFacts:
    first = await lookup(ctx, f"_dmarc.{domain}", "TXT")
    lookups = [first]
    found_at: str | None = None
    records = dmarc_records_among(first.records)
    if records:
        found_at = domain
    elif not first.failed and org_domain != domain:
        # RFC 7489 §6.6.3: no record at the domain, so the organisational domain's applies.
        second = await lookup(ctx, f"_dmarc.{org_domain}", "TXT")
        lookups.append(second)
        records = dmarc_records_among(second.records)
        if records:
            found_at = org_domain
    if len(records) != 1:
        return DmarcFacts(domain, org_domain, tuple(lookups), found_at, records)
    record = parse_dmarc(records[0])
    destinations = [("rua", u) for u in record.rua] + [("ruf", u) for u in record.ruf]
    external = [
        (tag, uri.uri, uri.domain)
        for tag, uri in destinations
        if uri.domain is not None
        and uri.error is None
        and _organisational_domain(psl, uri.domain) != org_domain
    ]
    # The record in force may be the organisational domain's: its reports are authorised for
    # that name (RFC 7489 §7.1 uses the domain that published the record).
    publisher = found_at or domain
    checks = await asyncio.gather(
        *(_report_authorisation(ctx, publisher, tag, uri, dest) for tag, uri, dest in external)
    )
    return DmarcFacts(domain, org_domain, tuple(lookups), found_at, records, record, tuple(checks))


async def _report_authorisation(
    ctx: Context, publisher: str, tag: str, uri: str, destination: str
) -> ReportAuthorisation:
    answer = await lookup(ctx, f"{publisher}._report._dmarc.{destination}", "TXT")
    authorised = None if answer.failed else any(is_dmarc_record(t) for t in answer.records)
    return ReportAuthorisation(tag, uri, destination, answer, authorised)


# --- MTA-STS and TLS-RPT ----------------------------------------------------------------------


async def _gather_mtasts(ctx: Context, domain: str) -> MtaStsFacts:
    txt, policy_fetch = await asyncio.gather(
        lookup(ctx, f"_mta-sts.{domain}", "TXT"), _fetch_mtasts_policy(ctx, domain)
    )
    records = mtasts_records_among(txt.records)
    record = parse_mtasts_record(records[0]) if len(records) == 1 else None
    fetched, body = policy_fetch
    policy = parse_mtasts_policy(body) if body is not None else None
    return MtaStsFacts(txt, records, record, fetched, policy)


async def _fetch_mtasts_policy(ctx: Context, domain: str) -> tuple[MtaStsFetch, str | None]:
    """GET https://mta-sts.<domain>/.well-known/mta-sts.txt, redirects not followed (RFC 8461
    §3.3). Fetched even without the TXT record, so that a policy nobody can find is reported."""
    url = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    try:
        response = await fetch(ctx, url, max_bytes=POLICY_MAX_BYTES)
    except NetError as exc:
        reason = exc.reason
        if reason == "certificate":
            status = FetchStatus.CERTIFICATE
        elif reason == "too-large":
            status = FetchStatus.TOO_LARGE
        else:
            status = FetchStatus.FAILED
        return MtaStsFetch(url, status, error=reason, message=str(exc)), None
    if response.is_redirect:
        status = FetchStatus.REDIRECT
    elif response.status != 200:
        status = FetchStatus.HTTP_ERROR
    else:
        status = FetchStatus.FETCHED
    facts = MtaStsFetch(
        url,
        status,
        http_status=response.status,
        content_type=response.content_type,
        location=response.redirect_target(),
        body_bytes=len(response.body),
    )
    if status is not FetchStatus.FETCHED:
        return facts, None
    return facts, response.body.decode("utf-8", errors="replace")


async def _gather_tlsrpt(ctx: Context, domain: str) -> TlsRptFacts:
    txt = await lookup(ctx, f"_smtp._tls.{domain}", "TXT")
    records = tlsrpt_records_among(txt.records)
    record = parse_tlsrpt(records[0]) if len(records) == 1 else None
    return TlsRptFacts(txt, records, record)


# --- DNSSEC, DANE, reverse DNS ----------------------------------------------------------------


async def _gather_dnssec(ctx: Context, domain: str, org_domain: str) -> DnssecFacts:
    first = await lookup(ctx, domain, "DNSKEY")
    if first.status is LookupStatus.OK or org_domain == domain:
        return DnssecFacts((first,))
    return DnssecFacts((first, await lookup(ctx, org_domain, "DNSKEY")))


async def _gather_dane(
    ctx: Context, host: MxHost, mx_lookup: Lookup, fetcher: CertificateChainFetcher | None
) -> DaneFacts:
    tlsa = await lookup(ctx, f"_25._tcp.{host.host}", "TLSA")
    records = tuple(parse_tlsa(r) for r in tlsa.records)
    # RFC 7672 §2.2: DANE applies only when the MX answer, the MX host's address answers and the
    # TLSA answer are all DNSSEC-validated. We do not validate signatures ourselves: we trust the
    # AD bit of the configured resolver, which is only as good as the path to it (RFC 6840 §5.7:
    # a local or otherwise trusted validating resolver).
    answers = [
        mx_lookup,
        *(lk for lk in host.address_lookups if lk.status is LookupStatus.OK),
        tlsa,
    ]
    unvalidated = tuple(f"{lk.rdtype} {lk.name}" for lk in answers if not lk.authenticated)
    validated = tlsa.status is LookupStatus.OK and not unvalidated
    if not records or fetcher is None:
        return DaneFacts(host.host, tlsa, records, validated, unvalidated_answers=unvalidated)
    chains = await asyncio.gather(
        *(_chain_check(fetcher, host.host, a, records) for a in host.addresses)
    )
    return DaneFacts(
        host.host,
        tlsa,
        records,
        validated,
        tuple(chains),
        chains_gathered=True,
        unvalidated_answers=unvalidated,
    )


async def _chain_check(
    fetcher: CertificateChainFetcher, host: str, address: str, records: tuple[TlsaRecord, ...]
) -> ChainCheck:
    try:
        chain = await fetcher(host, address)
    except NetError as exc:
        return ChainCheck(address, error=exc.reason, message=str(exc))
    except Exception as exc:
        # The fetcher is supplied from outside (the TLS half); whatever it raises is recorded
        # as "not tested" for this address rather than losing the whole observation.
        return ChainCheck(address, error="error", message=f"{type(exc).__name__}: {exc}")
    return ChainCheck(address, tlsa_matches(records, chain))


async def _reverse(ctx: Context, host: str, address: str) -> ReverseDns:
    try:
        answer, names = await ctx.resolver.ptr(address)
    except DnsError as exc:
        failed = Lookup(address, "PTR", LookupStatus.FAILED, error=exc.reason, message=str(exc))
        return ReverseDns(host, address, failed)
    except ValueError as exc:  # not an address
        failed = Lookup(address, "PTR", LookupStatus.FAILED, error="bad-address", message=str(exc))
        return ReverseDns(host, address, failed)
    ptr = Lookup(
        answer.name, "PTR", LookupStatus(answer.status.value), tuple(names), answer.authenticated
    )
    confirmed: list[str] = []
    failures: list[str] = []
    rdtype = "AAAA" if ":" in address else "A"
    forwards = await asyncio.gather(*(lookup(ctx, n, rdtype) for n in names))
    for name, forward in zip(names, forwards, strict=True):
        if forward.failed:
            failures.append(forward.evidence)
        elif _same_address(address, forward.records):
            confirmed.append(name)
    return ReverseDns(host, address, ptr, tuple(names), tuple(confirmed), tuple(failures))


def _same_address(address: str, records: tuple[str, ...]) -> bool:
    wanted = ipaddress.ip_address(address)
    for record in records:
        try:
            if ipaddress.ip_address(record) == wanted:
                return True
        except ValueError:
            continue
    return False
