"""The audit of one or many domains: enumerate endpoints, probe each unique (address, port)
once, run the protocol audit, the TLS scan and the DNS policy, judge, and build the Report.

ISPs audit thousands of customer domains that share a few mail hosts: everything here is keyed
by (address, port) so a shared host is probed, audited and scanned once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mailaudit import __version__
from mailaudit.audit.scope import AuditScope, out_of_scope_findings, refused_findings
from mailaudit.audit.targets import Role, Target, guess_targets, mx_targets
from mailaudit.checks.audit_discovery import judge_discovery_in_audit
from mailaudit.checks.dns_policy import judge_mx_certificates, judge_policy
from mailaudit.checks.protocol import judge_endpoint, judge_host
from mailaudit.checks.tls import judge_consistency, judge_tls
from mailaudit.context import Context
from mailaudit.discovery import DiscoveryResult, GuessMode, Security, discover
from mailaudit.discovery.query import DomainRules
from mailaudit.model import (
    SCHEMA_VERSION,
    CheckRun,
    DomainReport,
    Endpoint,
    EndpointReport,
    Finding,
    Observation,
    PolicyObservation,
    ProbeStatus,
    ProtocolAudit,
    Report,
    RunInfo,
    Scheme,
    TlsScan,
    TlsTarget,
)
from mailaudit.net.errors import DnsError
from mailaudit.probes.certificate_chain import fetch_mx_chain
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.probes.endpoint import probe
from mailaudit.probes.protocol_audit import DEFAULT_RELAY_TEST_DOMAIN, audit_endpoint
from mailaudit.probes.tls_scan import scan_tls

_SERVICE_LABELS = {"smtp": ("smtp",), "imap": ("imap",), "pop3": ("pop3", "pop")}


def _names_service(endpoint: Endpoint) -> bool:
    return endpoint.host.split(".", 1)[0] in _SERVICE_LABELS[endpoint.scheme.family]


@dataclass(frozen=True)
class AuditOptions:
    only: frozenset[Role] = frozenset()  # empty: everything
    extra_endpoints: tuple[Endpoint, ...] = ()
    guess: bool = True
    discovery: bool = True
    protocol_audit: bool = True
    tls: bool = True
    policy: bool = True
    ispdb_dir: str | None = None
    relay_test_domain: str = DEFAULT_RELAY_TEST_DOMAIN
    # Registrable domains the user adds to the scope (--scope), see mailaudit.audit.scope.
    scope: tuple[str, ...] = ()
    # Called with a short text whenever a step finishes (progress display).
    progress: Callable[[str], None] | None = None


@dataclass
class Group:
    """The names, roles and domains that lead to one (address, port)."""

    address: str
    port: int
    targets: list[Target] = field(default_factory=list)
    observation: Observation | None = None
    protocol_audit: ProtocolAudit | None = None
    tls_scan: TlsScan | None = None
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def lead(self) -> Target:
        # Probe under the most authoritative name: what the user named, then MX, then discovery,
        # then the guess that names the service (pop3.example for POP3 rather than mail.example).
        return min(
            self.targets,
            key=lambda t: (t.role.priority, not _names_service(t.endpoint), t.endpoint.host),
        )

    @property
    def only_guessed(self) -> bool:
        return all(t.role is Role.GUESS for t in self.targets)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({t.endpoint.host for t in self.targets}))


@dataclass
class _DomainState:
    domain: str
    # A host named only by --endpoint: its endpoints are audited and reported under its name,
    # but it gets no MX lookup, discovery or DNS policy (it need not be a mail domain at all).
    endpoints_only: bool = False
    errors: list[str] = field(default_factory=list)
    not_offered: set[str] = field(default_factory=set)
    discovery: DiscoveryResult | None = None
    policy: PolicyObservation | None = None
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)


async def run_audit(
    ctx: Context, domains: Iterable[str], options: AuditOptions | None = None
) -> Report:
    options = options or AuditOptions()
    started_at = ctx.clock()
    started = ctx.monotonic()
    states = {d: _DomainState(d) for d in dict.fromkeys(d.lower().rstrip(".") for d in domains)}
    for endpoint in options.extra_endpoints:
        states.setdefault(endpoint.host, _DomainState(endpoint.host, endpoints_only=True))
    say = options.progress or (lambda _text: None)

    # Discovery and the DNS policy need nothing from the probes: start them now.
    policy_task = asyncio.create_task(_policies(ctx, states, options, say))
    targets, reusable = await _collect_targets(ctx, states, options, say)
    groups, unresolved = await _group_by_address(ctx, targets)
    refused_hosts = {t.host for t in ctx.resolver.guard.refused}
    for target in unresolved:
        if target.role is Role.GUESS:
            states[target.domain].not_offered.add(target.endpoint.url)
        elif target.domain in states:
            why = (
                "not contacted: only non-global addresses (see scope.private-address-refused)"
                if target.endpoint.host in refused_hosts
                else "name does not resolve"
            )
            states[target.domain].errors.append(f"{target.endpoint.url}: {why}")

    await asyncio.gather(*(_probe_group(ctx, g, reusable, say) for g in groups.values()))
    live = _drop_absent_guesses(groups, states)
    # Out-of-scope endpoints keep their (passive) probe and get no active test at all.
    passive = _passive_groups(ctx, states, targets, live, options)
    active = [g for g in live if g.id not in passive]
    if options.protocol_audit:
        await asyncio.gather(*(_audit_group(ctx, g, options, say) for g in active))
    # After the audits, not beside them: sslyze opens its own connections, and running both at
    # once would exceed the per-endpoint politeness limit (measured: no faster either, the scan
    # is the long pole).
    host_findings = await _tls(ctx, active, say) if options.tls else []
    for group in live:
        assert group.observation is not None
        found, runs = judge_endpoint(group.observation, group.protocol_audit)
        group.findings[:0] = found  # protocol findings first, TLS findings after
        group.checks[:0] = runs
    _judge_hosts(live, list(groups.values()))
    _attach_host_findings(host_findings, live, states)
    await policy_task
    _judge_mtasts_against_mx(states, live)
    for state in states.values():
        state.findings += refused_findings(
            state.domain,
            ctx.resolver.guard.refused,
            targets,
            already_reported=state.discovery.refused_targets if state.discovery else (),
        )

    return _report(ctx, states, live, options, started_at.isoformat(), started)


def _passive_groups(
    ctx: Context,
    states: dict[str, _DomainState],
    targets: list[Target],
    groups: list[Group],
    options: AuditOptions,
) -> set[str]:
    """Ids of the groups reached only through names outside every leading domain's scope (see
    mailaudit.audit.scope); each gets its scope.out-of-scope finding here."""
    discoveries = {d: s.discovery for d, s in states.items() if not s.endpoints_only}
    scope = AuditScope.build(
        DomainRules(ctx.public_suffixes), targets, discoveries, extra=options.scope
    )
    outside = {
        (entry.domain, entry.host): entry
        for domain, result in discoveries.items()
        for entry in scope.out_of_scope(domain, result)
    }
    passive: set[str] = set()
    for group in groups:
        entries = [outside.get((t.domain, t.endpoint.host)) for t in group.targets]
        if group.observation is None or not all(entries):
            continue
        passive.add(group.id)
        group.findings += out_of_scope_findings(
            group.observation.url,
            [e for e in entries if e is not None],
            passive="looked at passively only (greeting, capabilities, certificate): no relay, "
            "AUTH, VRFY/EXPN, injection test or TLS scan",
        )
    return passive


async def _collect_targets(
    ctx: Context, states: dict[str, _DomainState], options: AuditOptions, say: Callable[[str], None]
) -> tuple[list[Target], dict[tuple[str, int], Observation]]:
    targets: list[Target] = [Target(e, Role.EXPLICIT, e.host) for e in options.extra_endpoints]
    wants = options.only or frozenset(Role)
    reusable: dict[tuple[str, int], Observation] = {}

    async def one(state: _DomainState) -> list[Target]:
        found: list[Target] = []
        if state.endpoints_only:
            return found
        if Role.MX in wants:
            mx, errors = await mx_targets(ctx, state.domain)
            found += mx
            state.errors += errors
        if Role.CLIENT in wants or Role.GUESS in wants:
            if options.discovery:
                # The audit's own budget, not discovery's quick one: discovery's observations are
                # reused as the audit's, and a busy server must not look broken.
                state.discovery = await discover(
                    ctx,
                    state.domain,
                    ispdb_dir=options.ispdb_dir,
                    guess_mode=GuessMode.NEVER,
                    published_budget_s=ctx.settings.timeouts.endpoint_budget_s,
                )
                say(f"discovered {state.domain}")
                for candidate in state.discovery.candidates:
                    setting = candidate.setting
                    if setting.security is Security.PLAIN:
                        continue  # plaintext settings are judged through the STARTTLS endpoint
                    scheme = setting.scheme
                    found.append(
                        Target(
                            Endpoint(scheme, setting.host.lower(), setting.port),
                            Role.CLIENT,
                            state.domain,
                        )
                    )
                    obs = candidate.verification.observation
                    if (
                        obs is not None
                        and obs.address
                        and obs.scheme is scheme
                        and obs.status is ProbeStatus.COMPLETED
                    ):
                        reusable.setdefault((obs.address, obs.port), obs)
            if options.guess:
                found += guess_targets(state.domain)
        return found

    for found in await asyncio.gather(*(one(s) for s in states.values())):
        targets += found
    return targets, reusable


async def _group_by_address(
    ctx: Context, targets: list[Target]
) -> tuple[dict[tuple[str, int], Group], list[Target]]:
    hosts = sorted({t.endpoint.host for t in targets})
    resolved = await asyncio.gather(*(_addresses(ctx, h) for h in hosts))
    addresses = dict(zip(hosts, resolved, strict=True))
    groups: dict[tuple[str, int], Group] = {}
    unresolved: list[Target] = []
    for target in targets:
        found = addresses[target.endpoint.host]
        if not found:
            unresolved.append(target)
        for address in found:
            key = (address, target.endpoint.port)
            groups.setdefault(key, Group(address, target.endpoint.port)).targets.append(target)
    return groups, unresolved


async def _addresses(ctx: Context, host: str) -> tuple[str, ...]:
    try:
        return await ctx.resolver.addresses(host)
    except DnsError:
        return ()


async def _probe_group(
    ctx: Context,
    group: Group,
    reusable: dict[tuple[str, int], Observation],
    say: Callable[[str], None],
) -> None:
    lead = group.lead.endpoint
    known = reusable.get((group.address, group.port))
    if known is not None and known.scheme is lead.scheme:
        group.observation = known  # discovery probed it already: nothing is probed twice
        return
    group.observation = await probe(ctx, lead, address=group.address)
    say(f"probed {group.observation.url} at {group.address}")


def _drop_absent_guesses(
    groups: dict[tuple[str, int], Group], states: dict[str, _DomainState]
) -> list[Group]:
    """A guessed port that refuses connections is simply not offered: no endpoint, no finding."""
    live: list[Group] = []
    for group in groups.values():
        obs = group.observation
        assert obs is not None
        absent = (
            obs.status is ProbeStatus.FAILED
            and obs.failure is not None
            and obs.failure.reason in ("refused", "unreachable")
        )
        if group.only_guessed and absent:
            for t in group.targets:
                if t.domain in states:
                    states[t.domain].not_offered.add(t.endpoint.url)
            continue
        live.append(group)
    return live


async def _audit_group(
    ctx: Context, group: Group, options: AuditOptions, say: Callable[[str], None]
) -> None:
    obs = group.observation
    if obs is None or not obs.completed:
        return
    own = group.lead.domain if group.lead.role is not Role.EXPLICIT else None
    group.protocol_audit = await audit_endpoint(
        ctx, obs, relay_test_domain=options.relay_test_domain, own_domain=own
    )
    say(f"audited {obs.url} at {group.address}")


def _judge_hosts(live: list[Group], probed: list[Group]) -> None:
    """Implicit TLS missing / plaintext only: judged per address over every port probed there,
    the guessed ports that refused included (that refusal is the evidence that 465, 993 or 995
    is not offered); the findings go to the live endpoints."""
    by_address: dict[str, list[Group]] = {}
    for group in probed:
        by_address.setdefault(group.address, []).append(group)
    live_ids = {g.id for g in live}
    for same_address in by_address.values():
        observations = [g.observation for g in same_address if g.observation is not None]
        findings, runs = judge_host(observations)
        by_url = {
            g.observation.url: g
            for g in same_address
            if g.observation is not None and g.id in live_ids
        }
        for f in findings:
            if f.subject in by_url:
                by_url[f.subject].findings.append(f)
        for r in runs:
            if r.subject in by_url:
                by_url[r.subject].checks.append(r)


async def _tls(ctx: Context, groups: list[Group], say: Callable[[str], None]) -> list[Finding]:
    """Scan every group where TLS worked in one sslyze run, judge each scan into its group,
    and return the host-level consistency findings."""
    scanned = [
        g
        for g in groups
        if g.observation is not None and g.observation.completed and g.observation.tls is not None
    ]
    targets = [
        TlsTarget(g.lead.endpoint.host, g.address, g.port, g.lead.endpoint.scheme, g.names)
        for g in scanned
    ]
    scans = await scan_tls(ctx, targets)
    say(f"scanned TLS of {len(scans)} endpoints")
    by_key = {s.target.key: s for s in scans}
    now = ctx.clock()
    for group in scanned:
        scan = by_key.get((group.address, group.port))
        if scan is None:
            continue
        group.tls_scan = scan
        found, runs = judge_tls(scan, now=now)
        group.findings += found
        group.checks += runs
    return judge_consistency(scans)


def _judge_mtasts_against_mx(states: dict[str, _DomainState], groups: list[Group]) -> None:
    """A published MTA-STS policy makes each MX's certificate matter (see judge_mx_certificates)."""
    for state in states.values():
        if state.policy is None:
            continue
        observations = [
            g.observation
            for g in groups
            if g.observation is not None and state.domain in {t.domain for t in g.targets}
        ]
        found, run = judge_mx_certificates(state.policy, observations)
        state.findings += found
        state.checks.append(run)


