"""Start-up cost of the command line, beside a bare interpreter in the same run (prints figures;
not a test: timing belongs here).

    eval "$(fixtures/lab/lab.sh env)"; export MAILAUDIT_NAMESERVER MAILAUDIT_CA_FILE
    python bench/startup.py [--runs 5] [--address alice@good.test]

Each command runs as a fresh process (`python -m mailaudit ...`), so interpreter start and every
import are included; the figure is the median wall time of `--runs` runs. Targets (issue 9):
`--version` and `--help` within 0.15 s of `python -c pass`; `discover` of a lab address under
0.4 s wall. `discover` runs only when the lab variables are set (MAILAUDIT_NAMESERVER).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_s(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--address", default="alice@good.test")
    args = parser.parse_args()

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    py = sys.executable
    cases: list[tuple[str, list[str]]] = [
        ("python -c pass", [py, "-c", "pass"]),
        ("mailaudit --version", [py, "-m", "mailaudit", "--version"]),
        ("mailaudit --help", [py, "-m", "mailaudit", "--help"]),
    ]
    if env.get("MAILAUDIT_NAMESERVER"):
        cases.append(
            (
                f"mailaudit discover {args.address}",
                [py, "-m", "mailaudit", "discover", args.address],
            )
        )
    else:
        print("(MAILAUDIT_NAMESERVER not set: discover skipped; start the lab and export its env)")

    results = {name: _median_s(argv, args.runs, env) for name, argv in cases}
    bare = results["python -c pass"]
    print(f"median of {args.runs} runs, wall seconds (python {sys.version.split()[0]})")
    for name, seconds in results.items():
        extra = "" if name == "python -c pass" else f"   (+{seconds - bare:.3f} over bare)"
        print(f"  {name:40} {seconds:6.3f}{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
