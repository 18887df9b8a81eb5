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
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_s(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and median CPU (user + system) seconds of `runs` runs; CPU time stays
    meaningful when other work loads the machine, wall time is what a person waits."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


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
    bare_wall, bare_cpu = results["python -c pass"]
    load = os.getloadavg()[0]
    print(f"median of {args.runs} runs, seconds (python {sys.version.split()[0]}, load {load:.1f})")
    print(f"  {'command':44} {'wall':>6} {'+bare':>7} {'cpu':>6} {'+bare':>7}")
    for name, (wall, cpu) in results.items():
        print(f"  {name:44} {wall:6.3f} {wall - bare_wall:+7.3f} {cpu:6.3f} {cpu - bare_cpu:+7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
