"""The I/O halves of the fleet engine: the domain phase (`gather_domain`) and the endpoint
phase (`EndpointWorker.run`). Each takes a unit and returns facts (`mailaudit.audit.units`);
neither judges. Network trouble ends up in the facts, never as an exception."""

from __future__ import annotations

import asyncio

from mailaudit.audit.scope import AuditScope, refused_findings
from mailaudit.audit.targets import guess_targets, implied_targets, mx_targets
from mailaudit.audit.units import (
    DomainFacts,
    DomainUnit,
    EndpointFacts,
    EndpointUnit,
    HostAddresses,
    OutOfScope,
    Role,
    Target,
    UnitOptions,
)
from mailaudit.context import Context
from mailaudit.discovery import GuessMode, discover
from mailaudit.discovery.query import DomainRules
from mailaudit.model import (
    DiscoveryResult,
    Endpoint,
    Finding,
    Observation,
    PolicyObservation,
    ProbeStatus,
    ProtocolAudit,
    Security,
    TlsScan,
    TlsTarget,
)
from mailaudit.net.errors import DnsError
from mailaudit.probes.certificate_chain import fetch_mx_chain
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.probes.endpoint import probe
from mailaudit.probes.protocol_audit import audit_endpoint
from mailaudit.probes.tls_scan import TLS_CONCURRENT_SERVERS, scan_tls

__all__ = ["EndpointWorker", "gather_domain", "gather_domain_safely", "not_audited"]


async def gather_domain(ctx: Context, unit: DomainUnit) -> DomainFacts:
    """The domain phase: targets, their addresses, discovery and the DNS policy of one domain."""
    options = unit.options
    targets = [Target(e, Role.EXPLICIT, unit.domain) for e in unit.explicit]
    errors: list[str] = []
    discovery: DiscoveryResult | None = None
    policy_task: asyncio.Task[PolicyObservation] | None = None
    if not unit.endpoints_only and options.dns_only:
        # No MX probe, discovery or guess (no target at all) and no certificate fetch for DANE:
        # DNS answers and the MTA-STS policy over HTTPS only. What needs port 25 is reported as
        # not tested by the judgement.
        policy_task = asyncio.create_task(_policy(ctx, unit.domain, fetch_chains=False))
    elif not unit.endpoints_only:
        if options.policy and options.wants(Role.MX):
            # The policy needs nothing from the targets: it runs beside them.
            policy_task = asyncio.create_task(_policy(ctx, unit.domain))
        if options.wants(Role.MX):
            mx, mx_errors = await mx_targets(ctx, unit.domain)
            targets += mx
            errors += mx_errors
        if options.wants(Role.CLIENT) or options.wants(Role.GUESS):
            if options.discovery:
                discovery = await _discover(ctx, unit.domain, options)
                targets += _client_targets(discovery)
            if options.guess:
                targets += guess_targets(unit.domain)
        targets += implied_targets(targets)
    hosts = sorted({t.endpoint.host for t in targets})
    resolved = await asyncio.gather(*(_addresses(ctx, h) for h in hosts))
    refused = ctx.resolver.guard.refused
    out_of_scope: tuple[OutOfScope, ...] = ()
    scope_findings: list[Finding] = []
    if not unit.endpoints_only:
        scope = AuditScope.build(
            DomainRules(ctx.public_suffixes),
            targets,
            {unit.domain: discovery},
            extra=options.scope,
        )
        out_of_scope = tuple(scope.out_of_scope(unit.domain, discovery))
        scope_findings = refused_findings(
            unit.domain,
            refused,
            targets,
            already_reported=discovery.refused_targets if discovery else (),
        )
    refused_hosts = {t.host for t in refused} & set(hosts)
    return DomainFacts(
        domain=unit.domain,
        endpoints_only=unit.endpoints_only,
        targets=tuple(targets),
        addresses=tuple(HostAddresses(h, a) for h, a in zip(hosts, resolved, strict=True)),
        errors=tuple(errors),
        discovery=discovery,
        policy=await policy_task if policy_task is not None else None,
        out_of_scope=out_of_scope,
        refused_hosts=tuple(sorted(refused_hosts)),
        scope_findings=tuple(scope_findings),
    )


