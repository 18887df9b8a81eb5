"""The join and reduce step: pure, no I/O. Endpoint facts and domain facts in, judged
`EndpointReport`s and `DomainReport`s out.

Cost is linear: each endpoint is judged once (`Judged` keeps its verdict), the cross-endpoint
checks once per address and per host name, and each domain looks only at the endpoints its own
targets lead to (issue 11 found the old joins rescanning every endpoint for every domain).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mailaudit.audit.plan import uses_of
from mailaudit.audit.scope import out_of_scope_findings
from mailaudit.audit.units import DomainFacts, EndpointFacts, OutOfScope, Role
from mailaudit.audit.verdicts import Judgement, Kind, Verdict, judge
from mailaudit.model import (
    SCHEMA_VERSION,
    CheckRun,
    DomainReport,
    EndpointReport,
    Finding,
    ProbeStatus,
    Report,
    RunInfo,
    Scheme,
)
from mailaudit.report.aggregate import condense_domain, condense_endpoint
from mailaudit.report.outcome import DomainOutcome, domain_outcome
from mailaudit.report.streamed import ReportSpool, StreamedDomains

__all__ = [
    "DomainView",
    "EndpointUses",
    "Judged",
    "assemble_report",
    "assemble_streamed",
    "domain_view",
    "endpoint_report",
    "outcome_of",
    "with_final_host_findings",
]


def _absent(facts: EndpointFacts) -> bool:
    """A port that refuses connections is simply not offered (when only guessed)."""
    obs = facts.observation
    return (
        obs.status is ProbeStatus.FAILED
        and obs.failure is not None
        and obs.failure.reason in ("refused", "unreachable")
    )


class Judged:
    """Verdicts over a growing set of endpoint facts; each judged once, the per-address and
    per-host-name checks again only when that address or host gains an endpoint."""

    def __init__(self, *, now: datetime) -> None:
        self._now = now
        self.facts: dict[tuple[str, int], EndpointFacts] = {}
        self._own: dict[tuple[str, int], Verdict] = {}
        self._by_address: dict[str, list[tuple[str, int]]] = {}
        self._address_verdicts: dict[str, Verdict] = {}
        self._by_host: dict[str, list[tuple[str, int]]] = {}
        self._host_findings: dict[str, tuple[Finding, ...]] = {}
        # TLS scans added so far, and for each host name the count at its latest scan: a domain
        # joined when the count was n carries host findings that are final unless one of its
        # hosts was scanned after n (`scanned_since`).
        self.scans = 0
        self._host_scanned_at: dict[str, int] = {}

    def add(self, facts: EndpointFacts) -> None:
        key = facts.key
        self.facts[key] = facts
        own = judge(
            Judgement(Kind.ENDPOINT, facts.observation, protocol_audit=facts.protocol_audit)
        )
        if facts.tls_scan is not None:
            tls = judge(Judgement(Kind.TLS, scan=facts.tls_scan, now=self._now))
            own = Verdict(own.findings + tls.findings, own.checks + tls.checks)
        self._own[key] = own
        self._by_address.setdefault(facts.address, []).append(key)
        self._address_verdicts.pop(facts.address, None)
        if facts.tls_scan is not None:
            host = facts.tls_scan.target.host
            self._by_host.setdefault(host, []).append(key)
            self._host_findings.pop(host, None)
            self.scans += 1
            self._host_scanned_at[host] = self.scans

    def endpoint(self, key: tuple[str, int]) -> Verdict:
        """The endpoint's own verdict, then what its address says about it."""
        facts = self.facts[key]
        address = self._address(facts.address)
        url = facts.observation.url
        return Verdict(
            self._own[key].findings + tuple(f for f in address.findings if f.subject == url),
            self._own[key].checks + tuple(c for c in address.checks if c.subject == url),
        )

    def host_findings(self, host: str) -> tuple[Finding, ...]:
        """Findings about a host name (TLS consistency across its ports and addresses)."""
        if host not in self._by_host:
            return ()
        if host not in self._host_findings:
            scans = [s for k in self._by_host[host] if (s := self.facts[k].tls_scan) is not None]
            self._host_findings[host] = judge(Judgement(Kind.HOSTS, scans=scans)).findings
        return self._host_findings[host]

    def scanned_since(self, hosts: Iterable[str], scans: int) -> bool:
        """Has any of `hosts` gained a TLS scan since the count was `scans`?"""
        return any(self._host_scanned_at.get(h, 0) > scans for h in hosts)

    def _address(self, address: str) -> Verdict:
        if address not in self._address_verdicts:
            observations = [self.facts[k].observation for k in self._by_address[address]]
            self._address_verdicts[address] = judge(
                Judgement(Kind.ADDRESS, observations=observations)
            )
        return self._address_verdicts[address]


