"""Turn the area judges (verdict-returning functions) into registry judges that return an
`Outcome`, applying the gates every check of a scope shares. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mailaudit.checks.dns_policy._verdict import _Verdict as DnsVerdict
from mailaudit.checks.facts import DomainFacts, EndpointFacts, TlsFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.protocol import NameFor
from mailaudit.checks.protocol_common import failure_text
from mailaudit.checks.protocol_verdict import Verdict, upgrade_failed
from mailaudit.checks.tls_verdict import _Verdict as TlsVerdict
from mailaudit.model import CheckStatus, LookupStatus, PolicyObservation, ProbeStatus, TlsScan

__all__ = ["dns_judge", "endpoint_judge", "tls_judge"]


def endpoint_judge(
    name_for: NameFor, verdict: Callable[[EndpointFacts], Verdict], *, needs_session: bool
) -> Callable[[EndpointFacts], Outcome]:
    """An endpoint check: named per scheme (no name: it does not apply), inconclusive when the
    server refused the session, not tested when the probe failed — or, for a check that needs
    the audit's TLS session (`needs_session`), when the STARTTLS upgrade failed."""

    def judge(facts: EndpointFacts) -> Outcome:
        obs = facts.observation
        name = name_for(obs.scheme)
        if name is None:
            return Outcome()
        if obs.status is ProbeStatus.REFUSED:
            reason = failure_text(obs, "the server refused the session")
            return Outcome.single(name, obs.url, CheckStatus.INCONCLUSIVE, reason)
        failed_upgrade = upgrade_failed(obs)
        if obs.status is ProbeStatus.FAILED and not failed_upgrade:
            reason = failure_text(obs, "the probe failed")
            return Outcome.single(name, obs.url, CheckStatus.NOT_TESTED, reason)
        if needs_session and failed_upgrade:
            return Outcome.single(
                name,
                obs.url,
                CheckStatus.NOT_TESTED,
                "the STARTTLS upgrade failed, so the audit did not run",
            )
        v = verdict(facts)
        out = Outcome.single(name, obs.url, v.status, v.reason, v.findings)
        if v.throttled is not None:
            out = Outcome((*out.findings, v.throttled), out.runs)
        return out

    return judge


def tls_judge(check: Callable[[TlsScan], TlsVerdict]) -> Callable[[TlsFacts], Outcome]:
    def judge(facts: TlsFacts) -> Outcome:
        v = check(facts.scan)
        return Outcome(tuple(v.findings), (v.run(),))

    return judge


def tls_judge_at(
    check: Callable[[TlsScan, datetime], TlsVerdict],
) -> Callable[[TlsFacts], Outcome]:
    """A TLS check that needs the clock (certificate dates)."""

    def judge(facts: TlsFacts) -> Outcome:
        v = check(facts.scan, facts.now)
        return Outcome(tuple(v.findings), (v.run(),))

    return judge


def dns_judge(check: Callable[[PolicyObservation], DnsVerdict]) -> Callable[[DomainFacts], Outcome]:
    """A DNS policy check; every check but the MX check is not applicable to a domain that does
    not exist (the MX check says so once)."""

    def judge(facts: DomainFacts) -> Outcome:
        obs = facts.policy
        verdict = check(obs)
        if obs.mx.lookup.status is LookupStatus.NXDOMAIN and verdict.check != "dns.mx":
            verdict = DnsVerdict(
                verdict.check,
                status=CheckStatus.NOT_APPLICABLE,
                reasons=["the domain does not exist"],
            )
        return Outcome(tuple(verdict.findings), (verdict.run(obs.domain),))

    return judge
