"""Benchmark (a script, not a test): the TLS part of mailaudit against sslyze's own command line
and testssl, side by side in one run, on the loopback lab's good.test.

    fixtures/lab/lab.sh start
    .venv/bin/python bench/tls.py [--skip-testssl]

1. mailaudit: resolve good.test's mail names with our resolver (the lab DNS), `scan_tls` all seven
   endpoints (25, 587, 465, 143, 993, 110, 995) in one sslyze run, and judge them.
2. sslyze's CLI on the same endpoints and the same scan commands, given the addresses with its
   `HOST:PORT{IP}` syntax (its own resolver cannot see the lab), `--starttls auto`; once with
   `--slow_connection` (two connections per server, our politeness) and once with its defaults.
3. testssl `--starttls smtp` on mail.good.test:25 only (over a minute), `--ip` and `--nodns none`
   so it never asks the system resolver, the lab CA added with `--add-ca`.

Prints wall times and the ratios to mailaudit's. The lab is shared: a measurement during which
the lab restarted (Postfix's log says so) or an endpoint failed is taken again, at most three
times, and flagged if it never came out clean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailaudit.checks.facts import TlsFacts, TlsHostsFacts  # noqa: E402
from mailaudit.checks.judge import judge_tls, judge_tls_hosts  # noqa: E402
from mailaudit.context import Context  # noqa: E402
from mailaudit.model import Scheme, TlsTarget  # noqa: E402
from mailaudit.probes.tls_scan import TLS_CONNECTIONS_PER_ENDPOINT, scan_tls  # noqa: E402
from mailaudit.settings import Settings  # noqa: E402

LAB_SH = ROOT / "fixtures" / "lab" / "lab.sh"
ENDPOINTS = [
    (Scheme.SMTP, "mail.good.test"),
    (Scheme.SUBMISSION, "smtp.good.test"),
    (Scheme.SMTPS, "smtp.good.test"),
    (Scheme.IMAP, "imap.good.test"),
    (Scheme.IMAPS, "imap.good.test"),
    (Scheme.POP3, "pop3.good.test"),
    (Scheme.POP3S, "pop3.good.test"),
]
NAMES = ("mail.good.test", "smtp.good.test", "imap.good.test", "pop3.good.test")
# The scan commands mailaudit runs, as sslyze CLI options.
SSLYZE_COMMANDS = [
    "--certinfo",
    "--sslv2",
    "--sslv3",
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--compression",
    "--openssl_ccs",
    "--fallback",
    "--heartbleed",
    "--robot",
    "--reneg",
]


@dataclass
class Timing:
    name: str
    endpoints: int
    wall_s: float
    note: str = ""
    # Endpoints the tool could not scan completely: the time then measures a failure.
    failed: int = 0


def lab_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(LAB_SH), "env"], capture_output=True, text=True, check=True)
    env: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            env[key] = value.strip().strip("'\"")
    return env


def postfix_starts(env: dict[str, str]) -> int:
    """How often the lab's Postfix has started so far (a restart spoils a measurement)."""
    try:
        log = Path(env["MAILAUDIT_LAB_MAILLOG"]).read_bytes()
    except (KeyError, OSError):
        return -1
    return log.count(b"]: daemon started -- version")


async def ours(ctx: Context) -> tuple[Timing, list[TlsTarget]]:
    started = time.monotonic()
    cpu = time.process_time()
    targets: list[TlsTarget] = []
    for scheme, host in ENDPOINTS:
        for address in await ctx.resolver.addresses(host):
            targets.append(TlsTarget(host, address, scheme.default_port, scheme, NAMES))
    scans = await scan_tls(ctx, targets)
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    for scan in scans:
        findings = judge_tls(TlsFacts(scan, now)).findings
        for f in findings:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    consistency = judge_tls_hosts(TlsHostsFacts(tuple(scans))).findings
    wall = time.monotonic() - started
    failed = sum(1 for s in scans if s.errors)
    note = (
        f"{len(scans)} scans, findings by severity {dict(sorted(counts.items()))}, "
        f"{len(consistency)} consistency; process CPU {time.process_time() - cpu:.1f} s"
    )
    return Timing("mailaudit scan_tls + judge", len(scans), wall, note, failed), targets


