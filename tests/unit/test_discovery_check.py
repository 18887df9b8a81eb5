"""The registry's discovery check: its row judges, redirects out of the domain become
findings, and its reading of an SSRF-guard refusal matches what net/ records."""

from __future__ import annotations

from mailaudit.checks.discovery import GUARD_REFUSAL, judge_discovery
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.checks.registry import CHECKS
from mailaudit.model import CheckStatus, ForeignRedirect, Source
from mailaudit.net.addresses import PrivateAddressRefused


def test_the_guard_refusal_reason_is_the_one_probes_record() -> None:
    assert f"dns-{PrivateAddressRefused.reason}" == GUARD_REFUSAL


def test_the_registry_row_judges_discovery() -> None:
    (row,) = [c for c in CHECKS if c.name == "discovery"]
    assert row.judge is judge_discovery


def test_redirects_become_findings_in_order_with_one_run() -> None:
    autoconfig = ForeignRedirect(
        Source.AUTOCONFIG_HTTPS,
        "https://autoconfig.x.test/c.xml",
        "https://config.provider.example/c.xml",
        "x.test",
        ("https://autoconfig.x.test/c.xml", "https://config.provider.example/c.xml"),
        target_host="config.provider.example",
        asked_for="alice@x.test",
    )
    autodiscover = ForeignRedirect(
        Source.AUTODISCOVER, "https://x.test/ad.xml", "mailto:a@other.example", "x.test"
    )
    out = judge_discovery(DiscoveryFacts("x.test", (), None, None, (autoconfig, autodiscover)))

    ids = [f.id for f in out.findings]
    assert ids[:2] == ["discovery.cross-domain-redirect"] * 2
    assert out.findings[0].detail == (
        "https://autoconfig.x.test/c.xml redirected to https://config.provider.example/c.xml, "
        "outside x.test: a client must ask the user to confirm using settings from "
        "config.provider.example for alice@x.test (as Thunderbird does)"
    )
    assert out.findings[0].evidence == autoconfig.chain
    assert out.findings[1].detail == (
        "Autodiscover for x.test redirected from https://x.test/ad.xml to "
        "mailto:a@other.example; followed without credentials"
    )
    # No candidates at all: no working setting either way.
    assert ids[2:] == ["discovery.no-settings"]
    (run,) = out.runs
    assert (run.check, run.subject, run.status) == ("discovery", "x.test", CheckStatus.FAILED)
