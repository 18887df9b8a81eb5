"""The audit against the lab's deliberately broken fake servers (fixtures/lab/fakeservers.py):
STARTTLS command injection on SMTP, POP3 and IMAP (and the fixed twins), VRFY/EXPN user
enumeration and a 421 greeting.

The fake servers are started here, privately, on free high ports of 127.0.0.199 with the lab's
certificates, so these tests depend on the fake servers' behaviour only, not on which scenarios
the lab currently wires up."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailaudit.checks.protocol import judge_endpoint
from mailaudit.context import Context
from mailaudit.model import CheckRun, CheckStatus, Finding, Severity
from mailaudit.probes.endpoint import probe
from mailaudit.probes.model import Endpoint
from mailaudit.probes.protocol_audit import audit_endpoint
from mailaudit.settings import Settings, Timeouts
from tests.conftest import ROOT

ADDRESS = "127.0.0.199"
HOST = "mail.good.test"  # the lab certificate "good" names it
MODES = (
    "inject-smtp",
    "safe-smtp",
    "inject-pop3",
    "safe-pop3",
    "inject-imap",
    "safe-imap",
    "expn-smtp",
    "busy-smtp",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((ADDRESS, port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"fake server on {ADDRESS}:{port} did not start")


@pytest.fixture(scope="module")
def fakes(
    lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    certs = Path(lab_env.get("MAILAUDIT_LAB_DIR", "/tmp/mailaudit-lab")) / "certs"
    ports = {mode: _free_port() for mode in MODES}
    config = tmp_path_factory.mktemp("fakes") / "fake-hosts.conf"
    config.write_text(
        "".join(
            f"{ADDRESS} {port} {mode} {HOST}" + ("" if mode == "busy-smtp" else " good") + "\n"
            for mode, port in ports.items()
        )
    )
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "fixtures" / "lab" / "fakeservers.py"),
            "--config",
            str(config),
            "--certs",
            str(certs),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for port in ports.values():
            _wait_listening(port)
        yield ports
    finally:
        server.terminate()
        server.wait(timeout=5)


@pytest.fixture
def fake_ctx(lab_env: dict[str, str]) -> Context:
    return Context.create(
        Settings(
            nameservers=(lab_env["MAILAUDIT_NAMESERVER"],),
            ca_file=lab_env["MAILAUDIT_CA_FILE"],
            resolve={HOST: (ADDRESS,)},
            timeouts=Timeouts(connect_s=2, reply_s=3, tls_handshake_s=3, endpoint_budget_s=10),
        )
    )


async def judged(ctx: Context, scheme: str, port: int) -> tuple[list[Finding], list[CheckRun]]:
    obs = await probe(ctx, Endpoint.parse(f"{scheme}://{HOST}:{port}"))
    audit = await audit_endpoint(ctx, obs, own_domain="good.test")
    return judge_endpoint(obs, audit)


def run_of(runs: list[CheckRun], check: str) -> CheckRun:
    return next(r for r in runs if r.check == check)


@pytest.mark.parametrize("family", ["smtp", "pop3", "imap"])
async def test_starttls_injection_is_flagged_on_the_vulnerable_server_only(
    fakes: dict[str, int], fake_ctx: Context, family: str
) -> None:
    # Given a server that keeps bytes pipelined after STARTTLS, and its fixed twin
    # When each is audited
    vulnerable, _ = await judged(fake_ctx, family, fakes[f"inject-{family}"])
    safe, safe_runs = await judged(fake_ctx, family, fakes[f"safe-{family}"])
    # Then only the vulnerable one has the finding, with the injected answer in the evidence
    found = next(f for f in vulnerable if f.id == f"{family}.starttls-injection")
    assert found.severity is Severity.HIGH
    assert any("NOOP" in line for line in found.evidence if line.startswith("C: "))
    assert not [f for f in safe if f.id.endswith(".starttls-injection")]
    assert run_of(safe_runs, f"{family}.starttls-injection").status is CheckStatus.PASSED


async def test_vrfy_and_expn_enumeration(fakes: dict[str, int], fake_ctx: Context) -> None:
    findings, _ = await judged(fake_ctx, "smtp", fakes["expn-smtp"])
    vrfy = next(f for f in findings if f.id == "smtp.vrfy-enabled")
    expn = next(f for f in findings if f.id == "smtp.expn-enabled")
    assert vrfy.severity is Severity.MEDIUM
    assert "C: VRFY postmaster" in vrfy.evidence
    assert any(line.startswith("S: 250") for line in expn.evidence)


async def test_a_421_greeting_is_inconclusive_never_passed(
    fakes: dict[str, int], fake_ctx: Context
) -> None:
    findings, runs = await judged(fake_ctx, "smtp", fakes["busy-smtp"])
    assert {f.id for f in findings} == {"endpoint.rate-limited"}
    assert {r.status for r in runs} == {CheckStatus.INCONCLUSIVE}
