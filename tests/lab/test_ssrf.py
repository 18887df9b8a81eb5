"""The SSRF guard on the lab (issue 10 item 3): ssrf.test's autoconfig redirects from a "global"
address into a "private" one, and its MX and SRV records name a "private" host. Loopback plays
both roles: these tests declare 127.0.0.0/8 global and 127.0.0.160-169 private.

Proof that nothing was contacted comes from the targets themselves: internal.ssrf.test has its
own nginx access log, and mx.ssrf.test is a recording fake (fakeservers.log)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailaudit.audit.runner import AuditOptions, run_audit
from mailaudit.cli import main
from mailaudit.context import Context
from mailaudit.discovery import GuessMode, Source, discover
from mailaudit.settings import Settings
from tests.conftest import lab_settings
from tests.lab.lablog import LabLog

GLOBAL = ("127.0.0.0/8",)
PRIVATE = ("127.0.0.160/29", "127.0.0.168/31")
NETWORK_ARGS = ["--global-network", GLOBAL[0]] + [
    a for n in PRIVATE for a in ("--private-network", n)
]


@pytest.fixture
def logs(lab_env: dict[str, str]) -> tuple[LabLog, LabLog]:
    lab = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "log"
    return LabLog(lab / "nginx-ssrf-internal.log"), LabLog(lab / "fakeservers.log")


def _settings(lab_env: dict[str, str], *, allow_private: bool) -> Settings:
    return dataclasses.replace(
        lab_settings(lab_env),
        global_networks=GLOBAL,
        private_networks=PRIVATE,
        allow_private=allow_private,
    )


def _touched_private_mx(fake_log: LabLog) -> list[str]:
    return [line for line in fake_log.new_lines() if line.startswith("record 127.0.0.161:")]


async def test_discover_refuses_redirect_mx_and_srv_into_private(
    lab_env: dict[str, str], logs: tuple[LabLog, LabLog]
) -> None:
    web_log, fake_log = logs
    ctx = Context.create(_settings(lab_env, allow_private=False))

    result = await discover(ctx, "alice@ssrf.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is None
    assert result.outgoing is None
    refused = {(t.host, t.address) for t in result.refused_targets}
    assert refused == {("internal.ssrf.test", "127.0.0.160"), ("mx.ssrf.test", "127.0.0.161")}
    ssrf = [f for f in result.findings if f.id == "scope.private-address-refused"]
    # One finding per refused name, and no second one for the same host.
    assert sorted(f.detail.split()[0] for f in ssrf) == ["internal.ssrf.test", "mx.ssrf.test"]
    assert not [f for f in result.findings if f.id == "discovery.setting-broken"]
    # No status oracle: the autoconfig attempt names the chain, never an HTTP status.
    (autoconfig,) = [o for o in result.sources if o.source is Source.AUTOCONFIG_HTTPS]
    assert "internal.ssrf.test" in autoconfig.detail
    assert "HTTP" not in autoconfig.detail.replace("https://", "")
    assert web_log.new_lines() == []
    assert _touched_private_mx(fake_log) == []


async def test_discover_follows_into_private_when_allowed(
    lab_env: dict[str, str], logs: tuple[LabLog, LabLog]
) -> None:
    web_log, fake_log = logs
    ctx = Context.create(_settings(lab_env, allow_private=True))

    result = await discover(ctx, "alice@ssrf.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is not None
    assert result.incoming.setting.host == "mx.ssrf.test"
    assert result.incoming.origin.startswith("https://internal.ssrf.test/")
    assert result.refused_targets == ()
    assert "scope.private-address-refused" not in {f.id for f in result.findings}
    assert any("GET /mail/config-v1.1.xml" in line for line in web_log.new_lines())
    assert _touched_private_mx(fake_log)


async def test_audit_refuses_a_private_mx_with_one_finding(
    lab_env: dict[str, str], logs: tuple[LabLog, LabLog]
) -> None:
    _, fake_log = logs
    ctx = Context.create(_settings(lab_env, allow_private=False))

    report = await run_audit(ctx, ["ssrf.test"], AuditOptions(tls=False))

    (domain,) = report.domains
    # One finding per id and subject (mailaudit.report.aggregate): both refusals, counted.
    (ssrf,) = [f for f in domain.findings if f.id == "scope.private-address-refused"]
    assert ssrf.occurrences == 2
    named = [ssrf.detail, *(e.removeprefix("also: ") for e in ssrf.evidence)]
    assert {"internal.ssrf.test", "mx.ssrf.test"} <= {line.split()[0] for line in named}
    assert report.endpoints == ()
    assert any("smtp://mx.ssrf.test" in e and "non-global" in e for e in domain.errors)
    assert _touched_private_mx(fake_log) == []


def test_cli_options_refuse_and_allow(lab_env: dict[str, str]) -> None:
    env = {k: v for k, v in lab_env.items() if k.startswith("MAILAUDIT_")}
    args = ["discover", "alice@ssrf.test", "--guess", "never", "--format", "json", *NETWORK_ARGS]

    refused = CliRunner().invoke(main, args, env=env)
    allowed = CliRunner().invoke(main, [*args, "--allow-private"], env=env)

    assert refused.exit_code == 3, refused.output
    assert {t["host"] for t in json.loads(refused.output)["refused_targets"]} == {
        "internal.ssrf.test",
        "mx.ssrf.test",
    }
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output)["incoming"]["setting"]["host"] == "mx.ssrf.test"
    # Without the lab's classification, the loopback nameserver is the user's opt-in.
    plain = CliRunner().invoke(main, args[:6], env=env)
    assert plain.exit_code == 0, plain.output
