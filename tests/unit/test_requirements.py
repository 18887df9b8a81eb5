from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.checks.requirements import apply_requirements
from mailaudit.checks.requirements_file import RequirementsError, parse_requirements
from mailaudit.model import (
    CheckStatus,
    CipherSuite,
    Finding,
    ProtocolScan,
    Report,
    Severity,
    TlsScan,
    TlsSession,
    TlsTarget,
    TlsVersion,
)
from mailaudit.report.exit_codes import EXIT_FINDINGS, EXIT_NOT_TESTED, exit_code
from mailaudit.report.requirements import apply_requirements_file, load_requirements
from tests.unit.report_samples import clean_report, relay_report

TODAY = dt.date(2026, 11, 27)

WAIVE_RELAY = """
[[waiver]]
id = "smtp.open-relay"
subject = "smtp://mail.relay.test"
reason = "lab server, relays on purpose"
expires = 2027-01-01
"""


def _finding(report: Report, finding_id: str, subject: str | None = None) -> Finding:
    return next(
        f for f in report.all_findings() if f.id == finding_id and subject in (None, f.subject)
    )


def test_catalogue_has_the_policy_ids() -> None:
    for finding_id in (
        "policy.endpoint-missing",
        "policy.requirement-failed",
        "policy.waiver-expired",
    ):
        assert finding_id in CATALOGUE


def test_active_waiver_marks_the_finding_waived_and_stops_it_failing_ci() -> None:
    report = relay_report()
    assert exit_code(report, Severity.CRITICAL) == EXIT_FINDINGS

    waived = apply_requirements(report, parse_requirements(WAIVE_RELAY), TODAY)

    relay = _finding(waived, "smtp.open-relay")
    assert relay.waived == "lab server, relays on purpose (waiver until 2027-01-01)"
    assert len(waived.all_findings()) == len(report.all_findings())
    assert exit_code(waived, Severity.CRITICAL) == EXIT_NOT_TESTED
    assert exit_code(waived, Severity.MEDIUM) == EXIT_FINDINGS
    assert waived.extra["policy"] == "mailaudit.toml"


def test_expired_waiver_stops_waiving_and_is_reported() -> None:
    on_expiry_day = apply_requirements(
        relay_report(), parse_requirements(WAIVE_RELAY), dt.date(2027, 1, 1)
    )

    assert _finding(on_expiry_day, "smtp.open-relay").waived is None
    expired = _finding(on_expiry_day, "policy.waiver-expired")
    assert expired.subject == "smtp://mail.relay.test"
    assert "expired on 2027-01-01" in expired.detail
    assert exit_code(on_expiry_day, Severity.CRITICAL) == EXIT_FINDINGS
    # It sits on the endpoint it named.
    mx = on_expiry_day.endpoint("127.0.0.20:25")
    assert "policy.waiver-expired" in [f.id for f in mx.findings]


def test_waiver_without_subject_covers_every_subject() -> None:
    policy = parse_requirements(
        """
        [[waiver]]
        id = "endpoint.unreachable"
        reason = "staging is half deployed"
        expires = "2026-12-31"
        """
    )

    waived = apply_requirements(relay_report(), policy, TODAY)

    assert _finding(waived, "endpoint.unreachable").waived
    assert _finding(waived, "smtp.open-relay").waived is None


def test_waiver_for_another_subject_waives_nothing() -> None:
    policy = parse_requirements(
        WAIVE_RELAY.replace("smtp://mail.relay.test", "smtp://mail.other.test")
    )

    waived = apply_requirements(relay_report(), policy, TODAY)

    assert all(f.waived is None for f in waived.all_findings())


def test_missing_required_endpoint_is_a_finding_on_its_domain() -> None:
    policy = parse_requirements(
        """
        [[require]]
        url = "smtps://smtp.relay.test"
        """
    )

    result = apply_requirements(relay_report(), policy, TODAY)

    domain = result.domains[0]
    assert [f.id for f in domain.findings][-1] == "policy.endpoint-missing"
    assert domain.findings[-1].subject == "smtps://smtp.relay.test"
    assert domain.checks[-1].status is CheckStatus.FAILED
    assert exit_code(result, Severity.HIGH) == EXIT_FINDINGS


def test_required_endpoint_that_does_not_answer_is_missing() -> None:
    policy = parse_requirements(
        '[[require]]\nurl = "submission://smtp.relay.test"\nmin_tls = "TLSv1.2"\n'
    )

    result = apply_requirements(relay_report(), policy, TODAY)
    submission = result.endpoint("127.0.0.21:587")

    assert "policy.endpoint-missing" in [f.id for f in submission.findings]
    statuses = {c.check: c.status for c in submission.checks if c.check.startswith("policy.")}
    assert statuses == {
        "policy.endpoint-present": CheckStatus.FAILED,
        "policy.min-tls": CheckStatus.NOT_TESTED,
    }


def test_requirements_pass_on_a_good_endpoint() -> None:
    policy = parse_requirements(
        """
        [[require]]
        url = "smtp://mail.good.test"
        min_tls = "1.2"
        auth_after_tls_only = true
        valid_certificate = true
        """
    )

    result = apply_requirements(clean_report(), policy, TODAY)
    mx = result.endpoints[0]

    assert [f.id for f in mx.findings] == []
    assert {c.check: c.status for c in mx.checks if c.check.startswith("policy.")} == {
        "policy.endpoint-present": CheckStatus.PASSED,
        "policy.min-tls": CheckStatus.PASSED,
        "policy.auth-after-tls-only": CheckStatus.PASSED,
        "policy.valid-certificate": CheckStatus.PASSED,
    }