def _attach_host_findings(
    findings: list[Finding], groups: list[Group], states: dict[str, _DomainState]
) -> None:
    """A finding about a host name goes to every audited domain that reaches that host."""
    for f in findings:
        for state in states.values():
            if any(
                f.subject in g.names and state.domain in {t.domain for t in g.targets}
                for g in groups
            ):
                state.findings.append(f)


async def _policies(
    ctx: Context, states: dict[str, _DomainState], options: AuditOptions, say: Callable[[str], None]
) -> None:
    if not options.policy or (options.only and Role.MX not in options.only):
        return

    async def one(state: _DomainState) -> None:
        if state.endpoints_only:
            return
        state.policy = await gather_policy(
            ctx,
            state.domain,
            # One STARTTLS per MX address per run, however many domains name that MX.
            fetch_certificate_chain=lambda host, address: ctx.memo.once(
                ("mx-chain", host, address), lambda: fetch_mx_chain(ctx, host, address)
            ),
        )
        found, runs = judge_policy(state.policy)
        state.findings += found
        state.checks += runs
        say(f"checked the DNS policy of {state.domain}")

    await asyncio.gather(*(one(s) for s in states.values()))


def _discovery_findings(state: _DomainState, endpoints: list[EndpointReport]) -> list[Finding]:
    if state.discovery is None:
        return []
    clients = any(
        state.domain in e.domains
        and e.observation.scheme is not Scheme.SMTP
        and e.observation.completed
        for e in endpoints
    )
    return judge_discovery_in_audit(state.discovery.findings, client_endpoints_found=clients)


