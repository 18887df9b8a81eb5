from __future__ import annotations

from mailaudit.checks.audit_discovery import judge_discovery_in_audit
from mailaudit.checks.catalogue import finding
from mailaudit.model import Severity


def test_no_settings_is_low_when_clients_can_guess_and_info_for_mx_only_domains() -> None:
    no_settings = finding("discovery.no-settings", "x.test", "no working incoming setting found")
    conflict = finding(
        "discovery.source-conflict", "x.test", "autoconfig says 465 SSL, plain there"
    )
    assert no_settings.severity is Severity.MEDIUM

    guessable = judge_discovery_in_audit((no_settings, conflict), client_endpoints_found=True)
    mx_only = judge_discovery_in_audit((no_settings,), client_endpoints_found=False)

    assert [f.severity for f in guessable] == [Severity.LOW, conflict.severity]
    assert guessable[0].context is not None
    assert "guessable" in guessable[0].context
    assert mx_only[0].severity is Severity.INFO
    # other discovery findings pass through unchanged
    assert guessable[1] == conflict