@dataclass(frozen=True)
class DomainView:
    """One domain joined with its endpoints: the DomainReport and how it uses each endpoint."""

    report: DomainReport
    # (endpoint key, name, role) for every endpoint the domain uses.
    uses: tuple[tuple[tuple[str, int], str, Role], ...] = field(default=())
    # The host names it uses them under, and where their findings (TLS consistency, which
    # change as a host gains scanned endpoints) sit in report.findings: start, end.
    hosts: tuple[str, ...] = ()
    host_span: tuple[int, int] = (0, 0)
    # An endpoint its targets lead to had no result (its unit failed, or a resumed domain's
    # endpoint the earlier run did not finish): joined later, it may use more endpoints.
    incomplete: bool = False


def domain_view(facts: DomainFacts, judged: Judged) -> DomainView:
    """Join one domain's facts with the endpoint verdicts. Every endpoint its targets lead to
    must be in `judged` (a missing one is reported as not audited)."""
    errors = list(facts.errors)
    not_offered: set[str] = set()
    for target in facts.targets:
        if not facts.addresses_of(target.endpoint.host):
            if target.role is Role.GUESS:
                not_offered.add(target.endpoint.url)
            elif target.endpoint.host in facts.refused_hosts:
                errors.append(
                    f"{target.endpoint.url}: not contacted: only non-global addresses "
                    "(see scope.private-address-refused)"
                )
            else:
                errors.append(f"{target.endpoint.url}: name does not resolve")
    used: dict[tuple[str, int], list[tuple[str, Role]]] = {}
    absent: set[tuple[str, int]] = set()
    incomplete = False
    for key, target in uses_of(facts):
        ef = judged.facts.get(key)
        if ef is None:
            errors.append(f"{target.endpoint.url} at {key[0]}: not audited (no result)")
            incomplete = True
            continue
        if target.role is Role.GUESS and _absent(ef):
            absent.add(key)
            not_offered.add(target.endpoint.url)
            continue
        used.setdefault(key, []).append((target.endpoint.host, target.role))
    # Named by one target and only guessed by another: it is the domain's endpoint.
    absent -= used.keys()
    findings: list[Finding] = []
    checks: list[CheckRun] = []
    if facts.policy is not None:
        policy = judge(Judgement(Kind.POLICY, policy=facts.policy))
        findings += policy.findings
        checks += policy.checks
    hosts = tuple(sorted({name for uses in used.values() for name, _ in uses}))
    start = len(findings)
    findings += _host_findings(judged, hosts)
    host_span = (start, len(findings))
    observations = [judged.facts[k].observation for k in used]
    if facts.policy is not None:
        mx = judge(Judgement(Kind.MTASTS_MX, policy=facts.policy, observations=observations))
        findings += mx.findings
        checks += mx.checks
    if facts.discovery is not None:
        clients = any(o.scheme is not Scheme.SMTP and o.completed for o in observations)
        found = judge(
            Judgement(
                Kind.DISCOVERY,
                discovery_findings=facts.discovery.findings,
                client_endpoints_found=clients,
                observations=observations,
                domain=facts.domain,
            )
        )
        findings += found.findings
        checks += found.checks
    findings += facts.scope_findings
    report = DomainReport(
        domain=facts.domain,
        endpoint_ids=tuple(sorted(f"{a}:{p}" for a, p in used)),
        not_offered=tuple(sorted(not_offered)),
        findings=tuple(findings),
        checks=tuple(checks),
        errors=tuple(errors),
        discovery=facts.discovery,
        policy=facts.policy,
    )
    uses = tuple((key, name, role) for key, names in used.items() for name, role in names)
    return DomainView(report, uses, hosts, host_span, incomplete)


def _host_findings(judged: Judged, hosts: Iterable[str]) -> list[Finding]:
    """The findings about `hosts`, each (id, subject) once."""
    found: list[Finding] = []
    seen_ids: set[tuple[str, str]] = set()
    for host in hosts:
        for f in judged.host_findings(host):
            if (f.id, f.subject) not in seen_ids:
                seen_ids.add((f.id, f.subject))
                found.append(f)
    return found


def with_final_host_findings(
    report: DomainReport,
    judged: Judged,
    *,
    hosts: Iterable[str],
    span: tuple[int, int],
) -> DomainReport:
    """`report` with the findings about its hosts as `judged` has them now, condensed: what a
    join now gives a domain joined before its hosts' last TLS scan was in. `report` is its
    view's (`hosts`, `span` from the view too), or that report condensed when condensing left
    its findings as they were. Host findings change nothing else in a DomainReport (they add
    no check run, and condensing twice is condensing once)."""
    start, end = span
    findings = (*report.findings[:start], *_host_findings(judged, hosts), *report.findings[end:])
    return condense_domain(dataclasses.replace(report, findings=findings))


