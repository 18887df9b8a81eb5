"""JSON size of a finding storm: the DNS-only audit of storm.test (1,000 MX hosts without SPF).

    eval "$(fixtures/lab/lab.sh env)"
    python bench/storm.py [DOMAIN]

Prints the size of the JSON report, how much of it is findings, and the findings per id.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailaudit.audit.runner import AuditOptions, run_audit  # noqa: E402
from mailaudit.context import Context  # noqa: E402
from mailaudit.report.json_report import dump_report  # noqa: E402
from mailaudit.settings import Settings  # noqa: E402


async def main(domain: str) -> None:
    ctx = Context.create(
        Settings(nameservers=(os.environ.get("MAILAUDIT_NAMESERVER", "127.0.0.53"),))
    )
    started = time.perf_counter()
    report = await run_audit(ctx, [domain], AuditOptions(dns_only=True))
    elapsed = time.perf_counter() - started
    text = dump_report(report)
    data = json.loads(text)
    findings = [f for d in data["domains"] for f in d["findings"]]
    findings_bytes = len(json.dumps(findings, indent=2))
    print(f"{domain}: audit --only policy in {elapsed:.1f} s")
    print(
        f"JSON report: {len(text.encode()):,} bytes; findings: {len(findings)} ({findings_bytes:,} bytes)"
    )
    for finding_id, count in sorted(Counter(f["id"] for f in findings).items()):
        print(f"  {finding_id}: {count}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "storm.test"))
