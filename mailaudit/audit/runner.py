"""The audit of one or many domains: enumerate endpoints, probe each unique (address, port)
once, run the protocol audit, the TLS scan and the DNS policy, judge, and build the Report.

ISPs audit thousands of customer domains that share a few mail hosts: everything here is keyed
by (address, port) so a shared host is probed, audited and scanned once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from mailaudit import __version__
from mailaudit.audit.targets import Role, Target, guess_targets, mx_targets
from mailaudit.context import Context
from mailaudit.model import CheckRun, Finding
from mailaudit.net.errors import DnsError
from mailaudit.probes.endpoint import probe
from mailaudit.probes.model import Endpoint, Observation, ProbeStatus
from mailaudit.report.model import SCHEMA_VERSION, DomainReport, EndpointReport, Report, RunInfo

# Stages beyond the probe plug in here; each gets the finished probe observations.
EndpointStage = Callable[[Context, "Group"], Awaitable[tuple[list[Finding], list[CheckRun]]]]


@dataclass(frozen=True)
class AuditOptions:
    only: frozenset[Role] = frozenset()  # empty: everything
    extra_endpoints: tuple[Endpoint, ...] = ()
    guess: bool = True
    relay_test_domain: str = "mailaudit-relay-test.invalid"
    # Called with a short text whenever a step finishes (progress bars).
    progress: Callable[[str], None] | None = None


@dataclass
class Group:
    """The names, roles and domains that lead to one (address, port)."""

    address: str
    port: int
    targets: list[Target] = field(default_factory=list)
    observation: Observation | None = None

    @property
    def id(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def lead(self) -> Target:
        # Probe under the most authoritative name: what the user named, then MX, then discovery.
        return min(self.targets, key=lambda t: (t.role.priority, t.endpoint.host))

    @property
    def only_guessed(self) -> bool:
        return all(t.role is Role.GUESS for t in self.targets)


async def run_audit(
    ctx: Context, domains: Iterable[str], options: AuditOptions | None = None
) -> Report:
    options = options or AuditOptions()
    started_at = ctx.clock()
    started = ctx.monotonic()
    domains = [d.lower().rstrip(".") for d in domains]
    errors: dict[str, list[str]] = {d: [] for d in domains}

    targets = await _collect_targets(ctx, domains, options, errors)
    groups, unresolved = await _group_by_address(ctx, targets)
    await asyncio.gather(*(_probe_group(ctx, g, options) for g in groups.values()))

    endpoint_reports: list[EndpointReport] = []
    not_offered: dict[str, list[str]] = {d: [] for d in domains}
    for target in unresolved:
        if target.role is Role.GUESS:
            not_offered.setdefault(target.domain, []).append(target.endpoint.url)
    for group in groups.values():
        obs = group.observation
        assert obs is not None
        if (
            group.only_guessed
            and obs.status is ProbeStatus.FAILED
            and obs.failure
            and obs.failure.reason in ("refused", "unreachable")
        ):
            for t in group.targets:
                not_offered.setdefault(t.domain, []).append(t.endpoint.url)
            continue
        findings, checks = _judge_probe(obs)
        endpoint_reports.append(
            EndpointReport(
                id=group.id,
                url=obs.url,
                address=group.address,
                port=group.port,
                names=tuple(sorted({t.endpoint.host for t in group.targets})),
                roles=tuple(sorted({t.role.value for t in group.targets})),
                domains=tuple(sorted({t.domain for t in group.targets})),
                observation=obs,
                findings=tuple(findings),
                checks=tuple(checks),
            )
        )
    for target in unresolved:
        if target.role is not Role.GUESS:
            errors.setdefault(target.domain, []).append(
                f"{target.endpoint.url}: name does not resolve"
            )

    domain_reports = tuple(
        DomainReport(
            domain=d,
            endpoint_ids=tuple(sorted(e.id for e in endpoint_reports if d in e.domains)),
            not_offered=tuple(sorted(set(not_offered.get(d, [])))),
            errors=tuple(errors.get(d, [])),
        )
        for d in domains
    )
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RunInfo(
            tool_version=__version__,
            started_at=started_at.isoformat(),
            finished_at=ctx.clock().isoformat(),
            duration_ms=int((ctx.monotonic() - started) * 1000),
            nameservers=ctx.settings.nameservers,
            relay_test_domain=options.relay_test_domain,
        ),
        domains=domain_reports,
        endpoints=tuple(sorted(endpoint_reports, key=lambda e: (e.url, e.id))),
    )


async def _collect_targets(
    ctx: Context, domains: list[str], options: AuditOptions, errors: dict[str, list[str]]
) -> list[Target]:
    targets: list[Target] = [Target(e, Role.EXPLICIT, e.host) for e in options.extra_endpoints]
    wants = options.only or frozenset(Role)
    for domain in domains:
        if Role.MX in wants:
            found, errs = await mx_targets(ctx, domain)
            targets += found
            errors[domain] += errs
        if Role.GUESS in wants and options.guess and (not options.only or Role.CLIENT in wants):
            targets += guess_targets(domain)
    return targets


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


async def _probe_group(ctx: Context, group: Group, options: AuditOptions) -> None:
    group.observation = await probe(ctx, group.lead.endpoint, address=group.address)
    if options.progress:
        options.progress(f"probed {group.observation.url} ({group.address})")


def _judge_probe(obs: Observation) -> tuple[list[Finding], list[CheckRun]]:
    return [], []
