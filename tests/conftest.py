"""Shared fixtures. Lab tests need the loopback lab (fixtures/lab/lab.sh start); they fail with
a clear message when it is not running — a skipped lab test must never look like a pass."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dns.message
import dns.query
import pytest
from hypothesis import settings

from mailaudit.context import Context
from mailaudit.settings import Limits, Settings, Timeouts

# No per-example deadline: on a shared, loaded machine a slow example is not a failure (timing
# belongs in bench/, not in tests).
settings.register_profile("mailaudit", deadline=None)
settings.load_profile("mailaudit")

ROOT = Path(__file__).resolve().parent.parent
LAB_SH = ROOT / "fixtures" / "lab" / "lab.sh"
SHARED = ROOT.parent / "shared"


def _lab_env() -> dict[str, str]:
    # The environment wins (a lab elsewhere); `lab.sh env` fills in whatever it does not say.
    env = {k: v for k, v in os.environ.items() if k.startswith("MAILAUDIT_")}
    if not LAB_SH.exists():
        return env
    out = subprocess.run(["bash", str(LAB_SH), "env"], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep and key.startswith("MAILAUDIT_"):
            env.setdefault(key, value.strip().strip("'\""))
    return env


@pytest.fixture(scope="session")
def lab_env() -> dict[str, str]:
    env = _lab_env()
    nameserver = env.get("MAILAUDIT_NAMESERVER")
    if not nameserver or not env.get("MAILAUDIT_CA_FILE"):
        pytest.fail(
            "the lab is not set up: run `fixtures/lab/lab.sh start` (or deselect with -m 'not lab')"
        )
    try:
        dns.query.udp(
            dns.message.make_query("good.test", "SOA"), nameserver.split(":")[0], timeout=2.0
        )
    except Exception as exc:
        pytest.fail(
            f"the lab DNS at {nameserver} does not answer ({exc}): run `fixtures/lab/lab.sh start`"
        )
    return env


def lab_settings(env: dict[str, str], **timeouts: float) -> Settings:
    return Settings(
        nameservers=(env["MAILAUDIT_NAMESERVER"],),
        ca_file=env["MAILAUDIT_CA_FILE"],
        timeouts=Timeouts(**timeouts) if timeouts else Timeouts(),
        limits=Limits(),
    )


@pytest.fixture
def lab_ctx(lab_env: dict[str, str]) -> Context:
    return Context.create(lab_settings(lab_env))


@pytest.fixture
def fast_lab_ctx(lab_env: dict[str, str]) -> Context:
    """Short timeouts, for scenarios with dead or silent servers."""
    return Context.create(
        lab_settings(
            lab_env,
            connect_s=1.0,
            reply_s=1.5,
            tls_handshake_s=1.5,
            endpoint_budget_s=3.0,
            dns_s=2.0,
            http_s=2.0,
        )
    )
