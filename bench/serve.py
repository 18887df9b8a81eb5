"""`mailaudit serve` figures (not a test: timing belongs here).

    eval "$(fixtures/lab/lab.sh env)"          # inside the lab's network namespace
    python bench/serve.py [--users 50] [--seconds 30]

1. For each lab address, from a fresh client and with nothing reused: time to the first source
   on the page, to the answer and to the end of the page, beside the CLI's `discover` time for
   the same address (its own elapsed_ms, and the wall time of the command).
2. A bounded load on loopback: N people (each from its own 127.0.5.x address) load the form,
   ask for a lab address and download the answer, for S seconds; latency percentiles per kind
   of request, statuses, the most discoveries one client got, the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.serve.conftest import start_server, stop_server  # noqa: E402
from tests.serve.load import LAB_ADDRESSES, run_load, warm_up  # noqa: E402


def page_times(url: str, address: str, client: str) -> tuple[float, float, float]:
    """Seconds to the first source, to the answer, to the end of the page."""
    first = answer = float("nan")
    transport = httpx.HTTPTransport(local_address=client)
    started = time.monotonic()
    with (
        httpx.Client(transport=transport, timeout=60) as http,
        http.stream("POST", url + "/find", data={"address": address}) as response,
    ):
        response.raise_for_status()
        for text in response.iter_text():
            now = time.monotonic() - started
            if first != first and "data-source=" in text:  # nan: not seen yet
                first = now
            if answer != answer and 'id="answer"' in text:
                answer = now
    return first, answer, time.monotonic() - started


def cli_times(address: str) -> tuple[float, float]:
    """The CLI's own discovery time and the wall time of the command, in seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mailaudit", "discover", "--format", "json", address],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    return json.loads(done.stdout)["elapsed_ms"] / 1000, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k.startswith("MAILAUDIT_")}
    if "MAILAUDIT_NAMESERVER" not in env:
        sys.exit('run `eval "$(fixtures/lab/lab.sh env)"` first (the lab must be running)')

    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(env, Path(workdir))
        try:
            print(
                f"{'address':<24} {'first':>7} {'answer':>7} {'page':>7} {'cli':>7} {'cli wall':>8}"
            )
            for n, address in enumerate(LAB_ADDRESSES):
                local, _, domain = address.partition("@")
                fresh = f"{local}{n}bench{int(time.time())}@{domain}"  # nothing reused
                first, answer, page = page_times(server.url, fresh, f"127.0.7.{n + 1}")
                cli, wall = cli_times(fresh)
                print(
                    f"{address:<24} {first * 1000:>5.0f}ms {answer * 1000:>5.0f}ms "
                    f"{page * 1000:>5.0f}ms {cli * 1000:>5.0f}ms {wall * 1000:>6.0f}ms"
                )
            warm_up(server.url)
            result = asyncio.run(
                run_load(
                    server.url,
                    users=args.users,
                    duration_s=args.seconds,
                    server_pid=server.process.pid,
                )
            )
        finally:
            stop_server(server)

    print(f"\nload: {args.users} users, {result.elapsed_s:.1f} s, think time 0.5 s")
    for kind in ("page", "find", "download"):
        values = result.latencies_ms.get(kind, [])
        print(
            f"  {kind:<9} n={len(values):<5} p50={result.percentile(kind, 50):7.1f}ms "
            f"p90={result.percentile(kind, 90):7.1f}ms p99={result.percentile(kind, 99):7.1f}ms "
            f"max={max(values, default=float('nan')):7.1f}ms"
        )
    print(
        "  statuses: " + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(result.statuses.items()))
    )
    most = max(result.answered.values(), default=0)
    allowed = 5 + result.elapsed_s / 10 + 1
    print(f"  most discoveries answered for one client: {most} (limit allows {allowed:.0f})")
    print(f"  errors: {len(result.errors)} {result.errors[:3]}")
    print(f"  server peak RSS: {result.peak_rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
