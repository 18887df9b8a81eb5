"""`audit` end to end against the lab: the findings each scenario must (and must not) give."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailaudit.audit.runner import AuditOptions, run_audit
from mailaudit.audit.targets import Role
from mailaudit.context import Context
from mailaudit.model import CheckStatus, Endpoint, Report, Severity

# The TLS scan and the DNS policy have their own lab tests; leaving them out keeps these quick.
PROTOCOL_ONLY = AuditOptions(tls=False, policy=False)


def ids(report: Report) -> set[str]:
    return {f.id for f in report.all_findings()}


async def test_relay_test_is_an_open_relay_with_the_accepted_rcpt_as_evidence(
    lab_ctx: Context,
) -> None:
    report = await run_audit(lab_ctx, ["relay.test"], PROTOCOL_ONLY)

    relay = [f for f in report.all_findings() if f.id == "smtp.open-relay"]
    assert relay, ids(report)
    assert relay[0].severity is Severity.CRITICAL
    assert any(line.startswith("C: RCPT TO:") for line in relay[0].evidence)
    assert any(line.startswith("S: 250") for line in relay[0].evidence)


async def test_good_test_has_nothing_high_or_critical(lab_ctx: Context) -> None:
    report = await run_audit(lab_ctx, ["good.test"], PROTOCOL_ONLY)

    serious = [f for f in report.all_findings() if f.severity.at_least(Severity.HIGH)]
    assert serious == []
    # and it really was audited: the MX and the client ports are there, relay check passed
    urls = {e.url for e in report.endpoints}
    assert {
        "smtp://mail.good.test",
        "submission://smtp.good.test",
        "imaps://imap.good.test",
    } <= urls
    mx = next(e for e in report.endpoints if e.url == "smtp://mail.good.test")
    assert any(c.check == "smtp.open-relay" and c.status is CheckStatus.PASSED for c in mx.checks)


async def test_plain_test_offers_login_before_tls_on_smtp_pop3_imap(lab_ctx: Context) -> None:
    report = await run_audit(lab_ctx, ["plain.test"], PROTOCOL_ONLY)

    found = ids(report)
    assert {"smtp.auth-before-tls", "pop3.auth-before-tls", "imap.auth-before-tls"} <= found, found
    # the scheme naming puts submission's finding under smtp.*; all three are high
    for f in report.all_findings():
        if f.id.endswith("auth-before-tls"):
            assert f.severity is Severity.HIGH


async def test_dead_test_ends_within_budget_and_says_why(fast_lab_ctx: Context) -> None:
    report = await run_audit(fast_lab_ctx, ["dead.test"], PROTOCOL_ONLY)

    # Given mail.dead.test accepts and never speaks, its MX endpoint is there, not tested
    mx = next(e for e in report.endpoints if e.url == "smtp://mail.dead.test")
    assert mx.observation.failure is not None
    assert mx.observation.failure.reason == "timeout"
    assert all(c.status is CheckStatus.NOT_TESTED for c in mx.checks)
    assert any(c.reason and "timeout" in c.reason for c in mx.checks)
    assert "endpoint.unreachable" in {f.id for f in mx.findings}
    # and every endpoint stayed inside its budget
    budget_ms = fast_lab_ctx.settings.timeouts.endpoint_budget_s * 1000
    assert all(e.observation.elapsed_ms <= budget_ms + 500 for e in report.endpoints)


async def test_a_host_shared_by_names_is_probed_once(lab_ctx: Context) -> None:
    # smtp.good.test and mail.good.test share 127.0.0.10: port 25 of both is one endpoint
    extra = (Endpoint.parse("smtp://smtp.good.test"),)
    report = await run_audit(
        lab_ctx,
        ["good.test"],
        AuditOptions(
            tls=False, policy=False, discovery=False, protocol_audit=False, extra_endpoints=extra
        ),
    )

    port25 = [e for e in report.endpoints if e.port == 25]
    assert len(port25) == 1
    assert set(port25[0].names) >= {"mail.good.test", "smtp.good.test"}
    assert set(port25[0].roles) >= {Role.MX.value, Role.EXPLICIT.value}


def test_no_probe_ever_delivers_or_queues_a_message(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    log_path = Path(lab_env["MAILAUDIT_LAB_MAILLOG"])
    before = log_path.stat().st_size

    # Given every relay-capable scenario audited
    asyncio.run(run_audit(lab_ctx, ["relay.test", "good.test", "plain.test"], PROTOCOL_ONLY))

    # Then Postfix took no message in: no cleanup (a message body), no delivery status
    with log_path.open(errors="replace") as log:
        log.seek(before)
        written = log.read()
    assert "RCPT" in written or "connect from" in written  # the log did see our sessions
    assert "postfix/cleanup" not in written
    assert "status=" not in written
    # and the queue is empty
    config = lab_env["MAILAUDIT_LAB_POSTFIX_CONFIG"]
    queue = subprocess.run(
        ["postqueue", "-c", config, "-p"], capture_output=True, text=True, check=False
    )
    assert "Mail queue is empty" in queue.stdout, queue.stdout + queue.stderr


def test_cli_audit_json_and_fail_on(lab_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **lab_env}
    out = tmp_path / "relay.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailaudit",
            "audit",
            "relay.test",
            "--skip",
            "tls",
            "--skip",
            "policy",
            "--format",
            "json",
            "--json",
            str(out),
            "--fail-on",
            "critical",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert '"smtp.open-relay"' in result.stdout
    assert out.read_text() == result.stdout


@pytest.mark.parametrize("domain", ["good.test"])
def test_cli_audit_usage_error(lab_env: dict[str, str], domain: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailaudit", "audit", domain, "--endpoint", "gopher://x"],
        capture_output=True,
        text=True,
        env={**os.environ, **lab_env},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2


async def test_an_endpoint_named_alone_is_reported_under_its_host(lab_ctx: Context) -> None:
    # Given a CI job that names one staging endpoint and no domain
    extra = (Endpoint.parse("submission://smtp.good.test:587"),)
    report = await run_audit(lab_ctx, [], AuditOptions(tls=False, extra_endpoints=extra))

    # Then it is audited and listed under its host, with no MX, discovery or DNS policy
    (domain,) = report.domains
    assert domain.domain == "smtp.good.test"
    assert domain.policy is None
    assert domain.discovery is None
    (endpoint,) = (report.endpoint(i) for i in domain.endpoint_ids)
    assert endpoint.url == "submission://smtp.good.test"
    assert endpoint.observation.completed
    assert any(c.check == "submission.accepts-unauthenticated" for c in endpoint.checks)


async def test_mtasts_policy_is_checked_against_the_mx_that_answers(lab_ctx: Context) -> None:
    # good.test publishes MTA-STS in enforce mode; mail.good.test presents a valid certificate
    report = await run_audit(lab_ctx, ["good.test"], AuditOptions(tls=False, discovery=False))

    (domain,) = report.domains
    run = next(c for c in domain.checks if c.check == "mtasts.mx-certificate")
    assert run.status is CheckStatus.PASSED
    assert not [f for f in domain.findings if f.id.startswith("mtasts.mx-")]