def test_requirements_fail_with_findings() -> None:
    # Given an endpoint on TLS 1.1 with an invalid certificate that offers login before TLS
    report = clean_report()
    mx = report.endpoints[0]
    tls = mx.observation.tls
    assert isinstance(tls, TlsSession)
    observation = dataclasses.replace(
        mx.observation,
        tls=dataclasses.replace(
            tls, version="TLSv1.1", certificate_valid=False, verify_error="expired"
        ),
        login_offered_before_tls=True,
        capabilities_before_tls=("AUTH PLAIN LOGIN", "STARTTLS"),
    )
    report = dataclasses.replace(
        report, endpoints=(dataclasses.replace(mx, observation=observation),)
    )
    policy = parse_requirements(
        '[[require]]\nurl = "smtp://mail.good.test"\nmin_tls = "TLSv1.2"\n'
        "auth_after_tls_only = true\nvalid_certificate = true\n"
    )

    # When the policy is applied
    result = apply_requirements(report, policy, TODAY)

    # Then each requirement failed with its own finding and check run
    details = [f.detail for f in result.endpoints[0].findings]
    assert len(details) == 3
    assert "the endpoint accepts TLSv1.1" in details[0]
    assert "offers login before TLS" in details[1]
    assert "does not validate: expired" in details[2]
    assert all(f.id == "policy.requirement-failed" for f in result.endpoints[0].findings)
    assert exit_code(result, Severity.HIGH) == EXIT_FINDINGS


def test_min_tls_uses_the_tls_scan_when_the_report_has_one() -> None:
    # Given a report whose TLS scan found TLS 1.0 accepted besides 1.3
    clean = clean_report()
    endpoint = clean.endpoints[0]
    suite = CipherSuite("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 128, anonymous=False)
    scan = TlsScan(
        TlsTarget(
            endpoint.observation.host,
            endpoint.address or "",
            endpoint.port,
            endpoint.observation.scheme,
        ),
        connected=True,
        protocols=(
            ProtocolScan(TlsVersion.TLS_1_3, (suite,)),
            ProtocolScan(TlsVersion.TLS_1_0, (suite,)),
        ),
    )
    report = dataclasses.replace(
        clean, endpoints=(dataclasses.replace(endpoint, tls_scan=scan), *clean.endpoints[1:])
    )
    result = apply_requirements(
        report,
        parse_requirements('[[require]]\nurl = "smtp://mail.good.test"\nmin_tls = "TLSv1.2"\n'),
        TODAY,
    )

    assert "accepts TLSv1." in result.endpoints[0].findings[0].detail
    assert result.endpoints[0].findings[0].evidence == ("TLS versions seen: TLSv1, TLSv1.3",)


def test_required_endpoint_in_a_report_without_domains() -> None:
    report = dataclasses.replace(clean_report(), domains=())
    policy = parse_requirements('[[require]]\nurl = "imaps://imap.staging.test"\n')

    result = apply_requirements(report, policy, TODAY)

    assert [d.domain for d in result.domains] == ["imap.staging.test"]
    assert result.domains[0].findings[0].id == "policy.endpoint-missing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[require]]\nurl = 3\n", "'url' must be a str"),
        ('[[require]]\nurl = "gopher://x"\n', "unknown scheme"),
        ('[[require]]\nurl = "smtp://x"\nmin_tls = "TLSv9"\n', "min_tls must be one of"),
        ('[[require]]\nurl = "smtp://x"\nauth_after_tls_only = "yes"\n', "must be a bool"),
        ('[[require]]\nurl = "smtp://x"\nmin_tsl = "TLSv1.2"\n', "unknown key.*min_tsl"),
        ('[[waiver]]\nid = "smtp.open-relay"\nreason = "x"\n', "'expires' is required"),
        (
            '[[waiver]]\nid = "smtp.open-rely"\nreason = "x"\nexpires = 2027-01-01\n',
            "unknown finding id",
        ),
        (
            '[[waiver]]\nid = "smtp.open-relay"\nreason = " "\nexpires = 2027-01-01\n',
            "must say why",
        ),
        ('[[waiver]]\nid = "smtp.open-relay"\nreason = "x"\nexpires = "soon"\n', "a date such as"),
        ('[waiver]\nid = "x"\n', "array of tables"),
        ("[[waivers]]\n", "unknown key"),
        ("[[waiver]\n", "not valid TOML"),
    ],
)
def test_invalid_policies_are_rejected_with_the_place(text: str, message: str) -> None:
    with pytest.raises(RequirementsError, match=message):
        parse_requirements(text, source="p.toml")


def test_load_requirements_file(tmp_path: Path) -> None:
    path = tmp_path / "mailaudit.toml"
    path.write_text(WAIVE_RELAY, encoding="utf-8")

    policy = load_requirements(path)

    assert policy.source == str(path)
    assert policy.waivers[0].expires == dt.date(2027, 1, 1)
    assert apply_requirements_file(relay_report(), None, today=TODAY) == relay_report()
    assert apply_requirements_file(relay_report(), path, today=TODAY).extra["policy"] == str(path)
    with pytest.raises(RequirementsError, match=r"nothing\.toml"):
        load_requirements(tmp_path / "nothing.toml")


def test_apply_requirements_leaves_the_input_unchanged() -> None:
    report = relay_report()

    apply_requirements(report, parse_requirements(WAIVE_RELAY), TODAY)

    assert report == relay_report()
