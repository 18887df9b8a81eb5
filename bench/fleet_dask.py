"""The fleet on Dask (issue 12): the lab fleet audited by the local engine, by `--dask local:1`
and by `--dask local:2`, in one run. Prints figures; not a test.

    # as root, inside the lab's network namespace, with the lab running:
    set -a; eval "$(fixtures/lab/lab.sh env)"; set +a
    python bench/fleet_dask.py                       # N = 10,000, default checks
    python bench/fleet.py --dask --size 1000         # the same, through bench/fleet.py
    python bench/fleet_dask.py --size 1000 --skip-tls

For each engine it runs `mailaudit audit --domains-file ... --json ...` as a child process and
prints the wall time, the CPU time of all its processes and of the client process alone (on a
shared machine a steadier measure of an engine's extra work than wall time), the peak RSS of
each process of the run (the client, which also holds the LocalCluster's scheduler and nannies,
and each worker process; sampled from /proc every 100 ms), the domains fully audited (and why
the first few others were not), and the scheduler overhead two ways: the extra wall and CPU time
over the local engine per domain and per endpoint (the work is the same; what differs is
shipping units and facts through the scheduler, and starting the cluster), and the Dask engine's
own account (its INFO log): per task, the time from submit to facts on the client against the
time in the units on the worker, and the connection leases. The load average is printed with
each row: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB_SH = ROOT / "fixtures" / "lab" / "lab.sh"
ENGINES = {"local": (), "local:1": ("--dask", "local:1"), "local:2": ("--dask", "local:2")}
# The CLI with the Dask engine's account of its costs (INFO on its logger) on stderr.
CHILD = (
    "import logging, runpy, sys;"
    "logging.basicConfig(level=logging.WARNING, format='%(message)s', stream=sys.stderr);"
    "logging.getLogger('mailaudit.audit.dask_engine').setLevel(logging.INFO);"
    "sys.argv[0] = 'mailaudit';"
    "runpy.run_module('mailaudit', run_name='__main__', alter_sys=True)"
)


def children(pid: int) -> list[int]:
    # Every thread's children: Dask's nannies start worker processes from threads of their own.
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children(pid)
    return out


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def role(pid: int, root: int) -> str:
    if pid == root:
        return "client"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    if "spawn_main" in cmd or "forkserver" in cmd:
        return f"worker-{pid}"
    return f"child-{pid}"


def cpu_of(pid: int) -> float:
    """CPU seconds a live process has used so far (user + system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of_children() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(args: list[str]) -> tuple[float, float, float, int, dict[str, int], int, list[str]]:
    """Wall s, CPU s of the whole tree (every process it started, once reaped) and of the client
    alone (last sample), exit status, peak RSS by process role, peak RSS of the whole tree, the
    Dask engine's account."""
    started = time.monotonic()
    cpu_before = cpu_of_children()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks: dict[str, int] = {}
    tree_peak = 0
    client_cpu = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal tree_peak, client_cpu
        while not stop.is_set():
            client_cpu = max(client_cpu, cpu_of(proc.pid))
            total = 0
            for pid in tree(proc.pid):
                rss = rss_bytes(pid)
                total += rss
                name = role(pid, proc.pid)
                peaks[name] = max(peaks.get(name, 0), rss)
            tree_peak = max(tree_peak, total)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode not in (0, 1, 3, 4):
        sys.stderr.write(err[-2000:])
    account = [line for line in err.splitlines() if line.startswith("dask: ")]
    wall = time.monotonic() - started
    cpu = cpu_of_children() - cpu_before
    return wall, cpu, client_cpu, proc.returncode, peaks, tree_peak, account


def fully_audited(report_path: Path) -> tuple[int, int, int, list[str]]:
    """Domains, fully audited domains, endpoints, and why the first few others were not."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    domains = report["domains"]
    full = 0
    why: list[str] = []
    for d in domains:
        open_checks = [
            f"{c['check']} {c['subject']}: {c['status']} ({c.get('reason')})"
            for c in d.get("checks", [])
            if c["status"] in ("not_tested", "inconclusive")
        ]
        if not d.get("errors") and not open_checks:
            full += 1
        elif len(why) < 3:
            why.append(f"{d['domain']}: {'; '.join([*d.get('errors', []), *open_checks])[:300]}")
    return len(domains), full, len(report["endpoints"]), why


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="customer domains (fleet lab)")
    parser.add_argument("--skip-tls", action="store_true", help="audit with --skip tls")
    parser.add_argument("--engines", default=",".join(ENGINES), help="local, local:1, local:2")
    args = parser.parse_args()
    env_lab = os.environ.get("MAILAUDIT_LAB_DIR", "/tmp/mailaudit-lab")
    subprocess.run(["bash", str(LAB_SH), "fleet", str(args.size)], check=True)
    domains_file = Path(env_lab) / "fleet" / "domains.txt"
    extra = ["--skip", "tls"] if args.skip_tls else []
    mode = "--skip tls" if args.skip_tls else "default checks"
    print(f"fleet lab: {args.size} domains, {mode}, {os.cpu_count()} cores")
    print(
        f"{'engine':8} {'wall s':>8} {'cpu s':>7} {'client':>7} {'exit':>4} {'domains':>8} "
        f"{'full':>6} {'endpts':>6}"
        "  peak RSS MB per process (tree)"
    )
    walls: dict[str, tuple[float, float, int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.engines.split(","):
            out = Path(tmp) / f"{name.replace(':', '-')}.json"
            cmd = [
                sys.executable,
                "-c",
                CHILD,
                "audit",
                "--domains-file",
                str(domains_file),
                "-q",
                "--json",
                str(out),
                *extra,
                *ENGINES[name],
            ]
            wall, cpu, client_cpu, status, peaks, tree_peak, account = run(cmd)
            total, full, endpoints, why = fully_audited(out) if out.exists() else (0, 0, 0, [])
            per = ", ".join(
                f"{role_name} {rss / 2**20:.0f}"
                for role_name, rss in sorted(peaks.items())
                if rss > 20 * 2**20
            )
            print(
                f"{name:8} {wall:8.1f} {cpu:7.1f} {client_cpu:7.1f} {status:>4} {total:>8} "
                f"{full:>6} {endpoints:>6}"
                f"  {per} ({tree_peak / 2**20:.0f})  load {os.getloadavg()[0]:.1f}"
            )
            for line in account:
                print(f"{'':8} {line}")
            for line in why:
                print(f"{'':8} not fully audited: {line}")
            walls[name] = (wall, cpu, total, endpoints)
    if "local" not in walls:
        return
    base, base_cpu, _, _ = walls["local"]
    for name, (wall, cpu, total, endpoints) in walls.items():
        if name == "local" or not total:
            continue
        extra_s = wall - base
        print(
            f"{name:8} vs local: wall {extra_s:+.1f} s = "
            f"{extra_s / total * 1000:+.2f} ms per domain unit, "
            f"{extra_s / max(1, endpoints) * 1000:+.0f} ms per endpoint unit, "
            f"ratio {wall / base:.2f}x; cpu {cpu - base_cpu:+.1f} s = "
            f"{(cpu - base_cpu) / total * 1000:+.2f} ms per domain unit, ratio {cpu / base_cpu:.2f}x"
        )


if __name__ == "__main__":
    main()
