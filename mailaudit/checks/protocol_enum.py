"""`smtp.vrfy-enabled` and `smtp.expn-enabled`: does the server tell which addresses exist?
Pure: judged from the VRFY/EXPN pairs of the protocol audit."""

from __future__ import annotations

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_verdict import Verdict, codes, failed, reply_line, subtest
from mailaudit.checks.protocol_verdict import transient as _transient
from mailaudit.model import CheckStatus, EnumerationProbe

__all__ = ["expn_enabled", "vrfy_enabled"]


def vrfy_enabled(facts: EndpointFacts) -> Verdict:
    return _enumeration(facts, facts.audit.vrfy if facts.audit else None, expn=False)


def expn_enabled(facts: EndpointFacts) -> Verdict:
    return _enumeration(facts, facts.audit.expn if facts.audit else None, expn=True)


def _enumeration(facts: EndpointFacts, probe: EnumerationProbe | None, *, expn: bool) -> Verdict:
    name = "smtp.expn-enabled" if expn else "smtp.vrfy-enabled"
    early = subtest(facts, probe, f"{'EXPN' if expn else 'VRFY'} test")
    if early is not None or probe is None:
        return early or Verdict(CheckStatus.NOT_TESTED)
    for pair in probe.pairs:
        known, unknown = pair.known_reply, pair.unknown_reply
        if known is None or not known.is_positive:
            continue
        # RFC 5321 §3.5.3: 252 means "cannot verify"; it only enumerates when a name that
        # does not exist gets a different answer (Postfix answers 252 for known users only).
        # EXPN's 250 lists members whatever the second answer.
        # A policy refusal of the unknown name (5.7.x, "relay access denied") says nothing
        # about whether the mailbox exists.
        differs = unknown is None or (
            unknown.code != known.code and not unknown.text.startswith("5.7.")
        )
        if differs or (expn and known.code in (250, 251)):
            detail = (
                f"{pair.known_command} was answered {known.code}"
                + (f", {pair.unknown_command} {unknown.code}" if unknown else "")
                + (
                    ": the server discloses mailbox and list members."
                    if expn
                    else ": the server tells which addresses exist."
                )
            )
            evidence = [f"C: {pair.known_command}", reply_line(known)]
            if unknown is not None:
                evidence += [f"C: {pair.unknown_command}", reply_line(unknown)]
            return failed(finding(name, facts.observation.url, detail, evidence=evidence))
    replies = [r for p in probe.pairs for r in (p.known_reply, p.unknown_reply) if r]
    if any(_transient(r) for r in replies):
        return Verdict(CheckStatus.INCONCLUSIVE, "answered only temporarily: " + codes(replies))
    return Verdict(CheckStatus.PASSED, "answers reveal nothing: " + codes(replies))
