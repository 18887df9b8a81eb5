"""The audit against the lab's deliberately broken fake servers (fixtures/lab/fakeservers.py,
wired in fake-hosts.conf): STARTTLS command injection on SMTP, POP3 and IMAP (inject.test) and
the fixed twins (safe.test), VRFY/EXPN user enumeration (expn.test), a 421 greeting (busy.test)
and markup in greetings (hostile.test)."""

from __future__ import annotations

import pytest

from mailaudit.context import Context
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    Endpoint,
    Finding,
    ProbeStatus,
    Severity,
    TranscriptEvent,
)
from mailaudit.probes.endpoint import probe
from mailaudit.probes.protocol_audit import audit_endpoint
from tests.judging import judge_endpoint


async def judged(ctx: Context, url: str, own_domain: str) -> tuple[list[Finding], list[CheckRun]]:
    obs = await probe(ctx, Endpoint.parse(url))
    audit = await audit_endpoint(ctx, obs, own_domain=own_domain)
    return judge_endpoint(obs, audit)


def run_of(runs: list[CheckRun], check: str) -> CheckRun:
    return next(r for r in runs if r.check == check)


@pytest.mark.parametrize(
    ("scheme", "host", "family"),
    [
        ("smtp", "mail", "smtp"),
        ("submission", "smtp", "smtp"),
        ("pop3", "pop3", "pop3"),
        ("imap", "imap", "imap"),
    ],
)
async def test_starttls_injection_is_flagged_on_the_vulnerable_server_only(
    lab_ctx: Context, scheme: str, host: str, family: str
) -> None:
    # Given a server that keeps bytes pipelined after STARTTLS (inject.test) and its fixed twin
    # (safe.test)
    # When each is audited
    vulnerable, _ = await judged(lab_ctx, f"{scheme}://{host}.inject.test", "inject.test")
    safe, safe_runs = await judged(lab_ctx, f"{scheme}://{host}.safe.test", "safe.test")
    # Then only the vulnerable one has the finding, with the injected command in the evidence
    found = next(f for f in vulnerable if f.id == f"{family}.starttls-injection")
    assert found.severity is Severity.HIGH
    assert any("NOOP" in line for line in found.evidence if line.startswith("C: "))
    assert not [f for f in safe if f.id.endswith(".starttls-injection")]
    assert run_of(safe_runs, f"{family}.starttls-injection").status is CheckStatus.PASSED


async def test_vrfy_and_expn_enumeration(lab_ctx: Context) -> None:
    findings, _ = await judged(lab_ctx, "smtp://mail.expn.test", "expn.test")
    vrfy = next(f for f in findings if f.id == "smtp.vrfy-enabled")
    expn = next(f for f in findings if f.id == "smtp.expn-enabled")
    assert vrfy.severity is Severity.MEDIUM
    assert expn.severity is Severity.MEDIUM
    assert any(line.startswith("C: VRFY postmaster") for line in vrfy.evidence)
    assert any(line.startswith("S: 250") for line in expn.evidence)


@pytest.mark.parametrize("url", ["smtp://mail.busy.test", "submission://mail.busy.test"])
async def test_a_421_greeting_is_inconclusive_never_passed(lab_ctx: Context, url: str) -> None:
    findings, runs = await judged(lab_ctx, url, "busy.test")
    assert {f.id for f in findings} == {"endpoint.rate-limited"}
    assert {r.status for r in runs} == {CheckStatus.INCONCLUSIVE}


async def test_markup_in_a_greeting_stays_plain_evidence(lab_ctx: Context) -> None:
    # The hostile greeting is data: judged like any other, quoted verbatim (escaping is the
    # renderers' job), and it does not break the audit.
    findings, runs = await judged(lab_ctx, "smtp://mail.hostile.test", "hostile.test")
    assert run_of(runs, "smtp.open-relay").status is CheckStatus.PASSED
    assert not [f for f in findings if f.severity.at_least(Severity.HIGH)]


@pytest.mark.parametrize("url", ["imap://imap.busyimap.test", "pop3://pop3.busyimap.test"])
async def test_capabilities_refused_by_a_busy_server_are_inconclusive_never_missing_starttls(
    lab_ctx: Context, url: str
) -> None:
    # Given an IMAP/POP3 server that greets, then answers CAPABILITY/CAPA with
    # "NO [UNAVAILABLE] 421 busy" / "-ERR [SYS/TEMP] 421 busy" (busyimap.test, issue 10 item 2)
    obs = await probe(lab_ctx, Endpoint.parse(url))

    # Then nothing is known about STARTTLS or login: the probe was refused, not completed
    assert obs.status is ProbeStatus.REFUSED
    assert obs.starttls_offered is None
    assert obs.login_offered_before_tls is None
    assert obs.failure is not None
    assert "421 busy" in obs.failure.message
    assert obs.transcript[-1].event is TranscriptEvent.REFUSAL

    # And the audit says "rate limited" with every check inconclusive; no STARTTLS or
    # auth-before-TLS finding is raised from the busy reply
    findings, runs = judge_endpoint(obs, await audit_endpoint(lab_ctx, obs))
    assert {f.id for f in findings} == {"endpoint.rate-limited"}
    assert {r.status for r in runs} == {CheckStatus.INCONCLUSIVE}
