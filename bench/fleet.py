"""An ISP's fleet on the lab: N customer domains on 10 shared hosts (issue 11). Prints figures;
not a test.

    # as root, inside the lab's network namespace, with the lab running:
    set -a; eval "$(fixtures/lab/lab.sh env)"; set +a
    python bench/fleet.py                          # N = 100, 1,000, 10,000; default and --skip tls
    python bench/fleet.py --sizes 100 --modes skip-tls --cap-s 120     # a quick run
    python bench/fleet.py --sizes 100 --modes default --tls-workers 4  # sslyze workers at once
    python bench/fleet.py --sizes 10000 --domain-workers 0             # the domain phase here

For each N it serves the fleet (`lab.sh fleet N`), then runs `mailaudit audit` as a child process
on all N domains (`--domains-file` when the CLI has it, else the domains as arguments) with
`--json`, once per mode, and prints:

* wall time, CPU seconds (user + system of the audit and its workers: less sensitive to the
  load of a shared machine) and exit status of the run (a run over `--cap-s` is killed: "killed");
* peak RSS of the whole process tree (the sum over the audit and every descendant, sampled
  every 50 ms from /proc: sslyze worker processes count);
* DNS queries sent per domain: UDP datagrams and TCP connections to the lab DNS (Knot 127.0.0.53
  and unbound 127.0.0.54) counted by nftables in the kernel, unbound's own queries to Knot left out;
* connections per shared endpoint: TCP SYNs to each (address, port) of fleet/hosts.txt counted by
  nftables (min / mean / max over the 15 endpoints; never-reached endpoints count as 0);
* domains fully audited (read from the JSON report: MX, SPF and DMARC judged, no error, no
  check run of the domain or of its endpoints "not tested" or "inconclusive"), the most common
  reasons for the others, and the unique endpoints in the report;
* the floor: the 15 shared endpoints audited alone (`--endpoint`, no domain), same mode.

Counting uses a table `inet mailaudit_bench` (counters only, policy accept) that is deleted at
the end; run the benchmark inside the lab's network namespace so it sees only the lab. Needs the
`nft` command (Debian package nftables, installed by `lab.sh install`); without it those columns
print "n/a".
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB_SH = ROOT / "fixtures" / "lab" / "lab.sh"
TABLE = "mailaudit_bench"
SCHEMES = {
    25: "smtp",
    587: "submission",
    465: "smtps",
    143: "imap",
    993: "imaps",
    110: "pop3",
    995: "pop3s",
}
MODES = {"default": (), "skip-tls": ("--skip", "tls")}
JUDGED = ("dns.mx", "spf.record", "dmarc.record")
INCOMPLETE = {"not_tested", "inconclusive"}


@dataclass(frozen=True)
class Endpoint:
    host: str
    address: str
    port: int

    @property
    def url(self) -> str:
        return f"{SCHEMES[self.port]}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Outcome:
    wall_s: float
    exit_status: str
    peak_rss_mib: float
    # user + system CPU seconds of the audit and every descendant it waited for (sslyze
    # workers): less sensitive than wall time to the load others put on a shared machine.
    cpu_s: float
    dns_queries: int | None
    connections: dict[Endpoint, int] | None
    report: dict[str, object] | None
    # When the tree's peak was, and each process's RSS then (MiB, the audit first).
    peak_at_s: float = 0.0
    peak_parts: str = ""


def lab(*args: str) -> str:
    out = subprocess.run(
        ["bash", str(LAB_SH), *args], capture_output=True, text=True, check=False, timeout=900
    )
    if out.returncode != 0:
        sys.exit(f"lab.sh {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def shared_endpoints(lab_dir: Path) -> list[Endpoint]:
    found = []
    for line in (lab_dir / "fleet" / "hosts.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        host, address, *ports = line.split()
        found += [Endpoint(host, address, int(p)) for p in ports]
    return found


# ---------------------------------------------------------------------------- process tree RSS
def tree_rss_bytes(root: int, parts: list[tuple[int, int]] | None = None) -> int:
    """The sum of RSS over `root` and its descendants; `parts` gets (pid, bytes) of each."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry.name))
    total, todo, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            total += rss
            if parts is not None:
                parts.append((pid, rss))
        todo += children.get(pid, [])
    return total


class PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()
        # When the peak was (seconds into the run) and each process's share (MiB) then.
        self.peak_at, self.peak_parts = 0.0, ""
        self._t0 = time.perf_counter()

    def run(self) -> None:
        while not self.done.wait(0.05):
            parts: list[tuple[int, int]] = []
            total = tree_rss_bytes(self.pid, parts)
            if total > self.peak:
                self.peak = total
                self.peak_at = time.perf_counter() - self._t0
                self.peak_parts = "+".join(f"{rss / 2**20:.0f}" for _, rss in parts)


