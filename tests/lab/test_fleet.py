"""A generated fleet on the lab's real DNS (`lab.sh fleet N`): 500 customer domains whose MX and
SRV records point at the lab's shared hosts. Every domain gets its MX verdict and its DNS policy
judged, each shared endpoint is audited once and reported once, and a clean fleet exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailaudit.model import CheckStatus, Report
from mailaudit.serial import from_data
from tests.conftest import LAB_SH

pytestmark = pytest.mark.lab

FLEET = 500


def lab(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        ["bash", str(LAB_SH), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def fleet_env(lab_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The lab serving a generated fleet of FLEET domains; whatever fleet size was served
    before (another test's, a benchmark's) is put back afterwards."""
    env = {**os.environ, **lab_env}
    before = int(lab(env, "fleet").strip() or 0)
    lab(env, "fleet", str(FLEET))
    yield env
    lab(env, "fleet", str(before))


def test_a_fleet_of_500_domains_is_judged_whole_and_shared_endpoints_once(
    lab_env: dict[str, str], fleet_env: dict[str, str], tmp_path: Path
) -> None:
    # Given the lab serving a generated fleet
    env = fleet_env
    domains_file = Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet" / "domains.txt"
    domains = domains_file.read_text(encoding="utf-8").split()
    assert len(domains) == FLEET

    # When the fleet is audited from its domains file, streamed and reported
    jsonl, report_file = tmp_path / "run.jsonl", tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailaudit",
            "audit",
            "--domains-file",
            str(domains_file),
            "--jsonl",
            str(jsonl),
            "--json",
            str(report_file),
            "--skip",
            "tls",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    # Then every domain is fully audited and the run exits like a clean run
    summary = f"{FLEET} domains: {FLEET} fully audited, 0 partly audited, 0 not audited"
    assert summary in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0
    report = from_data(Report, json.loads(report_file.read_text(encoding="utf-8")))
    assert sorted(d.domain for d in report.domains) == sorted(domains)
    for domain in report.domains:
        checks = {c.check: c.status for c in domain.checks}
        assert checks["dns.mx"] is CheckStatus.PASSED, domain.domain
        assert domain.policy is not None
        assert checks["spf.record"] is CheckStatus.PASSED, domain.domain
        assert checks["dmarc.record"] is CheckStatus.PASSED, domain.domain
        assert domain.errors == ()
        assert domain.endpoint_ids  # its shared endpoints, joined
    # Each shared (address, port) probed once and reported once, used by the whole fleet
    ids = [e.id for e in report.endpoints]
    assert len(ids) == len(set(ids))
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    streamed = Counter(r["id"] for r in records if r["record"] == "endpoint")
    assert set(streamed.values()) == {1}
    assert set(ids) <= set(streamed)
    assert sum(1 for r in records if r["record"] == "domain") == FLEET
    mx = [e for e in report.endpoints if e.port == 25]
    assert mx
    assert sum(len(e.domains) for e in mx) >= FLEET  # every customer reaches a shared MX
    # The terminal shows the fleet's summary, not a table per domain: its grades count every
    # domain, and each endpoint line says how many domains use it, as the report does
    assert result.stdout.startswith(f"Fleet: {FLEET} domains, {len(report.endpoints)} endpoints\n")
    grades = result.stdout.splitlines()[1].split("(")[0].split()[1:]
    assert sum(int(n) for n in grades[1::2]) == FLEET
    for e in report.endpoints:
        assert f" {e.id}  completed  " in result.stdout, e.id
        line = next(x for x in result.stdout.splitlines() if f" {e.id}  " in x)
        assert line.endswith(f"used by {len(e.domains)} domains"), line
    assert "┃" not in result.stdout
    # and the JSON file has each domain on a line of its own
    lines = report_file.read_text(encoding="utf-8").splitlines()
    assert sum(1 for x in lines if x.startswith('    {"domain":')) == FLEET
