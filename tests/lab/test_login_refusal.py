"""The proof check of the registry, on the lab: IMAP and POP3 that refuse login before TLS
without announcing it (quietlogin.test, fake servers), against Dovecot, which announces it
(good.test: LOGINDISABLED, no USER) or accepts it (plain.test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailaudit.context import Context
from mailaudit.model import CheckRun, CheckStatus, Endpoint, Finding, Severity
from mailaudit.probes.endpoint import probe
from mailaudit.probes.protocol_audit import audit_endpoint
from tests.judging import judge_endpoint


async def judged(ctx: Context, url: str, own: str) -> tuple[list[Finding], list[CheckRun]]:
    obs = await probe(ctx, Endpoint.parse(url))
    audit = await audit_endpoint(ctx, obs, own_domain=own)
    return judge_endpoint(obs, audit)


def run_of(runs: list[CheckRun], check: str) -> CheckRun:
    return next(r for r in runs if r.check == check)


@pytest.mark.parametrize(
    ("url", "finding_id", "severity", "family"),
    [
        ("imap://mail.quietlogin.test", "imap.logindisabled-missing", Severity.MEDIUM, "imap"),
        ("pop3://mail.quietlogin.test", "pop3.user-advertised-before-tls", Severity.LOW, "pop3"),
    ],
)
async def test_a_refused_login_that_is_not_announced_is_its_own_finding(
    lab_ctx: Context, url: str, finding_id: str, severity: Severity, family: str
) -> None:
    # Given a server that refuses login before TLS but advertises it (no LOGINDISABLED / USER)
    # When it is audited
    findings, runs = await judged(lab_ctx, url, "quietlogin.test")
    # Then the new check fails with the refusal and the capabilities as evidence
    found = next(f for f in findings if f.id == finding_id)
    assert found.severity is severity
    assert any("[PRIVACYREQUIRED]" in e or "[AUTH]" in e for e in found.evidence)
    assert run_of(runs, finding_id).status is CheckStatus.FAILED
    # and "login before TLS" passes: the server does not take credentials in the clear
    before = run_of(runs, f"{family}.auth-before-tls")
    assert before.status is CheckStatus.PASSED
    assert finding_id in (before.reason or "")
    assert not [f for f in findings if f.id == f"{family}.auth-before-tls"]


@pytest.mark.parametrize(("scheme", "family"), [("imap", "imap"), ("pop3", "pop3")])
async def test_dovecot_announces_the_refusal_or_accepts_the_login(
    lab_ctx: Context, scheme: str, family: str
) -> None:
    new_id = {"imap": "imap.logindisabled-missing", "pop3": "pop3.user-advertised-before-tls"}
    # Dovecot with disable_plaintext_auth: LOGINDISABLED / no USER before TLS -> passes
    _, good = await judged(lab_ctx, f"{scheme}://{scheme}.good.test", "good.test")
    assert run_of(good, new_id[family]).status is CheckStatus.PASSED
    # Dovecot accepting plaintext login (plain.test): that is auth-before-tls, not this check
    plain_findings, plain = await judged(lab_ctx, f"{scheme}://mail.plain.test", "plain.test")
    assert run_of(plain, new_id[family]).status is CheckStatus.NOT_APPLICABLE
    assert f"{family}.auth-before-tls" in {f.id for f in plain_findings}


def _cli(lab_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailaudit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **lab_env},
        timeout=120,
        check=False,
    )


def test_the_finding_shows_in_json_html_sarif_and_checks(
    lab_env: dict[str, str], tmp_path: Path
) -> None:
    # Given the audit of the quietlogin endpoints, saved as JSON
    saved = tmp_path / "quietlogin.json"
    audit = _cli(
        lab_env,
        "audit",
        "--endpoint",
        "imap://mail.quietlogin.test",
        "--endpoint",
        "pop3://mail.quietlogin.test",
        "--skip",
        "tls",
        "--json",
        str(saved),
        "--format",
        "json",
    )
    assert audit.returncode in (0, 3), audit.stderr
    data = json.loads(saved.read_text())
    ids = {f["id"] for e in data["endpoints"] for f in e["findings"]}
    assert {"imap.logindisabled-missing", "pop3.user-advertised-before-tls"} <= ids

    # Then the HTML and SARIF renderings name it, SARIF with its catalogue rule
    html = _cli(lab_env, "report", str(saved), "--format", "html")
    assert "imap.logindisabled-missing" in html.stdout
    sarif = json.loads(_cli(lab_env, "report", str(saved), "--format", "sarif").stdout)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["imap.logindisabled-missing"]["properties"]["check"] == "login-refusal-unannounced"
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"].endswith("-before-tls")]
    assert results

    # and `mailaudit checks` describes it
    described = _cli(lab_env, "checks", "imap.logindisabled-missing")
    assert described.returncode == 0
    assert "LOGINDISABLED" in described.stdout