# --------------------------------------------------------------------------- nftables counters
class Counters:
    """Kernel counters: DNS packets to the lab DNS, TCP SYNs to each shared endpoint."""

    def __init__(self, endpoints: list[Endpoint], dns_servers: list[str]) -> None:
        self.endpoints = endpoints
        self.available = shutil.which("nft") is not None and os.geteuid() == 0
        if not self.available:
            return
        self.nft(f"add table inet {TABLE}")
        self.nft(f"flush table inet {TABLE}")
        self.nft(
            f"add chain inet {TABLE} out {{ type filter hook output priority 0; policy accept; }}"
        )
        for server in dns_servers:
            # unbound (127.0.0.54) asking Knot on our behalf is not the tool asking
            for proto in ("udp", "tcp"):
                syn = " tcp flags & (syn|ack) == syn" if proto == "tcp" else ""
                self.nft(
                    f"add rule inet {TABLE} out ip saddr != 127.0.0.54 ip daddr {server} "
                    f'{proto} dport 53{syn} counter comment "dns"'
                )
        for e in endpoints:
            self.nft(
                f"add rule inet {TABLE} out ip daddr {e.address} tcp dport {e.port} "
                f'tcp flags & (syn|ack) == syn counter comment "{e.address}:{e.port}"'
            )

    @staticmethod
    def nft(command: str) -> None:
        subprocess.run(["nft", command], check=True)

    def read(self) -> tuple[int, dict[str, int]]:
        listing = json.loads(
            subprocess.run(
                ["nft", "-j", "list", "table", "inet", TABLE],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        dns_packets, per_endpoint = 0, {}
        for item in listing["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            packets = next(x["counter"]["packets"] for x in rule["expr"] if "counter" in x)
            if rule.get("comment") == "dns":
                dns_packets += packets
            else:
                per_endpoint[rule["comment"]] = packets
        return dns_packets, per_endpoint

    def close(self) -> None:
        if self.available:
            subprocess.run(["nft", f"delete table inet {TABLE}"], check=False)


# ----------------------------------------------------------------------------------- one run
def supports_domains_file() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "mailaudit", "audit", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "--domains-file" in out.stdout


def run(args: list[str], counters: Counters, cap_s: float, workdir: Path) -> Outcome:
    json_path = workdir / "report.json"
    json_path.unlink(missing_ok=True)
    before = counters.read() if counters.available else None
    command = [sys.executable, "-m", "mailaudit", "audit", *args, "-q", "--json", str(json_path)]
    started = time.perf_counter()
    cpu_before = _children_cpu_s()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    sampler = PeakSampler(child.pid)
    sampler.start()
    try:
        status = str(child.wait(timeout=cap_s))
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the audit and its workers: a session of our own
        child.wait()
        status = "killed"
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu_before
    sampler.done.set()
    sampler.join()
    dns_queries = connections = None
    if before is not None:
        after = counters.read()
        dns_queries = after[0] - before[0]
        connections = {
            e: after[1][f"{e.address}:{e.port}"] - before[1][f"{e.address}:{e.port}"]
            for e in counters.endpoints
        }
    report = None
    if json_path.exists():
        report = json.loads(json_path.read_text())
    return Outcome(
        wall,
        status,
        sampler.peak / 2**20,
        cpu,
        dns_queries,
        connections,
        report,
        sampler.peak_at,
        sampler.peak_parts,
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------------------ judging output
def audited(report: dict[str, object]) -> tuple[int, int, collections.Counter[str]]:
    """(fully audited, MX+SPF+DMARC judged, why the others were not) from the JSON report."""
    endpoints = {e["id"]: e for e in report["endpoints"]}  # type: ignore[attr-defined]
    full = judged = 0
    why: collections.Counter[str] = collections.Counter()
    for d in report["domains"]:  # type: ignore[attr-defined]
        runs = {r["check"]: r for r in d["checks"]}
        is_judged = all(c in runs and runs[c]["status"] in ("passed", "failed") for c in JUDGED)
        judged += is_judged
        missing = [
            c for c in JUDGED if c not in runs or runs[c]["status"] not in ("passed", "failed")
        ]
        reasons = [f"{c}: {runs[c]['status'] if c in runs else 'missing'}" for c in missing]
        for r in list(d["checks"]) + [
            r for eid in d["endpoint_ids"] for r in endpoints[eid]["checks"]
        ]:
            if r["status"] in INCOMPLETE:
                reasons.append(f"{r['check']}: {r['status']} ({(r.get('reason') or '')[:50]})")
        reasons += [f"error: {e[:60]}" for e in d.get("errors", ())]
        if reasons:
            why.update(set(reasons))
        else:
            full += 1
    return full, judged, why


def row(label: str, n: int, o: Outcome, show_why: bool) -> None:
    if o.dns_queries is None:
        per_domain = f"{'n/a':>8}"
    else:  # the floor has no domain: its total
        per_domain = f"{o.dns_queries / n:8.1f}" if n else f"{o.dns_queries:4d} all"
    if o.connections is not None:
        counts = list(o.connections.values())
        conns = f"{min(counts):4d} {sum(counts) / len(counts):7.1f} {max(counts):6d}"
    else:
        conns = f"{'n/a':>19}"
    if o.report is not None:
        full, judged, why = audited(o.report)
        done = f"{full:6d} / {n:<6d}" if n else f"{'-':>15}"
        endpoints = len(o.report["endpoints"])  # type: ignore[arg-type]
    else:
        judged, why, done, endpoints = 0, collections.Counter(), f"{'no report':>15}", 0
    print(
        f"{label:<16} {o.wall_s:8.1f} {o.cpu_s:7.1f} {o.exit_status:>6} {o.peak_rss_mib:9.0f} "
        f"{per_domain} "
        f"{conns} {done} {judged if n else '-':>7} {endpoints:5d}",
        flush=True,
    )
    if o.peak_parts:
        print(f"{'':18}peak at {o.peak_at_s:.1f} s: {o.peak_parts} MiB", flush=True)
    if show_why and n:
        for reason, count in why.most_common(4):
            print(f"{'':18}{count:6d} x {reason}", flush=True)


def main() -> None:
    if "--dask" in sys.argv[1:]:
        # Issue 12: the local engine beside Dask local:1 and local:2 (bench/fleet_dask.py, which
        # takes the remaining options: --size N, --skip-tls, --engines).
        rest = [a for a in sys.argv[1:] if a != "--dask"]
        script = str(Path(__file__).with_name("fleet_dask.py"))
        os.execv(sys.executable, [sys.executable, script, *rest])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated N")
    parser.add_argument("--modes", default="default,skip-tls", help="default, skip-tls")
    parser.add_argument("--cap-s", type=float, default=600.0, help="kill a run after this long")
    parser.add_argument("--no-floor", action="store_true", help="skip the --endpoint floor")
    parser.add_argument("--keep-fleet", action="store_true", help="leave the last fleet served")
    parser.add_argument(
        "--tls-workers", type=int, help="sslyze worker processes (default: the tool's own)"
    )
    parser.add_argument(
        "--domain-workers",
        type=int,
        help="domain worker processes (default: the tool's own: one per core from 200 domains)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            parser.error(f"unknown mode {m!r}: {', '.join(MODES)}")
    lab_dir = Path(os.environ.get("MAILAUDIT_LAB_DIR", "/tmp/mailaudit-lab"))
    if "MAILAUDIT_NAMESERVER" not in os.environ:
        sys.exit('set the lab environment first: set -a; eval "$(fixtures/lab/lab.sh env)"')
    before_fleet = lab("fleet").strip() or "0"
    lab("fleet", str(max(sizes)))  # hosts.txt exists once a fleet does
    endpoints = shared_endpoints(lab_dir)
    dns_servers = ["127.0.0.53", os.environ.get("MAILAUDIT_LAB_RESOLVER", "127.0.0.54")]
    counters = Counters(endpoints, dns_servers)
    domains_file = supports_domains_file()
    extra = ["--tls-workers", str(args.tls_workers)] if args.tls_workers else []
    if args.domain_workers is not None:
        extra += ["--domain-workers", str(args.domain_workers)]
    print(
        f"fleet benchmark: {len(endpoints)} shared endpoints on "
        f"{len({e.host for e in endpoints})} hosts; commit "
        + subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()[:70]
    )
    print(
        f"domains given with {'--domains-file' if domains_file else 'arguments'}; "
        f"counting {'with nftables' if counters.available else 'unavailable (no nft / not root)'}; "
        f"cap {args.cap_s:.0f} s per run; TLS workers {args.tls_workers or 'default'}; "
        f"domain workers {'default' if args.domain_workers is None else args.domain_workers}; "
        f"load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (a shared machine: wall time varies, CPU s less)"
    )
    print(
        f"{'run':<16} {'wall s':>8} {'CPU s':>7} {'exit':>6} {'peak MiB':>9} {'DNS q/d':>8} "
        f"{'conn/endpoint min mean max':>19} {'fully audited':>15} {'judged':>7} {'endp':>5}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            workdir = Path(tmp)
            for mode in modes:
                if not args.no_floor:
                    floor_args = [a for e in endpoints for a in ("--endpoint", e.url)]
                    o = run([*floor_args, *MODES[mode], *extra], counters, args.cap_s, workdir)
                    row(f"floor {mode}", 0, o, False)
            for n in sizes:
                lab("fleet", str(n))
                domains = (lab_dir / "fleet" / "domains.txt").read_text().split()
                if domains_file:
                    target = ["--domains-file", str(lab_dir / "fleet" / "domains.txt")]
                else:
                    target = domains
                for mode in modes:
                    o = run([*target, *MODES[mode], *extra], counters, args.cap_s, workdir)
                    row(f"N={n} {mode}", n, o, True)
    finally:
        counters.close()
        if not args.keep_fleet:
            lab("fleet", before_fleet)


if __name__ == "__main__":
    main()
