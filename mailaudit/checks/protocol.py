"""Judging the protocol behaviour of endpoints: pure functions, no I/O.

`judge_endpoint` takes the probe's `Observation` and the `ProtocolAudit` of one endpoint at one
address and returns findings plus one `CheckRun` per check (passed, failed, not_applicable,
not_tested, inconclusive): the run list is the JUnit view of the audit. `judge_host_ports`
looks at every endpoint of one address together (is there implicit TLS next to the plaintext
port?).

Rules that hold for every check:
- a probe that was refused (421, greeting or EHLO refused) makes every check INCONCLUSIVE and
  adds `endpoint.rate-limited`; never "passed";
- a probe that failed (dead, silent, broken) makes every check NOT_TESTED with the reason and
  adds `endpoint.unreachable` — except a failed STARTTLS upgrade, which is itself a finding;
- a sub-test of the audit that was throttled makes its checks INCONCLUSIVE (and adds
  `endpoint.rate-limited` once); one that failed makes them NOT_TESTED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mailaudit.checks.catalogue import finding
from mailaudit.checks.protocol_banner import disclosed_versions, hostname_problems
from mailaudit.checks.protocol_common import (
    capability_lines,
    failure_text,
    login_capability_lines,
    service_of,
    transcript_evidence,
)
from mailaudit.checks.protocol_host import judge_host, judge_host_ports
from mailaudit.model import (
    AttemptKind,
    AuthProbe,
    CheckRun,
    CheckStatus,
    Confidence,
    EnumerationProbe,
    Finding,
    InjectionProbe,
    Observation,
    Outcome,
    ProbeStatus,
    ProtocolAudit,
    RcptAttempt,
    RcptTest,
    Scheme,
    ServerReply,
    TranscriptLine,
)

__all__ = ["checks_for", "judge_endpoint", "judge_host", "judge_host_ports", "service_of"]

# Evidence stays readable: at most this many accepted relay attempts are quoted.
_MAX_QUOTED_ATTEMPTS = 4
_STARTTLS_STEPS = frozenset({"starttls", "tls-handshake"})


def checks_for(scheme: Scheme) -> tuple[str, ...]:
    """The endpoint checks that apply to an endpoint of this scheme, in report order."""
    family, service = scheme.family, service_of(scheme)
    tls = (
        f"{family}.auth-before-tls",
        f"{service}.starttls-missing",
        f"{service}.starttls-failed",
        f"{family}.starttls-injection",
        f"{family}.starttls-readvertised",
    )
    if family == "smtp":
        return (
            "smtp.open-relay",
            "submission.accepts-unauthenticated",
            *tls,
            "smtp.vrfy-enabled",
            "smtp.expn-enabled",
            "banner.version-disclosed",
            "banner.hostname-mismatch",
        )
    return (*tls, "banner.version-disclosed")


@dataclass
class _Verdict:
    status: CheckStatus
    reason: str | None = None
    findings: list[Finding] = field(default_factory=list)


def judge_endpoint(
    observation: Observation, audit: ProtocolAudit | None
) -> tuple[list[Finding], list[CheckRun]]:
    """Findings and check runs of one endpoint at one address."""
    subject = observation.url
    names = checks_for(observation.scheme)
    if observation.status is ProbeStatus.REFUSED:
        reason = failure_text(observation, "the server refused the session")
        evidence = transcript_evidence(observation.transcript[-4:])
        inconclusive = [CheckRun(n, subject, CheckStatus.INCONCLUSIVE, reason) for n in names]
        rate = finding("endpoint.rate-limited", subject, reason, evidence=evidence)
        return [rate], inconclusive
    if observation.status is ProbeStatus.FAILED and not _upgrade_failed(observation):
        reason = failure_text(observation, "the probe failed")
        evidence = transcript_evidence(observation.transcript[-4:])
        untested = [CheckRun(n, subject, CheckStatus.NOT_TESTED, reason) for n in names]
        dead = finding("endpoint.unreachable", subject, reason, evidence=evidence)
        return [dead], untested

    judge = _Judge(observation, audit)
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for name in names:
        verdict = judge.run(name)
        findings += verdict.findings
        runs.append(
            CheckRun(
                name,
                subject,
                verdict.status,
                verdict.reason,
                tuple(f.id for f in verdict.findings),
            )
        )
    if judge.throttled is not None:
        reason, evidence = judge.throttled
        findings.append(finding("endpoint.rate-limited", subject, reason, evidence=evidence))
    return findings, runs


def _upgrade_failed(observation: Observation) -> bool:
    failure = observation.failure
    return bool(
        observation.status is ProbeStatus.FAILED
        and observation.starttls_offered
        and failure is not None
        and failure.step in _STARTTLS_STEPS
    )


class _Judge:
    """One endpoint's checks; `run(name)` dispatches on the check id's suffix."""

    def __init__(self, observation: Observation, audit: ProtocolAudit | None) -> None:
        self.obs = observation
        self.audit = audit
        self.subject = observation.url
        self.throttled: tuple[str, tuple[str, ...]] | None = None
        self.starttls_failed = _upgrade_failed(observation)

    def run(self, name: str) -> _Verdict:
        check = name.partition(".")[2]
        if self.starttls_failed and check not in (
            "starttls-failed",
            "auth-before-tls",
            "version-disclosed",
            "starttls-missing",
        ):
            return _Verdict(
                CheckStatus.NOT_TESTED, "the STARTTLS upgrade failed, so the audit did not run"
            )
        methods: dict[str, Callable[[str], _Verdict]] = {
            "open-relay": self._open_relay,
            "accepts-unauthenticated": self._accepts_unauthenticated,
            "auth-before-tls": self._auth_before_tls,
            "starttls-missing": self._starttls_missing,
            "starttls-failed": self._starttls_failed,
            "starttls-injection": self._starttls_injection,
            "starttls-readvertised": self._starttls_readvertised,
            "vrfy-enabled": self._vrfy_enabled,
            "expn-enabled": self._expn_enabled,
            "version-disclosed": self._version_disclosed,
            "hostname-mismatch": self._hostname_mismatch,
        }
        return methods[check](name)

    # -------------------------------------------------------------------------- sub-test status
    def _subtest(
        self, test: RcptTest | AuthProbe | InjectionProbe | EnumerationProbe | None, what: str
    ) -> _Verdict | None:
        """The verdict when the sub-test gives none (missing, N/A, failed, throttled)."""
        if self.audit is None or test is None:
            return _Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
        if test.outcome is Outcome.NOT_APPLICABLE:
            return _Verdict(CheckStatus.NOT_APPLICABLE, test.reason)
        if test.outcome is Outcome.FAILED:
            return _Verdict(CheckStatus.NOT_TESTED, f"{what}: {test.reason}")
        if test.outcome is Outcome.INCONCLUSIVE:
            reason = f"{what}: {test.reason}"
            if self.throttled is None:
                self.throttled = (reason, transcript_evidence(test.evidence))
            return _Verdict(CheckStatus.INCONCLUSIVE, reason)
        return None

    # -------------------------------------------------------------------------------- relay
    def _open_relay(self, name: str) -> _Verdict:
        audit = self.audit
        if audit is None:
            return _Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
        tests = [audit.relay, audit.relay_over_tls]
        attempts = [a for t in tests for a in t.attempts]
        accepted = [a for a in attempts if a.kind is AttemptKind.RELAY and a.accepted]
        if accepted:
            return _Verdict(CheckStatus.FAILED, None, [self._relay_finding(attempts, accepted)])
        verdicts = [
            self._subtest(t, "relay test" + (" over TLS" if t.over_tls else "")) for t in tests
        ]
        for status in (CheckStatus.INCONCLUSIVE, CheckStatus.NOT_TESTED):
            for verdict in verdicts:
                if verdict is not None and verdict.status is status:
                    return verdict
        if all(v is not None for v in verdicts):  # both not applicable
            return _Verdict(CheckStatus.NOT_APPLICABLE, "no relay test applies")
        relay_attempts = [a for a in attempts if a.kind is AttemptKind.RELAY and a.refusal]
        if relay_attempts and all(_transient(a.refusal) for a in relay_attempts):
            return _Verdict(
                CheckStatus.INCONCLUSIVE,
                "every relay attempt was refused only temporarily (4xx: greylisting, or the "
                f"relay test domain {audit.relay_test_domain} does not resolve); try "
                "--relay-test-domain with a resolvable domain",
            )
        reason = f"{len(relay_attempts)} relay attempts refused"
        notes = [t.reason for t in tests if t.outcome is Outcome.DONE and t.reason]
        return _Verdict(CheckStatus.PASSED, "; ".join([reason, *notes]))

    def _relay_finding(self, attempts: list[RcptAttempt], accepted: list[RcptAttempt]) -> Finding:
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
            self.subject,
            detail,
            evidence=transcript_evidence(evidence),
            confidence=confidence,
        )

    def _accepts_unauthenticated(self, name: str) -> _Verdict:
        if not self.obs.scheme.is_submission:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "not a submission port")
        test = self.audit.submission if self.audit else None
        early = self._subtest(test, "submission test")
        if early is not None or test is None:
            return early or _Verdict(CheckStatus.NOT_TESTED)
        accepted = [a for a in test.attempts if a.accepted]
        if accepted:
            evidence = [line for a in accepted for line in a.evidence]
            detail = (
                "Without AUTH the server accepted "
                + ", ".join(f"RCPT TO:<{a.rcpt_to}>" for a in accepted)
                + (" over TLS." if test.over_tls else " in plaintext.")
            )
            found = finding(
                "submission.accepts-unauthenticated",
                self.subject,
                detail,
                evidence=transcript_evidence(evidence),
            )
            return _Verdict(CheckStatus.FAILED, None, [found])
        refusals = [a.refusal for a in test.attempts if a.refusal is not None]
        if not refusals:
            return _Verdict(CheckStatus.NOT_TESTED, "no attempt was answered")
        if any(_transient(r) for r in refusals):
            return _Verdict(
                CheckStatus.INCONCLUSIVE,
                "refused only temporarily: " + _codes(refusals),
            )
        unusual = [r for r in refusals if not _auth_refusal(r)]
        reason = "refused without AUTH: " + _codes(refusals)
        if unusual:
            reason += " (expected 530 / 5.7.0 or 5.7.1)"
        return _Verdict(CheckStatus.PASSED, reason)

    # ------------------------------------------------------------------------ login before TLS
    def _auth_before_tls(self, name: str) -> _Verdict:
        obs = self.obs
        if obs.scheme.implicit_tls:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS: no plaintext phase")
        probe = self.audit.auth_before_tls if self.audit else None
        invited = bool(probe and probe.outcome is Outcome.DONE and probe.invited)
        offered = bool(obs.login_offered_before_tls)
        family = obs.scheme.family
        if offered or invited:
            parts = []
            if offered:
                parts.append(
                    {
                        "smtp": "AUTH is advertised before TLS ("
                        + " ".join(obs.auth_mechanisms_before_tls)
                        + ")",
                        "pop3": "CAPA offers USER/SASL login before TLS",
                        "imap": "the capabilities before TLS lack LOGINDISABLED",
                    }[family]
                )
            if invited and probe is not None:
                parts.append(
                    f"the server answered {probe.command} with an invitation to send "
                    "credentials in the clear"
                )
            evidence = transcript_evidence(login_capability_lines(obs))
            if probe is not None and probe.outcome is Outcome.DONE:
                evidence += transcript_evidence(probe.evidence)
            found = finding(
                f"{family}.auth-before-tls",
                self.subject,
                "; ".join(parts) + ".",
                evidence=evidence,
            )
            return _Verdict(CheckStatus.FAILED, None, [found])
        if obs.login_offered_before_tls is None and self.starttls_failed:
            return _Verdict(CheckStatus.NOT_TESTED, "capabilities before TLS unknown")
        early = self._subtest(probe, "login probe")
        if early is not None:
            if early.status is CheckStatus.NOT_TESTED and obs.login_offered_before_tls is False:
                return _Verdict(
                    CheckStatus.PASSED,
                    "no login offered before TLS (the active login probe did not run: "
                    f"{early.reason})",
                )
            return early
        after = obs.auth_mechanisms_after_tls
        return _Verdict(
            CheckStatus.PASSED,
            "no login offered or accepted before TLS"
            + (f"; after TLS: {' '.join(after)}" if after else ""),
        )

    # ------------------------------------------------------------------------------- STARTTLS
    def _starttls_missing(self, name: str) -> _Verdict:
        obs = self.obs
        if obs.scheme.implicit_tls:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
        if obs.starttls_offered:
            return _Verdict(CheckStatus.PASSED, "STARTTLS offered")
        is_mx = obs.scheme is Scheme.SMTP
        found = finding(
            name,
            self.subject,
            "The capabilities before TLS do not include STARTTLS"
            + ("; senders deliver to this MX in the clear." if is_mx else "."),
            evidence=transcript_evidence(capability_lines(obs)),
            context="opportunistic TLS between MTAs (port 25)" if is_mx else None,
        )
        return _Verdict(CheckStatus.FAILED, None, [found])

    def _starttls_failed(self, name: str) -> _Verdict:
        obs = self.obs
        if obs.scheme.implicit_tls:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
        if not obs.starttls_offered:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "STARTTLS not offered")
        if not self.starttls_failed:
            return _Verdict(CheckStatus.PASSED, "STARTTLS upgrade succeeded")
        failure = obs.failure
        assert failure is not None
        found = finding(
            name,
            self.subject,
            f"STARTTLS is advertised but the upgrade failed: {failure.message}",
            evidence=transcript_evidence(obs.transcript[-6:]),
        )
        return _Verdict(CheckStatus.FAILED, None, [found])

    def _starttls_injection(self, name: str) -> _Verdict:
        probe = self.audit.starttls_injection if self.audit else None
        early = self._subtest(probe, "injection test")
        if early is not None or probe is None:
            return early or _Verdict(CheckStatus.NOT_TESTED)
        if probe.answered_after_tls:
            found = finding(
                name,
                self.subject,
                f"The server answered the command {probe.injected!r}, sent in the same packet "
                "as STARTTLS, after the TLS handshake: it executes plaintext commands as if "
                "they had arrived over TLS.",
                evidence=transcript_evidence(probe.evidence),
            )
            return _Verdict(CheckStatus.FAILED, None, [found])
        if probe.answered_before_tls:
            return _Verdict(
                CheckStatus.INCONCLUSIVE,
                "the server answered the pipelined command in the clear before the handshake",
            )
        if probe.starttls_refused:
            return _Verdict(CheckStatus.PASSED, "STARTTLS with a pipelined command was refused")
        if probe.handshake_failed:
            return _Verdict(
                CheckStatus.PASSED,
                "the injected bytes broke the TLS handshake: they were not executed",
            )
        return _Verdict(CheckStatus.PASSED, "the injected command was discarded")

    def _starttls_readvertised(self, name: str) -> _Verdict:
        obs = self.obs
        if obs.scheme.implicit_tls:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "implicit TLS")
        if obs.starttls_offered_after_tls is None:
            return _Verdict(CheckStatus.NOT_APPLICABLE, "no STARTTLS upgrade")
        if not obs.starttls_offered_after_tls:
            return _Verdict(CheckStatus.PASSED, "STARTTLS not offered again after TLS")
        found = finding(
            name,
            self.subject,
            "The capabilities after the TLS handshake still offer STARTTLS.",
            evidence=tuple(f"capability after TLS: {c}" for c in obs.capabilities_after_tls[:12]),
        )
        return _Verdict(CheckStatus.FAILED, None, [found])

    # ----------------------------------------------------------------------------- VRFY / EXPN
    def _vrfy_enabled(self, name: str) -> _Verdict:
        return self._enumeration(name, self.audit.vrfy if self.audit else None, expn=False)

    def _expn_enabled(self, name: str) -> _Verdict:
        return self._enumeration(name, self.audit.expn if self.audit else None, expn=True)

    def _enumeration(self, name: str, probe: EnumerationProbe | None, *, expn: bool) -> _Verdict:
        early = self._subtest(probe, f"{'EXPN' if expn else 'VRFY'} test")
        if early is not None or probe is None:
            return early or _Verdict(CheckStatus.NOT_TESTED)
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
                evidence = [f"C: {pair.known_command}", _reply_line(known)]
                if unknown is not None:
                    evidence += [f"C: {pair.unknown_command}", _reply_line(unknown)]
                return _Verdict(
                    CheckStatus.FAILED,
                    None,
                    [finding(name, self.subject, detail, evidence=evidence)],
                )
        replies = [r for p in probe.pairs for r in (p.known_reply, p.unknown_reply) if r]
        if any(_transient(r) for r in replies):
            return _Verdict(
                CheckStatus.INCONCLUSIVE, "answered only temporarily: " + _codes(replies)
            )
        return _Verdict(CheckStatus.PASSED, "answers reveal nothing: " + _codes(replies))

    # ---------------------------------------------------------------------------------- banner
    def _version_disclosed(self, name: str) -> _Verdict:
        obs = self.obs
        texts = [obs.greeting] if obs.greeting else []
        texts += [c for c in (*obs.capabilities_before_tls, *obs.capabilities_after_tls)
                  if c.upper().startswith("IMPLEMENTATION")]  # fmt: skip
        if not texts:
            return _Verdict(CheckStatus.NOT_TESTED, "no greeting seen")
        found = disclosed_versions(texts)
        if not found:
            return _Verdict(CheckStatus.PASSED, "no software version in the greeting")
        detail = "The server announces " + ", ".join(f"{p} {v}" for p, v, _ in found) + "."
        evidence = sorted({f"S: {text}" for _, _, text in found})
        return _Verdict(
            CheckStatus.FAILED, None, [finding(name, self.subject, detail, evidence=evidence)]
        )

    def _hostname_mismatch(self, name: str) -> _Verdict:
        facts = self.audit.names if self.audit else None
        if self.audit is None or facts is None:
            return _Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
        if facts.outcome is Outcome.NOT_APPLICABLE:
            return _Verdict(CheckStatus.NOT_APPLICABLE, facts.reason)
        if facts.outcome is not Outcome.DONE:
            return _Verdict(CheckStatus.NOT_TESTED, facts.reason)
        obs = self.obs
        cert = obs.tls.certificate if obs.tls else None
        greeting = obs.greeting_name
        problems = hostname_problems(
            greeting_name=greeting,
            address=obs.address,
            ptr_names=facts.ptr_names,
            forward=facts.forward,
            certificate_names=cert.dns_names if cert else None,
        )
        if not problems:
            return _Verdict(
                CheckStatus.PASSED, f"{greeting} agrees with PTR, forward DNS and certificate"
            )
        text = "; ".join(problems)
        detail = text[:1].upper() + text[1:] + "."
        evidence = [f"S: {obs.greeting.splitlines()[0]}"] if obs.greeting else []
        evidence += transcript_evidence(facts.evidence)
        if cert is not None:
            evidence.append(f"*: certificate names: {', '.join(cert.dns_names) or '(none)'}")
        return _Verdict(
            CheckStatus.FAILED, None, [finding(name, self.subject, detail, evidence=evidence)]
        )


# ---------------------------------------------------------------------------------- helpers
def _transient(reply: ServerReply | None) -> bool:
    return reply is not None and reply.is_transient


def _auth_refusal(reply: ServerReply) -> bool:
    return reply.code == 530 or reply.text.startswith(("5.7.0", "5.7.1"))


def _codes(replies: Iterable[ServerReply]) -> str:
    seen: dict[str, None] = {}
    for r in replies:
        status = r.text.split(" ", 1)[0] if re.match(r"[245]\.\d", r.text) else ""
        seen.setdefault(f"{r.code} {status}".strip(), None)
    return ", ".join(seen)


def _reply_line(reply: ServerReply) -> str:
    first = reply.text.split("\n")[0]
    return f"S: {reply.code} {first}".rstrip()
