"""Wall time of `audit` per lab scenario, and of the whole lab in one run (not a test).

    eval "$(fixtures/lab/lab.sh env)"
    python bench/audit.py [--skip tls] [DOMAIN...]

Each scenario runs alone with a fresh Context, then all of them together: the second figure is
what an ISP auditing many domains at once sees (shared hosts probed once, one sslyze run).
Default timeouts (10 s per step, 30 s per endpoint): dead.test's tarpit costs one step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailaudit.audit.runner import AuditOptions, run_audit  # noqa: E402
from mailaudit.context import Context  # noqa: E402
from mailaudit.model import Report, Severity  # noqa: E402
from mailaudit.settings import Settings  # noqa: E402

INFRASTRUCTURE = {"lab.test", "collector.test"}


def lab_domains() -> list[str]:
    zones = sorted((ROOT / "fixtures" / "lab" / "zones").glob("*.zone"))
    names = [z.name.removesuffix(".zone") for z in zones]
    return [n for n in names if n not in INFRASTRUCTURE and not n.endswith("arpa")]


def context() -> Context:
    settings = Settings(
        nameservers=(os.environ.get("MAILAUDIT_NAMESERVER", "127.0.0.53"),),
        ca_file=os.environ.get("MAILAUDIT_CA_FILE"),
    )
    return Context.create(settings)


def notable(report: Report) -> str:
    found = sorted(
        {
            f"{f.id}({f.severity.value})"
            for f in report.all_findings()
            if f.severity.at_least(Severity.MEDIUM)
        }
    )
    return ", ".join(found) or "-"


async def timed(domains: list[str], options: AuditOptions) -> tuple[float, Report]:
    started = time.perf_counter()
    report = await run_audit(context(), domains, options)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("domains", nargs="*")
    parser.add_argument(
        "--skip", action="append", default=[], choices=["tls", "policy", "discovery", "protocol"]
    )
    args = parser.parse_args()
    options = AuditOptions(
        tls="tls" not in args.skip,
        policy="policy" not in args.skip,
        discovery="discovery" not in args.skip,
        protocol_audit="protocol" not in args.skip,
    )
    domains = args.domains or lab_domains()
    print(f"{'domain':<18} {'wall s':>7} {'endpoints':>9}  findings at medium or above")
    for domain in domains:
        seconds, report = asyncio.run(timed([domain], options))
        print(f"{domain:<18} {seconds:7.2f} {len(report.endpoints):9d}  {notable(report)}")
    seconds, report = asyncio.run(timed(domains, options))
    print(
        f"{'all together':<18} {seconds:7.2f} {len(report.endpoints):9d}  ({len(domains)} domains in one run)"
    )
    # ru_maxrss is in KiB on Linux: the peak of this whole process, the runs above included.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
