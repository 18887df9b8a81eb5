"""`smtp.open-relay` and `submission.accepts-unauthenticated`: does the server take mail it
must not take? Pure: judged from the relay and submission sub-tests of the protocol audit."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_common import transcript_evidence
from mailaudit.checks.protocol_verdict import Verdict, codes, failed, subtest, transient
from mailaudit.model import (
    AttemptKind,
    CheckStatus,
    Confidence,
    Finding,
    RcptAttempt,
    ServerReply,
    TranscriptLine,
)
from mailaudit.model import Outcome as SubtestOutcome

__all__ = ["accepts_unauthenticated", "open_relay"]

# Evidence stays readable: at most this many accepted relay attempts are quoted.
_MAX_QUOTED_ATTEMPTS = 4


def open_relay(facts: EndpointFacts) -> Verdict:
    audit = facts.audit
    if audit is None:
        return Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
    tests = [audit.relay, audit.relay_over_tls]
    attempts = [a for t in tests for a in t.attempts]
    accepted = [a for a in attempts if a.kind is AttemptKind.RELAY and a.accepted]
    if accepted:
        return failed(_relay_finding(facts.observation.url, attempts, accepted))
    verdicts = [
        subtest(facts, t, "relay test" + (" over TLS" if t.over_tls else "")) for t in tests
    ]
    throttled = next((v.throttled for v in verdicts if v is not None and v.throttled), None)
    for status in (CheckStatus.INCONCLUSIVE, CheckStatus.NOT_TESTED):
        for verdict in verdicts:
            if verdict is not None and verdict.status is status:
                return Verdict(verdict.status, verdict.reason, throttled=throttled)
    if all(v is not None for v in verdicts):  # both not applicable
        return Verdict(CheckStatus.NOT_APPLICABLE, "no relay test applies")
    relay_attempts = [a for a in attempts if a.kind is AttemptKind.RELAY and a.refusal]
    if relay_attempts and all(transient(a.refusal) for a in relay_attempts):
        return Verdict(
            CheckStatus.INCONCLUSIVE,
            "every relay attempt was refused only temporarily (4xx: greylisting, or the "
            f"relay test domain {audit.relay_test_domain} does not resolve); try "
            "--relay-test-domain with a resolvable domain",
        )
    reason = f"{len(relay_attempts)} relay attempts refused"
    notes = [t.reason for t in tests if t.outcome is SubtestOutcome.DONE and t.reason]
    return Verdict(CheckStatus.PASSED, "; ".join([reason, *notes]))


def _relay_finding(
    subject: str, attempts: list[RcptAttempt], accepted: list[RcptAttempt]
) -> Finding:
    controls = [a for a in attempts if a.kind is AttemptKind.CONTROL and a.rcpt_reply]
    accepts_all = any(c.accepted for c in controls)
    confidence = Confidence.PROBABLE if accepts_all or not controls else Confidence.CONFIRMED
    variants = sorted({a.variant for a in accepted})
    over_tls = sorted({"over TLS" if a.over_tls else "in plaintext" for a in accepted})
    detail = (
        f"{len(accepted)} of {sum(a.kind is AttemptKind.RELAY for a in attempts)} relay "
        f"attempts were accepted ({' and '.join(over_tls)}); variants: {', '.join(variants)}."
    )
    evidence: list[TranscriptLine] = []
    for attempt in accepted[:_MAX_QUOTED_ATTEMPTS]:
        evidence += attempt.evidence
    if accepts_all:
        detail += (
            " The server also accepted an obviously invalid local recipient: it may accept "
            "every recipient and bounce later, so relaying is probable, not proven."
        )
        evidence += next(c for c in controls if c.accepted).evidence
    elif not controls:
        detail += " Whether the server accepts every recipient could not be checked."
    return finding(
        "smtp.open-relay",
        subject,
        detail,
        evidence=transcript_evidence(evidence),
        confidence=confidence,
    )


def accepts_unauthenticated(facts: EndpointFacts) -> Verdict:
    if not facts.observation.scheme.is_submission:
        return Verdict(CheckStatus.NOT_APPLICABLE, "not a submission port")
    test = facts.audit.submission if facts.audit else None
    early = subtest(facts, test, "submission test")
    if early is not None or test is None:
        return early or Verdict(CheckStatus.NOT_TESTED)
    accepted = [a for a in test.attempts if a.accepted]
    if accepted:
        evidence = [line for a in accepted for line in a.evidence]
        detail = (
            "Without AUTH the server accepted "
            + ", ".join(f"RCPT TO:<{a.rcpt_to}>" for a in accepted)
            + (" over TLS." if test.over_tls else " in plaintext.")
        )
        return failed(
            finding(
                "submission.accepts-unauthenticated",
                facts.observation.url,
                detail,
                evidence=transcript_evidence(evidence),
            )
        )
    refusals = [a.refusal for a in test.attempts if a.refusal is not None]
    if not refusals:
        return Verdict(CheckStatus.NOT_TESTED, "no attempt was answered")
    if any(transient(r) for r in refusals):
        return Verdict(CheckStatus.INCONCLUSIVE, "refused only temporarily: " + codes(refusals))
    unusual = [r for r in refusals if not _auth_refusal(r)]
    reason = "refused without AUTH: " + codes(refusals)
    if unusual:
        reason += " (expected 530 / 5.7.0 or 5.7.1)"
    return Verdict(CheckStatus.PASSED, reason)


def _auth_refusal(reply: ServerReply) -> bool:
    return reply.code == 530 or reply.text.startswith(("5.7.0", "5.7.1"))
