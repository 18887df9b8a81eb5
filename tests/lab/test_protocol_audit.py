"""The protocol audit against the loopback lab: probe, audit and judge real Postfix and Dovecot
listeners (fixtures/lab/README.md names the scenarios)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from mailaudit.context import Context
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    Confidence,
    Endpoint,
    Finding,
    Observation,
    ProtocolAudit,
    Severity,
)
from mailaudit.probes.endpoint import probe
from mailaudit.probes.protocol_audit import audit_endpoint
from mailaudit.probes.relay import RECIPIENT, SENDER
from tests.judging import judge_endpoint, judge_host


async def audited(
    ctx: Context, url: str, own_domain: str | None = None
) -> tuple[Observation, ProtocolAudit, list[Finding], list[CheckRun]]:
    obs = await probe(ctx, Endpoint.parse(url))
    audit = await audit_endpoint(ctx, obs, own_domain=own_domain)
    findings, runs = judge_endpoint(obs, audit)
    return obs, audit, findings, runs


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def run_of(runs: list[CheckRun], check: str) -> CheckRun:
    return next(r for r in runs if r.check == check)


async def test_relay_test_is_a_confirmed_critical_open_relay(lab_ctx: Context) -> None:
    # Given the open-relay listener of relay.test
    # When its MX is audited
    obs, audit, findings, runs = await audited(lab_ctx, "smtp://mail.relay.test", "relay.test")
    # Then the relay is reported, critical and confirmed (the invalid local recipient was refused)
    assert obs.completed
    relay = next(f for f in findings if f.id == "smtp.open-relay")
    assert relay.severity is Severity.CRITICAL
    assert relay.confidence is Confidence.CONFIRMED
    assert run_of(runs, "smtp.open-relay").status is CheckStatus.FAILED
    # and the evidence shows an accepted RCPT to the foreign test domain
    rcpt = f"C: RCPT TO:<{RECIPIENT}@{audit.relay_test_domain}>"
    assert rcpt in relay.evidence
    assert relay.evidence[relay.evidence.index(rcpt) + 1].startswith("S: 250")
    # both in plaintext and over STARTTLS; proven in the first connection of each pass
    assert any(a.accepted for a in audit.relay.attempts)
    assert any(a.accepted for a in audit.relay_over_tls.attempts)
    assert audit.relay.connections == 1
    assert "relaying proven" in (audit.relay.reason or "")


async def test_good_test_reports_nothing_high_or_critical(lab_ctx: Context) -> None:
    urls = [
        ("smtp://mail.good.test", "good.test"),
        ("submission://smtp.good.test", "good.test"),
        ("smtps://smtp.good.test", "good.test"),
        ("imap://imap.good.test", None),
        ("imaps://imap.good.test", None),
        ("pop3://pop3.good.test", None),
        ("pop3s://pop3.good.test", None),
    ]
    observations: list[Observation] = []
    findings: list[Finding] = []
    all_runs: list[CheckRun] = []
    for url, own in urls:
        obs, _, found, runs = await audited(lab_ctx, url, own)
        assert obs.completed, (url, obs.failure)
        observations.append(obs)
        findings += found
        all_runs += runs
    host_findings, host_runs = judge_host(observations)
    findings += host_findings
    serious = [(f.id, f.subject) for f in findings if f.severity.at_least(Severity.HIGH)]
    assert serious == []
    # Postfix and Dovecot are not vulnerable to STARTTLS injection, and nothing relays
    for run in all_runs:
        if run.check.endswith((".starttls-injection", ".open-relay", ".accepts-unauthenticated")):
            assert run.status in (CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE), run
    assert {r.status for r in host_runs} == {CheckStatus.PASSED}


async def test_plain_test_offers_login_before_tls_on_smtp_pop3_and_imap(lab_ctx: Context) -> None:
    expected = {
        "submission://smtp.plain.test": "smtp.auth-before-tls",
        "pop3://pop3.plain.test": "pop3.auth-before-tls",
        "imap://imap.plain.test": "imap.auth-before-tls",
    }
    for url, finding_id in expected.items():
        _, audit, findings, _ = await audited(lab_ctx, url, "plain.test")
        found = next(f for f in findings if f.id == finding_id)
        assert found.severity is Severity.HIGH
        # the active probe saw the invitation, and nothing secret was sent
        assert audit.auth_before_tls.invited is True
        assert not any("PASS" in line for line in found.evidence)


async def test_plain_test_has_no_implicit_tls_ports(lab_ctx: Context) -> None:
    observations = [
        await probe(lab_ctx, Endpoint.parse(url))
        for url in (
            "imap://imap.plain.test",
            "imaps://imap.plain.test",
            "pop3://pop3.plain.test",
            "pop3s://pop3.plain.test",
        )
    ]
    findings, _ = judge_host(observations)
    assert ids(findings) == {"imap.implicit-tls-missing", "pop3.implicit-tls-missing"}


async def test_dead_endpoint_is_not_tested_with_the_reason(fast_lab_ctx: Context) -> None:
    obs, audit, findings, runs = await audited(fast_lab_ctx, "smtp://mail.dead.test", "dead.test")
    assert not obs.completed
    assert audit.relay.reason is not None
    assert audit.relay.reason.startswith("the probe did not complete")
    assert ids(findings) == {"endpoint.unreachable"}
    assert {r.status for r in runs} == {CheckStatus.NOT_TESTED}


def _log_size(log: Path) -> int:
    return log.stat().st_size


def _log_since(log: Path, start: int) -> list[str]:
    with log.open("rb") as f:
        f.seek(start)
        return f.read().decode("utf-8", "replace").splitlines()


def _queue_listing(config: str) -> str:
    postqueue = shutil.which("postqueue")
    assert postqueue is not None
    return subprocess.run(
        [postqueue, "-c", config, "-p"], capture_output=True, text=True, check=True
    ).stdout


async def test_relay_tests_leave_nothing_delivered_or_queued(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    # Given the current end of Postfix's log
    log = Path(lab_env.get("MAILAUDIT_LAB_MAILLOG", "/tmp/mailaudit-lab/log/postfix.log"))
    start = _log_size(log)
    # When the relay tests run against the open relay and a closed MX
    _, relay_audit, _, _ = await audited(lab_ctx, "smtp://mail.relay.test", "relay.test")
    await audited(lab_ctx, "smtp://mail.good.test", "good.test")
    assert any(a.accepted for a in relay_audit.relay.attempts)
    # Then the log shows the attempts, but no message: the queue files smtpd opened for the
    # accepted recipients never reached cleanup's message-id, qmgr or a delivery agent
    new = _log_since(log, start)
    ours = [line for line in new if f"{SENDER}@" in line or f"{RECIPIENT}@" in line]
    assert ours, "the relay attempts should appear in Postfix's log"
    queue_ids = {
        m.group(1)
        for line in new
        if (m := re.search(r"postfix/(?:relay|good)-25/smtpd\[\d+\]: ([0-9A-F]{6,}): ", line))
    }
    assert queue_ids, "the open relay should have opened queue files for accepted recipients"
    after_smtpd = [
        line
        for line in new
        if "/smtpd[" not in line and any(f"{qid}:" in line for qid in queue_ids)
    ]
    assert after_smtpd == []
    assert not [line for line in new if "status=" in line and f"{RECIPIENT}@" in line]
    # and the queue holds nothing of ours
    config = lab_env.get("MAILAUDIT_LAB_POSTFIX_CONFIG", "/tmp/mailaudit-lab/postfix/conf")
    listing = _queue_listing(config)
    assert SENDER not in listing
    assert RECIPIENT not in listing


async def test_relay_by_the_percent_hack_only_is_found(lab_ctx: Context) -> None:
    # Given percent.test, which relays user%foreign@percent.test but refuses user@foreign
    _, audit, findings, _ = await audited(lab_ctx, "smtp://mail.percent.test", "percent.test")
    # Then the relay is found, confirmed, through the own-domain %-hack variant only
    relay = next(f for f in findings if f.id == "smtp.open-relay")
    assert relay.severity is Severity.CRITICAL
    assert relay.confidence is Confidence.CONFIRMED
    accepted = {
        a.variant for a in (*audit.relay.attempts, *audit.relay_over_tls.attempts) if a.accepted
    }
    assert accepted == {"own-02-percent-hack"}
    assert f"C: RCPT TO:<{RECIPIENT}%{audit.relay_test_domain}@percent.test>" in relay.evidence


async def test_postfix_with_vrfy_enabled_enumerates_users(lab_ctx: Context) -> None:
    # Postfix with disable_vrfy_command = no answers 252 for a known address and 550 otherwise
    _, _, findings, runs = await audited(lab_ctx, "smtp://mail.vrfy.test", "vrfy.test")
    vrfy = next(f for f in findings if f.id == "smtp.vrfy-enabled")
    assert "C: VRFY postmaster@vrfy.test" in vrfy.evidence
    assert any(line.startswith("S: 252") for line in vrfy.evidence)
    assert any(line.startswith("S: 550") for line in vrfy.evidence)
    assert run_of(runs, "smtp.expn-enabled").status is CheckStatus.PASSED


async def test_submission_without_authentication(lab_ctx: Context) -> None:
    for url in ("submission://smtp.opensub.test", "smtps://smtp.opensub.test"):
        _, audit, findings, _ = await audited(lab_ctx, url, "opensub.test")
        found = next(f for f in findings if f.id == "submission.accepts-unauthenticated")
        assert found.severity is Severity.HIGH
        assert "C: RCPT TO:<postmaster@opensub.test>" in found.evidence
        assert audit.submission.over_tls
        # a submission port that takes mail from anyone relays too
        assert "smtp.open-relay" in ids(findings)
    # while its port 25 is a normal MX
    _, _, findings, _ = await audited(lab_ctx, "smtp://mail.opensub.test", "opensub.test")
    assert not [f for f in findings if f.severity.at_least(Severity.HIGH)]
