"""Peak memory (RSS) of each command against hostile peers (issue 10 item 6). Target: < 150 MB.

    ip netns exec NS python bench/hostile.py [--hold 20]

With the lab's variables exported (MAILAUDIT_NAMESERVER, MAILAUDIT_CA_FILE) it also audits the
lab's hostile scenarios (tarpit, script banners, STARTTLS injection, 421, and good.test as the
control), TLS scans included.

Run it inside your own network namespace: it binds in-process fakes on 127.0.0.165-169 (mail,
HTTP and DNS ports) and runs each `mailaudit` command as a child process, sampling every 20 ms
the command's own peak (VmHWM) and its whole process tree (TLS scans run in worker processes),
printed separately: the command's own process, its largest child, and the tree's sum of RSS (the
verdict). The tree's PSS (shared pages split between the processes that map them) is printed
beside it for information. Fakes (all on loopback, each stops by itself after --hold seconds):

    flood    (127.0.0.165) every port sends protocol-shaped lines as fast as it can; port 80
             answers 200 with an endless body
    lines    (127.0.0.163) the same with the shortest lines ("220-x"): many lines per byte
    headers  (127.0.0.166) port 80 sends endless HTTP header lines; mail ports flood too
    drip     (127.0.0.167) every port sends one byte every 20 ms
    tarpit   (127.0.0.168) accepts and never sends
    banner   (127.0.0.164) a well-formed SMTP/IMAP/POP3 server whose greetings and replies carry
             <script> markup; no TLS
    DNS      (127.0.0.169:53) answers A and MX for the *.bench names, NXDOMAIN otherwise

Each domain X.bench has MX mx.X.bench, autoconfig.X.bench and the classic smtp./imap./pop3./
mail. names on its address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Awaitable, Callable
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 150.0
DNS_ADDRESS = "127.0.0.169"
DOMAINS = {
    "flood": "127.0.0.165",
    "headers": "127.0.0.166",
    "drip": "127.0.0.167",
    "tarpit": "127.0.0.168",
    "banner": "127.0.0.164",
    "lines": "127.0.0.163",
}
# Lab scenarios (fixtures/lab/README.md) with hostile TLS-speaking servers and a control.
LAB_DOMAINS = ("dead.test", "hostile.test", "inject.test", "busy.test", "good.test")
SMTP_PORTS = (25, 465, 587)
IMAP_PORTS = (143, 993)
POP3_PORTS = (110, 995)
HTTP_PORTS = (80, 443)
SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _line(port: int, *, short: bool = False) -> bytes:
    filler = b"x" if short else b"x" * 990
    if port in SMTP_PORTS:
        return b"220-" + filler + b"\r\n"
    if port in IMAP_PORTS:
        return b"* OK " + filler + b"\r\n"
    if port in POP3_PORTS:
        return b"+OK " + filler + b"\r\n"
    return filler + b"\r\n"


def _flood(port: int, hold_s: float, *, headers: bool = False, short: bool = False) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + hold_s
        if port in HTTP_PORTS:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n")
            if not headers:
                writer.write(b"\r\n")
        line = b"X-Flood: " + b"y" * 990 + b"\r\n" if headers else _line(port, short=short)
        chunk = line * (64 * 1000 // len(line))
        with contextlib.suppress(Exception):
            while loop.time() < end:
                writer.write(chunk)
                await writer.drain()
        writer.close()

    return handle


def _drip(port: int, hold_s: float) -> Handler:
    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + hold_s
        data = _line(port)
        with contextlib.suppress(Exception):
            i = 0
            while loop.time() < end:
                writer.write(data[i % len(data) : i % len(data) + 1])
                await writer.drain()
                i += 1
                await asyncio.sleep(0.02)
        writer.close()

    return handle


def _tarpit(hold_s: float) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(-1), hold_s)
        writer.close()

    return handle


def _banner(port: int) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if port in SMTP_PORTS:
            greeting, ok = f"220 mx {SCRIPT} ESMTP\r\n", f"250 {SCRIPT}\r\n"
        elif port in IMAP_PORTS:
            greeting, ok = f"* OK [CAPABILITY IMAP4rev1] {SCRIPT}\r\n", f"OK {SCRIPT}\r\n"
        elif port in POP3_PORTS:
            greeting, ok = f"+OK {SCRIPT}\r\n", f"+OK {SCRIPT}\r\n.\r\n"
        else:
            writer.close()
            return
        writer.write(greeting.encode())
        with contextlib.suppress(Exception):
            for _ in range(50):
                line = await asyncio.wait_for(reader.readline(), 10)
                if not line:
                    break
                word = line.split()[:2]
                if port in IMAP_PORTS and word:
                    writer.write(word[0] + b" " + ok.encode())
                elif port in SMTP_PORTS and line[:4].upper() == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                else:
                    writer.write(ok.encode())
                await writer.drain()
        writer.close()

    return handle


def _dns_answer(wire: bytes) -> bytes:
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name.to_text().rstrip(".").lower()
    rdtype = dns.rdatatype.to_text(question.rdtype)
    label = name.removesuffix(".bench").rsplit(".", 1)[-1]
    if not name.endswith(".bench") or label not in DOMAINS:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
    if rdtype == "A" and name != f"{label}.bench":
        response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "A", DOMAINS[label]))
    elif rdtype == "MX" and name == f"{label}.bench":
        response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "MX", f"10 mx.{name}."))
    return response.to_wire()


class _Dns(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(Exception):
            self.transport.sendto(_dns_answer(data), addr)


async def _serve(hold_s: float, ready: threading.Event, stop: threading.Event) -> None:
    loop = asyncio.get_running_loop()
    servers = []
    for kind, address in DOMAINS.items():
        for port in (*SMTP_PORTS, *IMAP_PORTS, *POP3_PORTS, *HTTP_PORTS):
            if kind == "flood":
                handler = _flood(port, hold_s)
            elif kind == "lines":
                handler = _flood(port, hold_s, short=True)
            elif kind == "headers":
                handler = _flood(port, hold_s, headers=port in HTTP_PORTS)
            elif kind == "drip":
                handler = _drip(port, hold_s)
            elif kind == "tarpit":
                handler = _tarpit(hold_s)
            else:
                handler = _banner(port)
            servers.append(await asyncio.start_server(handler, address, port))
    transport, _ = await loop.create_datagram_endpoint(_Dns, local_addr=(DNS_ADDRESS, 53))
    ready.set()
    await asyncio.to_thread(stop.wait)
    transport.close()
    for server in servers:
        server.close()


def _children(pid: int) -> list[int]:
    # Every thread's children: TLS scans run in worker processes started from threads.
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20
    return 0.0


def _status_mb(pid: int, field: str) -> float:
    """A "kB" line of /proc/PID/status (VmHWM: the process's own peak RSS so far)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass
class Peaks:
    """Peaks in MB, sampled every 20 ms: the command's own process (its VmHWM, exact up to the
    last 20 ms; wait4's ru_maxrss would be the largest of the command and its reaped children,
    i.e. a TLS worker's peak), the whole process tree (the sum of every process's RSS: the
    verdict; and the sum of their PSS, for information) and the largest single child process."""

    own: float = 0.0
    tree: float = 0.0
    child: float = 0.0
    tree_pss: float = 0.0

    def sample(self, root: int) -> None:
        todo, total, largest = _children(root), _rss_mb(root), 0.0
        pss = _pss_mb(root)
        self.own = max(self.own, _status_mb(root, "VmHWM"))
        while todo:
            pid = todo.pop()
            rss = _rss_mb(pid)
            total += rss
            pss += _pss_mb(pid)
            largest = max(largest, rss)
            todo += _children(pid)
        self.tree, self.child = max(self.tree, total), max(self.child, largest)
        self.tree_pss = max(self.tree_pss, pss)


def _measure(args: list[str], timeout_s: float) -> tuple[Peaks, float, int]:
    """(peaks, seconds, exit status) of one mailaudit command."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "mailaudit", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = started + timeout_s
    peaks = Peaks()
    while True:
        peaks.sample(child.pid)
        if child.poll() is not None:
            break
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            break
        time.sleep(0.02)
    peaks.tree = max(peaks.tree, peaks.own)  # a peak between two samples
    return peaks, time.monotonic() - started, child.returncode


def _without_settings(command: list[str]) -> list[str]:
    """The command as printed: without the options every run shares (nameserver, timeouts)."""
    shared = {"--nameserver", "--ca-file", "--timeout", "--budget"}
    return [a for i, a in enumerate(command) if a not in shared and command[i - 1] not in shared]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=20.0, help="seconds each fake keeps going")
    parser.add_argument("--timeout", type=float, default=2.0, help="mailaudit --timeout")
    parser.add_argument("--budget", type=float, default=8.0, help="mailaudit --budget")
    parser.add_argument(
        "--lab-only", action="store_true", help="only the lab audit (needs the lab's variables)"
    )
    args = parser.parse_args()
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=asyncio.run, args=(_serve(args.hold, ready, stop),))
    thread.start()
    ready.wait(10)
    common = [
        "--nameserver",
        DNS_ADDRESS,
        "--timeout",
        str(args.timeout),
        "--budget",
        str(args.budget),
    ]
    commands = [
        ["discover", "alice@flood.bench", "--format", "json"],
        ["discover", "alice@headers.bench", "--format", "json"],
        ["discover", "alice@drip.bench", "--format", "json"],
        ["discover", "alice@lines.bench", "--format", "json"],
        ["probe", "smtp://mx.lines.bench", "imap://mx.lines.bench", "pop3://mx.lines.bench"],
        ["audit", "lines.bench", "--skip", "tls"],
        [
            "probe",
            "smtp://mx.flood.bench",
            "imap://mx.flood.bench",
            "pop3://mx.flood.bench",
            "smtps://mx.flood.bench",
        ],
        ["audit", "flood.bench", "--skip", "tls"],
        [
            "audit",
            *(f"{domain}.bench" for domain in DOMAINS),
        ],
    ]
    runs = [] if args.lab_only else [[*command, *common] for command in commands]
    lab_dns, lab_ca = os.environ.get("MAILAUDIT_NAMESERVER"), os.environ.get("MAILAUDIT_CA_FILE")
    if lab_dns and lab_ca:
        # With the lab running: hostile servers that speak TLS (TLS scans included).
        runs.append(
            [
                "audit",
                *LAB_DOMAINS,
                "--nameserver",
                lab_dns,
                "--ca-file",
                lab_ca,
                "--timeout",
                str(args.timeout),
                "--budget",
                str(args.budget),
            ]
        )
    worst = Peaks()
    try:
        for command in runs:
            peaks, seconds, status = _measure(command, timeout_s=600)
            worst.own, worst.tree = max(worst.own, peaks.own), max(worst.tree, peaks.tree)
            worst.child = max(worst.child, peaks.child)
            worst.tree_pss = max(worst.tree_pss, peaks.tree_pss)
            shown = " ".join(_without_settings(command))
            print(
                f"{peaks.own:7.1f} MB own  {peaks.tree:7.1f} MB tree  {peaks.child:7.1f} MB "
                f"largest child  ({peaks.tree_pss:6.1f} MB tree PSS)  {seconds:6.1f} s  "
                f"exit {status}  mailaudit {shown}",
                flush=True,
            )
    finally:
        stop.set()
        thread.join()
    for what, value in (
        ("own process", worst.own),
        ("single child", worst.child),
        ("whole tree", worst.tree),
    ):
        verdict = "ok" if value < TARGET_MB else "OVER"
        print(f"worst peak RSS, {what}: {value:.1f} MB (target < {TARGET_MB:g} MB: {verdict})")
    print(f"(worst peak PSS of a whole tree, for information: {worst.tree_pss:.1f} MB)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