def sslyze_cli(targets: list[TlsTarget], ca_file: str, *, polite: bool) -> Timing:
    servers = [f"{t.host}:{t.port}{{{t.address}}}" for t in targets]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sslyze.json"
        cmd = [
            sys.executable,
            "-m",
            "sslyze",
            "--quiet",
            f"--json_out={out}",
            "--starttls",
            "auto",
            *SSLYZE_COMMANDS,
            f"--certinfo_ca_file={ca_file}",
            *(["--slow_connection"] if polite else []),
            *servers,
        ]
        started = time.monotonic()
        subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        try:
            results = json.loads(out.read_text())["server_scan_results"]
            completed = sum(_cli_scan_complete(r) for r in results)
        except (OSError, ValueError, KeyError):
            completed = 0
    label = "2 connections/server (--slow_connection)" if polite else "sslyze defaults (5/server)"
    name = f"sslyze CLI{' --slow_connection' if polite else ''}"
    return Timing(name, len(servers), wall, label, failed=len(servers) - completed)


def _cli_scan_complete(result: dict[str, Any]) -> bool:
    """The server was reached and every scan command that ran completed (a command that hit a
    refused connection ends early and would flatter the time)."""
    if result.get("scan_status") != "COMPLETED":
        return False
    attempts = (result.get("scan_result") or {}).values()
    ran = [a for a in attempts if isinstance(a, dict) and a.get("status") != "NOT_SCHEDULED"]
    return bool(ran) and all(a.get("status") == "COMPLETED" for a in ran)


def testssl(ca_file: str) -> Timing:
    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    if binary is None:
        return Timing("testssl --starttls smtp", 1, float("nan"), "testssl not installed", 1)
    cmd = [
        binary,
        "--quiet",
        "--color",
        "0",
        "--warnings",
        "off",
        "--nodns",
        "none",
        "--ip",
        "127.0.0.10",
        "--add-ca",
        ca_file,
        "--starttls",
        "smtp",
        "mail.good.test:25",
    ]
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, "TERM": "dumb"},
    )
    wall = time.monotonic() - started
    done = " Done " in proc.stdout and "Fatal error" not in proc.stdout
    return Timing("testssl --starttls smtp", 1, wall, "mail.good.test:25 only", 0 if done else 1)


def measured(env: dict[str, str], run: Callable[[], Timing]) -> Timing:
    """Measure again (three tries at most) when the lab restarted meanwhile or endpoints failed."""
    attempt = 0
    while True:
        attempt += 1
        before = postfix_starts(env)
        timing = run()
        restarted = postfix_starts(env) != before
        if attempt == 3 or (not restarted and not timing.failed):
            break
        print(f"  ({timing.name}: the lab restarted or endpoints failed; measuring again)")
        time.sleep(10)
    if attempt > 1:
        timing.note += f"; attempt {attempt}"
    if restarted:
        timing.note += "; THE LAB RESTARTED DURING THIS MEASUREMENT"
    if timing.failed:
        timing.note += f"; {timing.failed} ENDPOINT(S) NOT SCANNED COMPLETELY"
    return timing


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--skip-testssl", action="store_true", help="leave out testssl (it takes over a minute)"
    )
    args = parser.parse_args()

    env = lab_env()
    ca_file = env["MAILAUDIT_CA_FILE"]
    ctx = Context.create(Settings(nameservers=(env["MAILAUDIT_NAMESERVER"],), ca_file=ca_file))
    print(f"lab: nameserver {env['MAILAUDIT_NAMESERVER']}, CA {ca_file}; CPUs: {os.cpu_count()}")
    print(f"mailaudit: {TLS_CONNECTIONS_PER_ENDPOINT} connections per endpoint")

    targets: list[TlsTarget] = []

    def run_ours() -> Timing:
        timing, found = asyncio.run(ours(ctx))
        targets[:] = found
        return timing

    mine = measured(env, run_ours)
    timings = [
        mine,
        measured(env, lambda: sslyze_cli(targets, ca_file, polite=True)),
        measured(env, lambda: sslyze_cli(targets, ca_file, polite=False)),
    ]
    if not args.skip_testssl:
        timings.append(measured(env, lambda: testssl(ca_file)))

    per_endpoint_ours = mine.wall_s / max(1, mine.endpoints)
    print(f"\n{'tool':42} {'endpoints':>9} {'wall s':>8} {'s/endpoint':>10} {'vs mailaudit':>12}")
    for t in timings:
        per = t.wall_s / max(1, t.endpoints)
        ratio = t.wall_s / mine.wall_s if t.endpoints == mine.endpoints else per / per_endpoint_ours
        kind = "x" if t.endpoints == mine.endpoints else "x/endpt"
        print(f"{t.name:42} {t.endpoints:>9} {t.wall_s:>8.1f} {per:>10.1f} {ratio:>10.2f} {kind}")
        if t.note:
            print(f"    {t.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
