"""Host-level protocol checks: is there implicit TLS (465, 993, 995) next to the plaintext
client ports (587, 143, 110) at the same address? RFC 8314 prefers implicit TLS."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import AddressFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.protocol_common import failure_text, service_of
from mailaudit.model import CheckRun, CheckStatus, Finding, Observation, ProbeStatus, Scheme

__all__ = ["judge_address"]

_IMPLICIT = {Scheme.SUBMISSION: Scheme.SMTPS, Scheme.IMAP: Scheme.IMAPS, Scheme.POP3: Scheme.POP3S}


def judge_address(facts: AddressFacts) -> Outcome:
    """`<service>.plaintext-only` and `<service>.implicit-tls-missing` for every plaintext
    client endpoint (587, 143, 110), judged against the implicit-TLS endpoints (465, 993, 995)
    at the same address. Pass every observation of the address, failed ones included: an
    implicit-TLS scheme missing from the list counts as unknown, not as absent."""
    observations = facts.observations
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    by_address: dict[str, list[Observation]] = {}
    for obs in observations:
        by_address.setdefault(obs.address or obs.host, []).append(obs)
    for group in by_address.values():
        for obs in group:
            implicit = _IMPLICIT.get(obs.scheme)
            if implicit is None:
                continue
            service = service_of(obs.scheme)
            names = (f"{service}.plaintext-only", f"{service}.implicit-tls-missing")
            if not obs.completed:
                reason = failure_text(obs, "the plaintext endpoint was not tested")
                status = (
                    CheckStatus.INCONCLUSIVE
                    if obs.status is ProbeStatus.REFUSED
                    else CheckStatus.NOT_TESTED
                )
                runs += [CheckRun(n, obs.url, status, reason) for n in names]
                continue
            partners = [o for o in group if o.scheme is implicit]
            found, verdicts = _judge_implicit(obs, partners, names)
            findings += found
            runs += verdicts
    return Outcome(tuple(findings), tuple(runs))


def _judge_implicit(
    obs: Observation, partners: list[Observation], names: tuple[str, str]
) -> tuple[list[Finding], list[CheckRun]]:
    plaintext_only, implicit_missing = names
    port = {Scheme.SUBMISSION: 465, Scheme.IMAP: 993, Scheme.POP3: 995}[obs.scheme]
    if not partners:
        reason = f"port {port} was not probed"
        return [], [
            CheckRun(plaintext_only, obs.url, CheckStatus.NOT_TESTED, reason),
            CheckRun(implicit_missing, obs.url, CheckStatus.NOT_TESTED, reason),
        ]
    if any(p.completed for p in partners):
        where = next(p for p in partners if p.completed).url
        reason = f"implicit TLS answers at {where}"
        return [], [
            CheckRun(plaintext_only, obs.url, CheckStatus.PASSED, reason),
            CheckRun(implicit_missing, obs.url, CheckStatus.PASSED, reason),
        ]
    if any(p.status is ProbeStatus.REFUSED for p in partners):
        reason = "the implicit-TLS endpoint refused the session"
        return [], [
            CheckRun(plaintext_only, obs.url, CheckStatus.INCONCLUSIVE, reason),
            CheckRun(implicit_missing, obs.url, CheckStatus.INCONCLUSIVE, reason),
        ]
    why = "; ".join(f"{p.url}: {failure_text(p, 'failed')}" for p in partners)
    evidence = tuple(f"*: {p.url} — {failure_text(p, 'failed')}" for p in partners)
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    if obs.starttls_offered:
        runs.append(CheckRun(plaintext_only, obs.url, CheckStatus.PASSED, "STARTTLS offered"))
        found = finding(
            implicit_missing,
            obs.url,
            f"STARTTLS is offered here, but no implicit TLS answers on port {port} ({why}).",
            evidence=evidence,
        )
        findings.append(found)
        runs.append(CheckRun(implicit_missing, obs.url, CheckStatus.FAILED, None, (found.id,)))
    else:
        found = finding(
            plaintext_only,
            obs.url,
            f"No STARTTLS here and no implicit TLS on port {port} ({why}): clients can only "
            "connect in the clear.",
            evidence=evidence,
        )
        findings.append(found)
        runs.append(CheckRun(plaintext_only, obs.url, CheckStatus.FAILED, None, (found.id,)))
        runs.append(
            CheckRun(
                implicit_missing,
                obs.url,
                CheckStatus.NOT_APPLICABLE,
                f"reported as {plaintext_only}",
            )
        )
    return findings, runs
