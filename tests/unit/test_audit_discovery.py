from __future__ import annotations

from mailaudit.checks.audit_discovery import judge_discovery_in_audit
from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import DomainAuditFacts
from mailaudit.model import CheckStatus, Finding, Observation, ProbeStatus, Scheme, Severity


def facts(findings: tuple[Finding, ...], *, client_endpoints_found: bool) -> DomainAuditFacts:
    scheme = Scheme.IMAPS if client_endpoints_found else Scheme.SMTP
    answered = Observation(
        url=f"{scheme.value}://mail.x.test",
        scheme=scheme,
        host="mail.x.test",
        address="127.0.0.9",
        port=25,
        status=ProbeStatus.COMPLETED,
    )
    return DomainAuditFacts("x.test", None, findings, (answered,))


def test_no_settings_is_low_when_clients_can_guess_and_info_for_mx_only_domains() -> None:
    no_settings = finding("discovery.no-settings", "x.test", "no working incoming setting found")
    conflict = finding(
        "discovery.source-conflict", "x.test", "autoconfig says 465 SSL, plain there"
    )
    assert no_settings.severity is Severity.MEDIUM

    guessable_out = judge_discovery_in_audit(
        facts((no_settings, conflict), client_endpoints_found=True)
    )
    mx_only_out = judge_discovery_in_audit(facts((no_settings,), client_endpoints_found=False))
    guessable, mx_only = guessable_out.findings, mx_only_out.findings

    assert [f.severity for f in guessable] == [Severity.LOW, conflict.severity]
    assert guessable[0].context is not None
    assert "guessable" in guessable[0].context
    assert mx_only[0].severity is Severity.INFO
    # other discovery findings pass through unchanged
    assert guessable[1] == conflict


def test_discovery_in_an_audit_records_its_run() -> None:
    # Given discovery found nothing for an MX-only domain, and a source conflict elsewhere
    no_settings = finding("discovery.no-settings", "x.test", "no working incoming setting found")
    conflict = finding("discovery.source-conflict", "x.test", "autoconfig says 465 SSL")
    # When judged in an audit
    quiet = judge_discovery_in_audit(facts((no_settings,), client_endpoints_found=False))
    loud = judge_discovery_in_audit(facts((conflict,), client_endpoints_found=True))
    skipped = judge_discovery_in_audit(
        DomainAuditFacts("x.test", None, None, ())  # discovery did not run
    )
    # Then each records one run for the domain
    # (an MX-only domain has no client service to judge: not applicable, never "tested")
    assert [(r.check, r.subject, r.status) for r in quiet.runs] == [
        ("discovery.in-audit", "x.test", CheckStatus.NOT_APPLICABLE)
    ]
    guessed = finding("discovery.guessed-only", "x.test", "found by guessing")
    guessable = judge_discovery_in_audit(facts((guessed,), client_endpoints_found=True))
    assert guessable.runs[0].status is CheckStatus.FAILED  # low: fails, as every check does
    assert loud.runs[0].status is CheckStatus.FAILED
    assert loud.runs[0].finding_ids == ("discovery.source-conflict",)
    assert skipped.runs == ()
    assert skipped.findings == ()