def outcome_of(facts: DomainFacts, view: DomainView, judged: Judged) -> DomainOutcome:
    """The domain's outcome as the final report will say it, from the endpoints it uses."""
    endpoints = [
        endpoint_report(judged.facts[k], judged.endpoint(k), ())
        for k in dict.fromkeys(key for key, _, _ in view.uses)
    ]
    return domain_outcome(view.report, endpoints, endpoints_only=facts.endpoints_only)


def endpoint_report(
    facts: EndpointFacts,
    verdict: Verdict,
    uses: Iterable[tuple[str, Role, str]],
) -> EndpointReport:
    """`uses`: (name, role, domain) for every domain target that leads here."""
    names: set[str] = set()
    roles: set[str] = set()
    domains: set[str] = set()
    for name, role, domain in uses:
        names.add(name)
        roles.add(role.value)
        domains.add(domain)
    return EndpointReport(
        id=facts.id,
        url=facts.observation.url,
        address=facts.address,
        port=facts.port,
        names=tuple(sorted(names)),
        roles=tuple(sorted(roles)),
        domains=tuple(sorted(domains)),
        observation=facts.observation,
        protocol_audit=facts.protocol_audit,
        tls_scan=facts.tls_scan,
        findings=verdict.findings,
        checks=verdict.checks,
    )


_PASSIVE = (
    "looked at passively only (greeting, capabilities, certificate): no relay, AUTH, "
    "VRFY/EXPN, injection test or TLS scan"
)


def _with_scope(judged: Judged, key: tuple[str, int], entries: list[OutOfScope]) -> Verdict:
    """An endpoint probed passively (out of scope) carries its scope.out-of-scope finding."""
    verdict = judged.endpoint(key)
    facts = judged.facts[key]
    if not facts.passive or not entries:
        return verdict
    found = out_of_scope_findings(facts.observation.url, entries, passive=_PASSIVE)
    return Verdict(verdict.findings + tuple(found), verdict.checks)


def assemble_report(
    domains: Iterable[DomainFacts],
    endpoints: Mapping[tuple[str, int], EndpointFacts] | Iterable[EndpointFacts],
    *,
    run: RunInfo,
    now: datetime,
) -> Report:
    """The whole Report from facts: what a run ends with, and what `mailaudit report
    run.jsonl` rebuilds. Endpoints no domain uses (guesses not there) are left out."""
    streamed = assemble_streamed(domains, endpoints, run=run, now=now)
    return dataclasses.replace(streamed, domains=tuple(streamed.domains))


def assemble_streamed(
    domains: Iterable[DomainFacts],
    endpoints: Mapping[tuple[str, int], EndpointFacts] | Iterable[EndpointFacts],
    *,
    run: RunInfo,
    now: datetime,
) -> Report:
    """The Report from `domains` (a JSONL stream's domains on disk, read once): each domain is
    joined with the endpoints and its report spooled to disk (`ReportSpool`), whence every
    writer reads the domains one at a time (`StreamedDomains`), so no pass holds more than one.
    (A fleet run joins its domains as they complete instead: `mailaudit.audit.spool.ReportSink`.)"""
    judged = Judged(now=now)
    for ef in endpoints.values() if isinstance(endpoints, Mapping) else endpoints:
        judged.add(ef)
    used = EndpointUses()
    # Each domain is joined once, here; the writers read the joined reports back.
    reports = ReportSpool()
    for facts in domains:
        view = domain_view(facts, judged)
        # One finding per id and subject: a storm (1,000 MX hosts without SPF) becomes one
        # finding with a count and examples (mailaudit.report.aggregate).
        reports.add(condense_domain(view.report))
        used.add(facts, view)
    return Report(
        schema_version=SCHEMA_VERSION,
        run=run,
        domains=StreamedDomains(reports.__iter__, len(reports)),
        endpoints=used.reports(judged),
    )


class EndpointUses:
    """What the endpoint reports need from the domains joined: the names, roles and domains
    that lead to each endpoint, and the out-of-scope hosts among them."""

    def __init__(self) -> None:
        self._uses: dict[tuple[str, int], list[tuple[str, Role, str]]] = {}
        self._outside: dict[tuple[str, int], list[OutOfScope]] = {}

    def add(self, facts: DomainFacts, view: DomainView) -> None:
        for key, name, role in view.uses:
            self._uses.setdefault(key, []).append((name, role, facts.domain))
        hosts = {e.host: e for e in facts.out_of_scope}
        for key, target in uses_of(facts) if hosts else ():
            if (entry := hosts.get(target.endpoint.host)) is not None:
                self._outside.setdefault(key, []).append(entry)

    def reports(self, judged: Judged) -> tuple[EndpointReport, ...]:
        """Every endpoint some domain uses (guesses not there are left out), condensed."""
        reports = [
            endpoint_report(
                judged.facts[key], _with_scope(judged, key, self._outside.get(key, [])), used
            )
            for key, used in self._uses.items()
        ]
        return tuple(condense_endpoint(e) for e in sorted(reports, key=lambda e: (e.url, e.id)))
