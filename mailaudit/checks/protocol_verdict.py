"""What the endpoint (protocol) checks share: the verdict of one check on one endpoint, the
sub-test gate and small reply helpers. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_common import transcript_evidence
from mailaudit.model import (
    AuthProbe,
    CheckStatus,
    EnumerationProbe,
    Finding,
    InjectionProbe,
    Observation,
    ProbeStatus,
    RcptTest,
    ServerReply,
)
from mailaudit.model import (
    Outcome as SubtestOutcome,
)

_STARTTLS_STEPS = frozenset({"starttls", "tls-handshake"})


@dataclass(frozen=True)
class Verdict:
    """One endpoint check's answer; `throttled` is the `endpoint.rate-limited` finding of a
    sub-test the server throttled (the endpoint reports it once, whichever check saw it first)."""

    status: CheckStatus
    reason: str | None = None
    findings: tuple[Finding, ...] = ()
    throttled: Finding | None = None


def failed(found: Finding) -> Verdict:
    return Verdict(CheckStatus.FAILED, None, (found,))


def upgrade_failed(observation: Observation) -> bool:
    """STARTTLS was offered and the upgrade itself failed (a finding, not a dead endpoint)."""
    failure = observation.failure
    return bool(
        observation.status is ProbeStatus.FAILED
        and observation.starttls_offered
        and failure is not None
        and failure.step in _STARTTLS_STEPS
    )


def subtest(
    facts: EndpointFacts,
    test: RcptTest | AuthProbe | InjectionProbe | EnumerationProbe | None,
    what: str,
) -> Verdict | None:
    """The verdict when the sub-test gives none (missing, N/A, failed, throttled)."""
    if facts.audit is None or test is None:
        return Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
    if test.outcome is SubtestOutcome.NOT_APPLICABLE:
        return Verdict(CheckStatus.NOT_APPLICABLE, test.reason)
    if test.outcome is SubtestOutcome.FAILED:
        return Verdict(CheckStatus.NOT_TESTED, f"{what}: {test.reason}")
    if test.outcome is SubtestOutcome.INCONCLUSIVE:
        reason = f"{what}: {test.reason}"
        rate = finding(
            "endpoint.rate-limited",
            facts.observation.url,
            reason,
            evidence=transcript_evidence(test.evidence),
        )
        return Verdict(CheckStatus.INCONCLUSIVE, reason, throttled=rate)
    return None


def transient(reply: ServerReply | None) -> bool:
    return reply is not None and reply.is_transient


def codes(replies: Iterable[ServerReply]) -> str:
    seen: dict[str, None] = {}
    for r in replies:
        status = r.text.split(" ", 1)[0] if re.match(r"[245]\.\d", r.text) else ""
        seen.setdefault(f"{r.code} {status}".strip(), None)
    return ", ".join(seen)


def reply_line(reply: ServerReply) -> str:
    first = reply.text.split("\n")[0]
    return f"S: {reply.code} {first}".rstrip()
