"""MTA-STS joined with the MX probes: what a sender enforcing the policy would refuse."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailaudit.checks.facts import DomainAuditFacts
from mailaudit.checks.judge import judge_domain_audit
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    Finding,
    Observation,
    PolicyObservation,
    ProbeFailure,
    ProbeStatus,
    Scheme,
    Severity,
    TlsSession,
)
from tests.unit.test_policy_judge import MX, good, mtasts_facts

VALID = TlsSession("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, True, None, None)
UNTRUSTED = TlsSession(
    "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, False, "unable to get local issuer certificate", None
)


def judge_mx_certificates(
    policy: PolicyObservation, observations: list[Observation]
) -> tuple[list[Finding], CheckRun]:
    """The registry's domain-audit scope with only the MTA-STS facts (discovery did not run)."""
    out = judge_domain_audit(DomainAuditFacts(policy.domain, policy, None, tuple(observations)))
    (run,) = out.runs
    return list(out.findings), run


def port25(tls: TlsSession | None, **changes: object) -> Observation:
    base = Observation(
        url=f"smtp://{MX}",
        scheme=Scheme.SMTP,
        host=MX,
        address="127.0.0.10",
        port=25,
        status=ProbeStatus.COMPLETED,
        starttls_offered=tls is not None,
        tls=tls,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_valid_certificate_passes() -> None:
    findings, run = judge_mx_certificates(good(), [port25(VALID)])

    assert findings == []
    assert run.status is CheckStatus.PASSED


@pytest.mark.parametrize(
    ("mode", "severity"), [("enforce", Severity.HIGH), ("testing", Severity.MEDIUM)]
)
def test_an_untrusted_mx_certificate_breaks_delivery_under_the_policy(
    mode: str, severity: Severity
) -> None:
    policy = good(
        mtasts=mtasts_facts(f"version: STSv1\nmode: {mode}\nmx: *.good.test\nmax_age: 604800\n")
    )

    findings, run = judge_mx_certificates(policy, [port25(UNTRUSTED)])

    assert [f.id for f in findings] == ["mtasts.mx-certificate-invalid"]
    assert findings[0].severity is severity
    assert "unable to get local issuer certificate" in findings[0].detail
    assert run.status is CheckStatus.FAILED


def test_no_starttls_at_an_mx_under_the_policy() -> None:
    findings, _ = judge_mx_certificates(good(), [port25(None)])

    assert [f.id for f in findings] == ["mtasts.mx-no-starttls"]


def test_unprobed_or_dead_mx_is_not_tested_never_passed() -> None:
    dead = port25(
        None,
        status=ProbeStatus.FAILED,
        failure=ProbeFailure("timeout", "greeting: no answer", "greeting"),
    )

    _, none_run = judge_mx_certificates(good(), [])
    _, dead_run = judge_mx_certificates(good(), [dead])

    assert none_run.status is CheckStatus.NOT_TESTED
    assert dead_run.status is CheckStatus.NOT_TESTED
    assert dead_run.reason is not None
    assert "no answer" in dead_run.reason


def test_without_a_policy_in_force_it_does_not_apply() -> None:
    policy = good(
        mtasts=mtasts_facts("version: STSv1\nmode: none\nmx: *.good.test\nmax_age: 604800\n")
    )

    findings, run = judge_mx_certificates(policy, [port25(UNTRUSTED)])

    assert findings == []
    assert run.status is CheckStatus.NOT_APPLICABLE
