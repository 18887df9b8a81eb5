"""Wall time of `discover` when a higher-priority source never answers (issue 10 item 10).

    eval "$(fixtures/lab/lab.sh env)"
    python bench/discover_silent.py [--runs 7] [ADDRESS]

autoconfig.slowsrc.test accepts connections on 80 and 443 and never answers; slowsrc.test's SRV
records lead to working servers. Once SRV gave verified settings the silent source gets a short
grace and is given up, so the median should stay under 2 s (it was ~5 s before: the fetch
timeout of the silent host). Each run uses a fresh Context.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailaudit.context import Context  # noqa: E402
from mailaudit.discovery import discover  # noqa: E402
from mailaudit.settings import Settings  # noqa: E402

TARGET_S = 2.0


async def _one(settings: Settings, address: str) -> tuple[float, str]:
    ctx = Context.create(settings)
    started = time.perf_counter()
    result = await discover(ctx, address)
    elapsed = time.perf_counter() - started
    answer = "-"
    if result.incoming is not None:
        s = result.incoming.setting
        answer = f"{result.incoming.source.value}: {s.host}:{s.port}"
    given_up = [o.source.value for o in result.sources if o.status.value == "given-up"]
    return elapsed, f"{answer}; given up: {', '.join(given_up) or 'none'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("address", nargs="?", default="alice@slowsrc.test")
    args = parser.parse_args()
    settings = Settings(
        nameservers=(os.environ.get("MAILAUDIT_NAMESERVER", "127.0.0.53"),),
        ca_file=os.environ.get("MAILAUDIT_CA_FILE"),
    )
    times = []
    for run in range(args.runs):
        elapsed, what = asyncio.run(_one(settings, args.address))
        times.append(elapsed)
        print(f"run {run + 1}: {elapsed:.2f} s  {what}")
    median = statistics.median(times)
    print(
        f"{args.address}: median {median:.2f} s, max {max(times):.2f} s over {args.runs} runs "
        f"(target < {TARGET_S:g} s: {'ok' if median < TARGET_S else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