async def gather_domain_safely(ctx: Context, unit: DomainUnit) -> DomainFacts:
    """The domain phase; a bug costs one domain ("not audited"), never the fleet."""
    try:
        return await gather_domain(ctx, unit)
    except Exception as exc:
        return not_audited(unit, exc)


def not_audited(unit: DomainUnit, exc: BaseException) -> DomainFacts:
    """The facts of a domain whose domain phase failed: no targets, the failure as its error."""
    return DomainFacts(unit.domain, unit.endpoints_only, (), (), errors=(f"not audited: {exc!r}",))


async def _policy(ctx: Context, domain: str, *, fetch_chains: bool = True) -> PolicyObservation:
    return await gather_policy(
        ctx,
        domain,
        # One STARTTLS per MX address per run, however many domains name that MX.
        fetch_certificate_chain=(
            (
                lambda host, address: ctx.memo.once(
                    ("mx-chain", host, address), lambda: fetch_mx_chain(ctx, host, address)
                )
            )
            if fetch_chains
            else None
        ),
    )


async def _discover(ctx: Context, domain: str, options: UnitOptions) -> DiscoveryResult:
    # The audit's own budget, not discovery's quick one: discovery's observations are reused as
    # the audit's, and a busy server must not look broken.
    return await discover(
        ctx,
        domain,
        ispdb_dir=options.ispdb_dir,
        guess_mode=GuessMode.NEVER,
        published_budget_s=ctx.settings.timeouts.endpoint_budget_s,
    )


def _client_targets(discovery: DiscoveryResult) -> list[Target]:
    found = []
    for candidate in discovery.candidates:
        setting = candidate.setting
        if setting.security is Security.PLAIN:
            continue  # plaintext settings are judged through the STARTTLS endpoint
        endpoint = Endpoint(setting.scheme, setting.host.lower(), setting.port)
        found.append(Target(endpoint, Role.CLIENT, discovery.domain))
    return found


async def _addresses(ctx: Context, host: str) -> tuple[str, ...]:
    try:
        return await ctx.resolver.addresses(host)
    except DnsError:
        return ()


class EndpointWorker:
    """The endpoint phase: probe (a 421 waits and is retried once), protocol audit, TLS scan —
    one after the other, so one endpoint never sees the audit and the scan at once."""

    def __init__(self, ctx: Context, options: UnitOptions) -> None:
        self._ctx = ctx
        self._options = options
        # sslyze is CPU work off the loop; a few scans at once keep the loop and DNS responsive.
        self._tls_slots = asyncio.Semaphore(min(4, TLS_CONCURRENT_SERVERS))

    async def run(self, unit: EndpointUnit) -> EndpointFacts:
        obs = unit.known or await self._probe(unit)
        audit: ProtocolAudit | None = None
        scan: TlsScan | None = None
        if unit.passive:
            # Out of scope: the probe (greeting, capabilities, certificate) and nothing active.
            return EndpointFacts(unit.address, unit.port, obs, passive=True)
        if obs.completed and unit.protocol_audit:
            audit = await audit_endpoint(
                self._ctx,
                obs,
                relay_test_domain=self._options.relay_test_domain,
                own_domain=unit.own_domain,
            )
        if obs.completed and obs.tls is not None and unit.tls:
            target = TlsTarget(
                unit.endpoint.host, unit.address, unit.port, unit.endpoint.scheme, unit.names
            )
            async with self._tls_slots:
                scans = await scan_tls(self._ctx, [target])
            scan = scans[0] if scans else None
        return EndpointFacts(unit.address, unit.port, obs, audit, scan)

    async def _probe(self, unit: EndpointUnit) -> Observation:
        obs = await probe(self._ctx, unit.endpoint, address=unit.address)
        if obs.status is ProbeStatus.REFUSED:
            # 421 and friends: the server is busy or limits us. Back off, ask once more; a
            # second refusal stands (its checks are inconclusive, never passed).
            await asyncio.sleep(self._ctx.settings.timeouts.refused_retry_s)
            obs = await probe(self._ctx, unit.endpoint, address=unit.address)
        return obs
