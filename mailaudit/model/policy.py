"""The facts `gather_policy` collects about one domain's DNS mail policy.

Pure data: the gatherer (`mailaudit.probes.dns_policy`) fills it, the checks
(`mailaudit.checks.dns_policy`) judge it. Every DNS question asked is kept as a `Lookup`, whose
`status` says whether it was answered, so a timeout is a fact ("not tested: timeout"), never a
missing record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailaudit.policy.dane import DaneMatch, TlsaRecord
from mailaudit.policy.dmarc import DmarcRecord
from mailaudit.policy.mtasts import MtaStsPolicy, MtaStsRecord
from mailaudit.policy.spf import SpfRecord
from mailaudit.policy.tlsrpt import TlsRptRecord

__all__ = [
    "ChainCheck",
    "DaneFacts",
    "DmarcFacts",
    "DnssecFacts",
    "FetchStatus",
    "Lookup",
    "LookupStatus",
    "MtaStsFacts",
    "MtaStsFetch",
    "MxFacts",
    "MxHost",
    "PolicyObservation",
    "ReportAuthorisation",
    "ReverseDns",
    "SpfFacts",
    "SpfNode",
    "TlsRptFacts",
]


class LookupStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no-answer"
    # No answer could be had: timeout, SERVFAIL, refused. `Lookup.error` says which.
    FAILED = "failed"


@dataclass(frozen=True)
class Lookup:
    name: str
    rdtype: str
    status: LookupStatus
    # Presentation form; TXT records as their joined strings (RFC 7208 §3.3).
    records: tuple[str, ...] = ()
    # The AD bit: a validating resolver vouched for the answer.
    authenticated: bool = False
    canonical_name: str | None = None
    error: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status is LookupStatus.FAILED

    @property
    def is_void(self) -> bool:
        """NXDOMAIN or an empty answer: a "void lookup" in RFC 7208 §4.6.4 terms."""
        return self.status in (LookupStatus.NXDOMAIN, LookupStatus.NO_ANSWER)

    @property
    def evidence(self) -> str:
        if self.failed:
            return f"{self.rdtype} {self.name}: {self.error}"
        if self.is_void:
            return f"{self.rdtype} {self.name}: {self.status.value}"
        return f"{self.rdtype} {self.name}: " + " | ".join(self.records)


@dataclass(frozen=True)
class MxHost:
    preference: int
    host: str
    # The MX target reads as an address ("192.0.2.1"), which RFC 5321 §5.1 does not allow.
    is_ip_literal: bool
    # A and AAAA of the host name (empty for an IP literal).
    address_lookups: tuple[Lookup, ...] = ()
    addresses: tuple[str, ...] = ()
    # Set when the MX target is an alias (CNAME), which RFC 2181 §10.3 forbids.
    canonical_name: str | None = None

    @property
    def resolution_failed(self) -> bool:
        """No address, and at least one of the lookups failed rather than answered."""
        return not self.addresses and any(lk.failed for lk in self.address_lookups)


@dataclass(frozen=True)
class MxFacts:
    lookup: Lookup
    hosts: tuple[MxHost, ...] = ()

    @property
    def null_mx_records(self) -> tuple[MxHost, ...]:
        return tuple(h for h in self.hosts if h.host == "")

    @property
    def is_null_mx(self) -> bool:
        """Exactly one MX, `0 .` (RFC 7505 §3): the domain accepts no mail."""
        return len(self.hosts) == 1 and self.hosts[0].host == "" and self.hosts[0].preference == 0

    @property
    def mail_hosts(self) -> tuple[MxHost, ...]:
        """Real MX targets (no null MX entries)."""
        return tuple(h for h in self.hosts if h.host != "")


@dataclass(frozen=True)
class SpfNode:
    """One SPF record reached during the walk."""

    domain: str
    # "top", "include" or "redirect".
    via: str
    depth: int
    record: SpfRecord


@dataclass(frozen=True)
class SpfFacts:
    domain: str
    lookup: Lookup
    # The `v=spf1` records at the domain (RFC 7208 §4.5 wants exactly one).
    records: tuple[str, ...] = ()
    record: SpfRecord | None = None
    # Every record walked through include:/redirect=, the top one first.
    nodes: tuple[SpfNode, ...] = ()
    walked: bool = False
    # The terms that count against the 10-lookup limit, "domain: term", in walk order.
    lookup_terms: tuple[str, ...] = ()
    # The terms whose lookup was void (NXDOMAIN or no records), "domain: term".
    void_lookups: tuple[str, ...] = ()
    # Faults found in the walk that make evaluation a permerror (include of a domain without an
    # SPF record, loops, syntax errors in an included record).
    problems: tuple[str, ...] = ()
    # Set when a DNS failure or a bound stopped the walk: the counts are then lower bounds.
    incomplete: str | None = None

    @property
    def lookup_count(self) -> int:
        return len(self.lookup_terms)

    @property
    def void_lookup_count(self) -> int:
        return len(self.void_lookups)


@dataclass(frozen=True)
class ReportAuthorisation:
    """RFC 7489 §7.1: a report destination outside the domain's organisational domain must
    publish `<domain>._report._dmarc.<destination>` with `v=DMARC1`."""

    tag: str  # rua or ruf
    uri: str
    destination_domain: str
    lookup: Lookup
    # None when the lookup failed.
    authorised: bool | None


@dataclass(frozen=True)
class DmarcFacts:
    domain: str
    organisational_domain: str
    # `_dmarc.<domain>`, then `_dmarc.<organisational domain>` when the first has no record.
    lookups: tuple[Lookup, ...]
    # Where the record in force was found; None when there is none.
    found_at: str | None = None
    records: tuple[str, ...] = ()
    record: DmarcRecord | None = None
    external_reports: tuple[ReportAuthorisation, ...] = ()

    @property
    def inherited(self) -> bool:
        return self.found_at is not None and self.found_at != self.domain

    @property
    def failed_lookup(self) -> Lookup | None:
        return next((lk for lk in self.lookups if lk.failed), None)


class FetchStatus(StrEnum):
    FETCHED = "fetched"  # HTTP 200; content type and body are judged by the checks
    REDIRECT = "redirect"  # a 3xx: RFC 8461 §3.3 forbids following it
    HTTP_ERROR = "http-error"  # any other status
    CERTIFICATE = "certificate"  # the HTTPS certificate did not validate
    TOO_LARGE = "too-large"
    FAILED = "failed"  # DNS, connection, TLS handshake, timeout


@dataclass(frozen=True)
class MtaStsFetch:
    url: str
    status: FetchStatus
    http_status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body_bytes: int | None = None
    error: str | None = None
    message: str | None = None

    @property
    def is_text_plain(self) -> bool:
        return (self.content_type or "").split(";")[0].strip().lower() == "text/plain"


@dataclass(frozen=True)
class MtaStsFacts:
    lookup: Lookup
    records: tuple[str, ...] = ()
    record: MtaStsRecord | None = None
    fetch: MtaStsFetch | None = None
    policy: MtaStsPolicy | None = None


@dataclass(frozen=True)
class TlsRptFacts:
    lookup: Lookup
    records: tuple[str, ...] = ()
    record: TlsRptRecord | None = None


@dataclass(frozen=True)
class DnssecFacts:
    # DNSKEY at the domain, then at its organisational domain when the domain has none.
    dnskey: tuple[Lookup, ...]

    @property
    def signed(self) -> bool | None:
        """DNSKEY published (None when the question could not be answered)."""
        if any(lk.status is LookupStatus.OK for lk in self.dnskey):
            return True
        if any(lk.failed for lk in self.dnskey):
            return None
        return False

    @property
    def validated(self) -> bool:
        return any(lk.status is LookupStatus.OK and lk.authenticated for lk in self.dnskey)


@dataclass(frozen=True)
class ChainCheck:
    """The certificate chain one MX address presented on port 25, matched against its TLSA."""

    address: str
    match: DaneMatch | None = None
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class DaneFacts:
    host: str
    lookup: Lookup  # TLSA _25._tcp.<host>
    records: tuple[TlsaRecord, ...] = ()
    # DNSSEC-validated: the MX, address and TLSA answers all carried the AD bit.
    validated: bool = False
    # Empty when no certificate-chain fetcher was supplied or there are no records.
    chains: tuple[ChainCheck, ...] = ()
    chains_gathered: bool = False
    # The answers ("MX good.test", "TLSA _25._tcp.mx.good.test") that lacked the AD bit.
    unvalidated_answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReverseDns:
    host: str
    address: str
    lookup: Lookup  # PTR
    names: tuple[str, ...] = ()
    # The PTR names whose A/AAAA include the address.
    confirmed_names: tuple[str, ...] = ()
    # Forward lookups that failed (the verdict is then open).
    forward_failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyObservation:
    domain: str
    organisational_domain: str
    mx: MxFacts
    spf: SpfFacts
    helo_spf: tuple[SpfFacts, ...]
    dmarc: DmarcFacts
    mtasts: MtaStsFacts
    tlsrpt: TlsRptFacts
    dnssec: DnssecFacts
    dane: tuple[DaneFacts, ...]
    reverse_dns: tuple[ReverseDns, ...]
