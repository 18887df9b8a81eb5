"""`imap.logindisabled-missing` / `pop3.user-advertised-before-tls` (the registry's proof check)
on constructed facts: the refusal must be shown, not assumed."""

from __future__ import annotations

import pytest

from mailaudit.model import (
    AuthProbe,
    CheckRun,
    CheckStatus,
    Direction,
    Finding,
    Outcome,
    Scheme,
    Severity,
    TranscriptLine,
)
from tests.judging import judge_endpoint
from tests.unit.test_protocol_checks import audit, observation

C, S = Direction.CLIENT, Direction.SERVER
IMAP_REFUSAL = AuthProbe(
    Outcome.DONE,
    evidence=(
        TranscriptLine(C, "a1 AUTHENTICATE PLAIN"),
        TranscriptLine(S, "a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed."),
    ),
    command="AUTHENTICATE PLAIN",
    invited=False,
    refusal_code="PRIVACYREQUIRED",
)
POP3_REFUSAL = AuthProbe(
    Outcome.DONE,
    evidence=(TranscriptLine(C, "USER probe"), TranscriptLine(S, "-ERR [AUTH] Plaintext denied")),
    command="USER probe",
    invited=False,
    refusal_code="AUTH",
)


def run(runs: list[CheckRun], check: str) -> CheckRun:
    return next(r for r in runs if r.check == check)


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


@pytest.mark.parametrize(
    ("scheme", "probe", "finding_id", "severity"),
    [
        (Scheme.IMAP, IMAP_REFUSAL, "imap.logindisabled-missing", Severity.MEDIUM),
        (Scheme.POP3, POP3_REFUSAL, "pop3.user-advertised-before-tls", Severity.LOW),
    ],
)
def test_advertised_but_refused_login_is_the_new_finding_not_auth_before_tls(
    scheme: Scheme, probe: AuthProbe, finding_id: str, severity: Severity
) -> None:
    # Given login advertised before TLS (no LOGINDISABLED / USER listed) and refused there
    obs = observation(scheme, login_offered_before_tls=True)
    # When judged
    findings, runs = judge_endpoint(obs, audit(auth_before_tls=probe))
    # Then the new check fails; login-before-TLS passes and says where it went
    found = next(f for f in findings if f.id == finding_id)
    assert found.severity is severity
    assert f"S: {probe.evidence[-1].text}" in found.evidence
    assert run(runs, finding_id).status is CheckStatus.FAILED
    family = scheme.family
    assert f"{family}.auth-before-tls" not in ids(findings)
    before = run(runs, f"{family}.auth-before-tls")
    assert before.status is CheckStatus.PASSED
    assert finding_id in (before.reason or "")


def test_an_imap_refusal_without_privacyrequired_proves_nothing() -> None:
    # AUTHENTICATE PLAIN refused for another reason (the mechanism): LOGIN may still work.
    probe = AuthProbe(Outcome.DONE, command="AUTHENTICATE PLAIN", invited=False)
    findings, runs = judge_endpoint(
        observation(Scheme.IMAP, login_offered_before_tls=True), audit(auth_before_tls=probe)
    )
    assert "imap.auth-before-tls" in ids(findings)
    assert run(runs, "imap.logindisabled-missing").status is CheckStatus.NOT_APPLICABLE


def test_a_pop3_refusal_with_sasl_before_tls_proves_nothing() -> None:
    obs = observation(
        Scheme.POP3, login_offered_before_tls=True, auth_mechanisms_before_tls=("USER", "PLAIN")
    )
    findings, runs = judge_endpoint(obs, audit(auth_before_tls=POP3_REFUSAL))
    assert "pop3.auth-before-tls" in ids(findings)
    assert run(runs, "pop3.user-advertised-before-tls").status is CheckStatus.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("scheme", "finding_id"),
    [(Scheme.IMAP, "imap.logindisabled-missing"), (Scheme.POP3, "pop3.user-advertised-before-tls")],
)
def test_announced_refusal_passes_accepted_login_is_not_this_check(
    scheme: Scheme, finding_id: str
) -> None:
    _, announced = judge_endpoint(
        observation(scheme, login_offered_before_tls=False), audit(auth_before_tls=IMAP_REFUSAL)
    )
    assert run(announced, finding_id).status is CheckStatus.PASSED
    invited = AuthProbe(Outcome.DONE, command="USER probe", invited=True)
    findings, accepted = judge_endpoint(
        observation(scheme, login_offered_before_tls=True), audit(auth_before_tls=invited)
    )
    assert run(accepted, finding_id).status is CheckStatus.NOT_APPLICABLE
    assert f"{scheme.family}.auth-before-tls" in ids(findings)


def test_not_tested_inconclusive_and_not_applicable_paths() -> None:
    offered = observation(Scheme.IMAP, login_offered_before_tls=True)
    _, failed = judge_endpoint(offered, audit(auth_before_tls=AuthProbe(Outcome.FAILED, "timeout")))
    assert run(failed, "imap.logindisabled-missing").status is CheckStatus.NOT_TESTED
    throttled = AuthProbe(Outcome.INCONCLUSIVE, "421 too many connections")
    findings, runs = judge_endpoint(offered, audit(auth_before_tls=throttled))
    assert run(runs, "imap.logindisabled-missing").status is CheckStatus.INCONCLUSIVE
    assert [f.id for f in findings].count("endpoint.rate-limited") == 1
    _, implicit = judge_endpoint(observation(Scheme.IMAPS), audit())
    assert run(implicit, "imap.logindisabled-missing").status is CheckStatus.NOT_APPLICABLE
    _, smtp = judge_endpoint(observation(Scheme.SMTP), audit())
    proof = ("imap.logindisabled-missing", "pop3.user-advertised-before-tls")
    assert not [r for r in smtp if r.check in proof]
