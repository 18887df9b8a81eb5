"""Wall time of `discover` per lab scenario, as a table (not a test: timing belongs here).

    eval "$(fixtures/lab/lab.sh env)"
    python bench/discover.py [--runs 3] [--ispdb ../shared/ispdb] [ADDRESS...]

Each scenario runs with a fresh Context (no warm caches in the tool; the lab's DNS server may
cache). The goal is under one second per scenario, dead candidates included.
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
from mailaudit.discovery import DiscoveryResult, Recommendation, discover  # noqa: E402
from mailaudit.settings import Settings  # noqa: E402

# The foundation scenarios plus the discovery scenarios of fixtures/lab/README.md.
SCENARIOS = (
    "alice@good.test",
    "user@guess.test",
    "alice@dead.test",
    "alice@wellknown.test",
    "alice@httponly.test",
    "alice@srvonly.test",
    "alice@hosted.test",
    "alice@autodisc.test",
    "alice@conflict.test",
)


def _describe(rec: Recommendation | None) -> str:
    if rec is None:
        return "-"
    s = rec.setting
    return f"{s.protocol.value} {s.host}:{s.port} {s.security.value}"


def _source(result: DiscoveryResult) -> str:
    recs = [r for r in (result.incoming, result.outgoing) if r is not None]
    if not recs:
        return "-"
    return ", ".join(sorted({f"{r.source.value}/{r.trust.value}" for r in recs}))


async def _one(
    settings: Settings, address: str, ispdb: str | None
) -> tuple[float, DiscoveryResult]:
    ctx = Context.create(settings)
    started = time.perf_counter()
    result = await discover(ctx, address, ispdb_dir=ispdb)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("addresses", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ispdb", default=None)
    args = parser.parse_args()
    nameserver = os.environ.get("MAILAUDIT_NAMESERVER")
    if not nameserver:
        sys.exit('set the lab environment first: eval "$(fixtures/lab/lab.sh env)"')
    settings = Settings(nameservers=(nameserver,), ca_file=os.environ.get("MAILAUDIT_CA_FILE"))
    rows = []
    for address in args.addresses:
        times = []
        result = None
        for _ in range(args.runs):
            elapsed, result = asyncio.run(_one(settings, address, args.ispdb))
            times.append(elapsed)
        assert result is not None
        rows.append(
            (
                address,
                _describe(result.incoming),
                _describe(result.outgoing),
                _source(result),
                ",".join(sorted({f.id.removeprefix("discovery.") for f in result.findings})) or "-",
                f"{statistics.median(times) * 1000:.0f}",
                f"{max(times) * 1000:.0f}",
            )
        )
    header = ("scenario", "incoming", "outgoing", "source/trust", "findings", "median ms", "max ms")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
