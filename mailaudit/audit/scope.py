"""What one audit may touch (issue 10 item 1), and how it reports what it did not.

Scope of a run, per audited domain: names inside the domain's own registrable domain, its MX
hosts, the hosts its SRV records name, every `--endpoint` host, the registrable domains the user
adds (`--scope`), and the hosts of published settings (autoconfig, ISPDB, Autodiscover) that share
the registrable domain of one of the domain's MX hosts (the provider that receives its mail).

Everything else a domain's records point to is out of scope: it is touched passively at most —
discovery's one probe (greeting, capabilities, certificate) — and never gets the relay test, AUTH,
VRFY/EXPN, the injection test or a TLS scan. Each out-of-scope endpoint gets one
`scope.out-of-scope` finding with the reference chain as evidence.

The SSRF guard (`mailaudit.net.addresses`) refuses non-global addresses wherever they come from;
`refused_findings` gives each audited domain the refusals that concern it, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mailaudit.audit.units import OutOfScope, Role, Target
from mailaudit.checks.scope import judge_out_of_scope, judge_refused_targets
from mailaudit.discovery.query import DomainRules
from mailaudit.model import Candidate, DiscoveryResult, Finding, RefusedTarget, Source


@dataclass
class AuditScope:
    rules: DomainRules
    # Registrable domains added by the user (--scope).
    extra: frozenset[str] = frozenset()
    # Per audited domain: exact host names in scope (MX, SRV targets), and registrable domains
    # in scope (its own, its MX providers').
    hosts: dict[str, set[str]] = field(default_factory=dict)
    registrables: dict[str, set[str]] = field(default_factory=dict)
    # Host names in scope for every domain (--endpoint).
    named: set[str] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        rules: DomainRules,
        targets: Iterable[Target],
        discoveries: dict[str, DiscoveryResult | None],
        *,
        extra: Iterable[str] = (),
    ) -> AuditScope:
        scope = cls(rules, frozenset(_registrable(rules, d) for d in extra))
        for domain in discoveries:
            scope.hosts[domain] = set()
            scope.registrables[domain] = {_registrable(rules, domain)}
        for target in targets:
            host = target.endpoint.host
            if target.role is Role.EXPLICIT:
                scope.named.add(host)
            elif target.role is Role.MX and target.domain in scope.hosts:
                scope.hosts[target.domain].add(host)
                scope.registrables[target.domain].add(_registrable(rules, host))
        for domain, result in discoveries.items():
            for candidate in result.candidates if result else ():
                if candidate.source is Source.SRV:
                    scope.hosts[domain].add(candidate.setting.host.lower())
        return scope

    def covers(self, domain: str, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in self.named or host in self.hosts.get(domain, ()):
            return True
        registrable = _registrable(self.rules, host)
        return registrable in self.extra or registrable in self.registrables.get(domain, ())

    def out_of_scope(self, domain: str, result: DiscoveryResult | None) -> list[OutOfScope]:
        """The discovery candidates of `domain` outside its scope, one per host."""
        found: dict[str, OutOfScope] = {}
        for candidate in result.candidates if result else ():
            host = candidate.setting.host.lower()
            if host not in found and not self.covers(domain, host):
                found[host] = OutOfScope(domain, host, _chain(candidate))
        return list(found.values())


def _chain(candidate: Candidate) -> tuple[str, ...]:
    return (*candidate.via, candidate.origin, f"names {candidate.setting.host}")


def _registrable(rules: DomainRules, name: str) -> str:
    name = name.lower().rstrip(".")
    return rules.registrable(name) or name


def out_of_scope_findings(
    subject: str, entries: Iterable[OutOfScope], *, passive: str
) -> list[Finding]:
    return judge_out_of_scope(
        subject, [(e.domain, e.host, e.chain) for e in entries], passive=passive
    )


def refused_findings(
    domain: str,
    refused: Iterable[RefusedTarget],
    targets: Iterable[Target],
    *,
    already_reported: Iterable[RefusedTarget] = (),
) -> list[Finding]:
    """Findings for the refusals of `domain`: names among its targets (MX, discovery, guesses)
    or under the domain itself (mta-sts.<domain>, ...), except those discovery reported."""
    own_hosts = {t.endpoint.host for t in targets if t.domain == domain}
    known = {t.host for t in already_reported}
    mine = [
        t
        for t in refused
        if t.host not in known
        and (t.host in own_hosts or t.host == domain or t.host.endswith("." + domain))
    ]
    return judge_refused_targets(domain, mine)
