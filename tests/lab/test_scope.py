"""Audit scope on the lab (issue 10 item 1). hop.test's HTTPS autoconfig redirects four times into
the unrelated farhost.test; foreign.test's own autoconfig names mail.elsewhere.test. Their hosts
are recording fakes (fakeservers.log gets "record ADDRESS:PORT VERB" per connection and command),
so the tests prove which commands reached them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mailaudit.audit.runner import AuditOptions, run_audit
from mailaudit.context import Context
from mailaudit.discovery import GuessMode, Source, Trust, discover
from tests.lab.lablog import LabLog

FARHOST = "127.0.0.153"
ELSEWHERE = "127.0.0.156"
IN_SCOPE_MX = "127.0.0.154"
# What discovery's one passive probe sends: greeting, capabilities, STARTTLS, certificate.
PASSIVE_VERBS = {"CONNECT", "EHLO", "STARTTLS", "CAPABILITY", "LOGOUT", "QUIT"}


@pytest.fixture
def fake_log(lab_env: dict[str, str]) -> LabLog:
    return LabLog(Path(lab_env["MAILAUDIT_LAB_DIR"]) / "log" / "fakeservers.log")


def _commands(log: LabLog, address: str) -> list[tuple[str, str]]:
    """(port, verb) of every recorded line for `address` since the test began."""
    out = []
    for line in log.new_lines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "record" and parts[1].startswith(address + ":"):
            out.append((parts[1].rsplit(":", 1)[1], parts[2]))
    return out


async def test_discovery_never_trusts_a_cross_domain_redirect(lab_ctx: Context) -> None:
    result = await discover(lab_ctx, "alice@hop.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is not None
    assert result.incoming.setting.host == "mail.farhost.test"
    assert result.incoming.trust is Trust.CONFIRM
    (candidate, *_) = [c for c in result.candidates if c.source is Source.AUTOCONFIG_HTTPS]
    # The whole chain is kept: four redirects, then the config.
    assert len(candidate.via) == 4
    assert candidate.via[0].startswith("https://autoconfig.hop.test/")
    assert candidate.origin == "https://autoconfig.farhost.test/mail/config-v1.1.xml"
    (redirect,) = [f for f in result.findings if f.id == "discovery.cross-domain-redirect"]
    assert "ask the user to confirm" in redirect.detail


async def test_audit_tests_out_of_scope_hosts_passively_only(
    lab_ctx: Context, fake_log: LabLog
) -> None:
    report = await run_audit(lab_ctx, ["hop.test", "foreign.test"], AuditOptions(guess=False))

    by_url = {e.url: e for e in report.endpoints}
    for url in (
        "imap://mail.farhost.test",
        "submission://mail.farhost.test",
        "imap://mail.elsewhere.test",
        "submission://mail.elsewhere.test",
    ):
        endpoint = by_url[url]
        assert endpoint.protocol_audit is None
        assert endpoint.tls_scan is None
        (scope,) = [f for f in endpoint.findings if f.id == "scope.out-of-scope"]
        assert scope.detail.startswith("out of scope, not actively tested")
        assert scope.evidence
    farhost = next(
        f for f in by_url["imap://mail.farhost.test"].findings if f.id == "scope.out-of-scope"
    )
    assert "https://autoconfig.hop.test/" in farhost.evidence[0]
    assert "https://autoconfig.farhost.test/step3" in farhost.evidence[0]
    # The in-scope MX got the active battery (relay RCPTs, TLS scan) ...
    mx = by_url["smtp://mail.hop.test"]
    assert mx.protocol_audit is not None
    assert mx.tls_scan is not None
    assert "RCPT" in {verb for _, verb in _commands(fake_log, IN_SCOPE_MX)}
    # ... the foreign hosts one passive connection per port at most, and nothing active.
    for address in (FARHOST, ELSEWHERE):
        commands = _commands(fake_log, address)
        assert commands, f"discovery's passive probe should have reached {address}"
        assert {verb for _, verb in commands} <= PASSIVE_VERBS
        connects = Counter(port for port, verb in commands if verb == "CONNECT")
        assert max(connects.values()) == 1


async def test_scope_option_makes_a_foreign_domain_testable(
    lab_ctx: Context, fake_log: LabLog
) -> None:
    report = await run_audit(
        lab_ctx, ["hop.test"], AuditOptions(guess=False, tls=False, scope=("farhost.test",))
    )

    endpoint = {e.url: e for e in report.endpoints}["submission://mail.farhost.test"]
    assert endpoint.protocol_audit is not None
    assert "scope.out-of-scope" not in {f.id for f in endpoint.findings}
    assert "MAIL" in {verb for _, verb in _commands(fake_log, FARHOST)}