def _report(
    ctx: Context,
    states: dict[str, _DomainState],
    groups: list[Group],
    options: AuditOptions,
    started_at: str,
    started: float,
) -> Report:
    endpoint_reports = []
    for group in groups:
        obs = group.observation
        assert obs is not None
        endpoint_reports.append(
            EndpointReport(
                id=group.id,
                url=obs.url,
                address=group.address,
                port=group.port,
                names=group.names,
                roles=tuple(sorted({t.role.value for t in group.targets})),
                domains=tuple(sorted({t.domain for t in group.targets})),
                observation=obs,
                protocol_audit=group.protocol_audit,
                tls_scan=group.tls_scan,
                findings=tuple(group.findings),
                checks=tuple(group.checks),
            )
        )
    domain_reports = tuple(
        DomainReport(
            domain=s.domain,
            endpoint_ids=tuple(sorted(e.id for e in endpoint_reports if s.domain in e.domains)),
            not_offered=tuple(sorted(s.not_offered)),
            findings=tuple([*s.findings, *_discovery_findings(s, endpoint_reports)]),
            checks=tuple(s.checks),
            errors=tuple(s.errors),
            discovery=s.discovery,
            policy=s.policy,
        )
        for s in states.values()
    )
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RunInfo(
            tool_version=__version__,
            started_at=started_at,
            finished_at=ctx.clock().isoformat(),
            duration_ms=int((ctx.monotonic() - started) * 1000),
            nameservers=ctx.settings.nameservers,
            relay_test_domain=options.relay_test_domain,
        ),
        domains=domain_reports,
        endpoints=tuple(sorted(endpoint_reports, key=lambda e: (e.url, e.id))),
    )
