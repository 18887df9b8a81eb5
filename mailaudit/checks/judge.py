"""The runner's API to the check registry: each function applies every check of one scope to
one facts bundle and returns one `Outcome` (findings + check runs). Pure.

    judge_endpoint(EndpointFacts)      one endpoint at one address (probe + protocol audit)
    judge_tls(TlsFacts)                one TLS scan
    judge_domain(DomainFacts)          one domain's DNS mail policy
    judge_address(AddressFacts)        every port probed at one address (implicit TLS)
    judge_tls_hosts(TlsHostsFacts)     every scan of the run, per host name (consistency)
    judge_domain_audit(DomainAuditFacts)  a domain joined with its endpoints (MTA-STS against
                                       the MX probes, discovery weighed in an audit)

`judge_across` is the cross-endpoint trio for callers that hold all the facts at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailaudit.checks.check import Scope
from mailaudit.checks.facts import (
    AddressFacts,
    DomainAuditFacts,
    DomainFacts,
    EndpointFacts,
    TlsFacts,
    TlsHostsFacts,
)
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.registry import checks_of

__all__ = [
    "judge_across",
    "judge_address",
    "judge_domain",
    "judge_domain_audit",
    "judge_endpoint",
    "judge_tls",
    "judge_tls_hosts",
]

_RATE_LIMITED = "endpoint.rate-limited"


def _run(scope: Scope, facts: object) -> Outcome:
    outcomes = []
    for check in checks_of(scope):
        assert check.judge is not None, check.name
        outcomes.append(check.judge(facts))
    return Outcome.of(outcomes)


def judge_endpoint(facts: EndpointFacts) -> Outcome:
    """Every endpoint check. A server that throttled several sub-tests is reported rate
    limited once, after the other findings."""
    out = _run(Scope.ENDPOINT, facts)
    rate = [f for f in out.findings if f.id == _RATE_LIMITED]
    others = tuple(f for f in out.findings if f.id != _RATE_LIMITED)
    return Outcome(others + tuple(rate[:1]), out.runs)


def judge_tls(facts: TlsFacts) -> Outcome:
    return _run(Scope.TLS, facts)


def judge_domain(facts: DomainFacts) -> Outcome:
    return _run(Scope.DOMAIN, facts)


def judge_address(facts: AddressFacts) -> Outcome:
    return _run(Scope.ADDRESS, facts)


def judge_tls_hosts(facts: TlsHostsFacts) -> Outcome:
    return _run(Scope.TLS_HOSTS, facts)


def judge_domain_audit(facts: DomainAuditFacts) -> Outcome:
    return _run(Scope.DOMAIN_AUDIT, facts)


def judge_across(
    *,
    addresses: Iterable[AddressFacts] = (),
    tls_hosts: TlsHostsFacts | None = None,
    domains: Iterable[DomainAuditFacts] = (),
) -> Outcome:
    """Every cross-endpoint check over the facts given; each finding and run names its subject
    (an endpoint URL, a host name or a domain), which says where it belongs."""
    outcomes = [judge_address(a) for a in addresses]
    if tls_hosts is not None:
        outcomes.append(judge_tls_hosts(tls_hosts))
    outcomes += [judge_domain_audit(d) for d in domains]
    return Outcome.of(outcomes)
