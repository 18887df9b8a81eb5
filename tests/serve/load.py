"""A bounded load on a running `mailaudit serve`, from many client addresses on loopback (all of
127.0.0.0/8 is loopback on Linux, so each simulated person has an address of its own and its own
rate-limit bucket). Used by the short load test and by bench/serve.py; it stops by itself."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LAB_ADDRESSES = (
    "alice@good.test",
    "alice@wellknown.test",
    "alice@srvonly.test",
    "alice@autodisc.test",
    "alice@hosted.test",
    "user@guess.test",
)
_TOKEN = re.compile(r'href="/download/([A-Za-z0-9_-]+)/thunderbird"')
# Statuses the page may answer with under load; anything else, or no answer, is an error.
EXPECTED = frozenset({200, 429, 503})


@dataclass
class LoadResult:
    duration_s: float
    users: int
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Discoveries each client got answered with 200 (whether run or reused).
    answered: Counter[str] = field(default_factory=Counter)
    peak_rss_mb: float = 0.0
    elapsed_s: float = 0.0

    def percentile(self, kind: str, p: float) -> float:
        values = sorted(self.latencies_ms.get(kind, []))
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_load(
    url: str,
    *,
    users: int,
    duration_s: float,
    server_pid: int,
    think_s: float = 0.5,
    rounds: int | None = None,
) -> LoadResult:
    """Each user loads the form, asks for an address and downloads the answer, again and again
    until `duration_s` has passed (or after `rounds` rounds, if that comes first)."""
    result = LoadResult(duration_s=duration_s, users=users)
    started_at = time.monotonic()
    deadline = started_at + duration_s
    running = users

    def record(kind: str, started: float, status: int | None, error: str | None = None) -> None:
        result.latencies_ms.setdefault(kind, []).append((time.monotonic() - started) * 1000)
        if status is not None:
            result.statuses[(kind, status)] += 1
            if status not in EXPECTED:
                result.errors.append(f"{kind}: HTTP {status}")
        if error is not None:
            result.errors.append(f"{kind}: {error}")

    async def user(n: int) -> None:
        client_address = f"127.0.5.{n + 1}"
        transport = httpx.AsyncHTTPTransport(local_address=client_address)
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as client:
            i = n
            done = 0
            while time.monotonic() < deadline and (rounds is None or done < rounds):
                done += 1
                for kind, method, path, data in (
                    ("page", "GET", "/", None),
                    ("find", "POST", "/find", {"address": LAB_ADDRESSES[i % len(LAB_ADDRESSES)]}),
                ):
                    started = time.monotonic()
                    try:
                        response = await client.request(method, path, data=data)
                    except httpx.HTTPError as exc:
                        record(kind, started, None, f"{type(exc).__name__}: {exc}")
                        continue
                    record(kind, started, response.status_code)
                    if kind == "find" and response.status_code == 200:
                        result.answered[client_address] += 1
                        token = _TOKEN.search(response.text)
                        if token is None:
                            result.errors.append("find: answer without downloads")
                            continue
                        started = time.monotonic()
                        download = await client.get(f"/download/{token.group(1)}/mobileconfig")
                        record("download", started, download.status_code)
                    await asyncio.sleep(think_s)
                i += 1

    async def user_then_leave(n: int) -> None:
        nonlocal running
        try:
            await user(n)
        finally:
            running -= 1

    async def watch_memory() -> None:
        while running and time.monotonic() < deadline:
            result.peak_rss_mb = max(result.peak_rss_mb, rss_mb(server_pid))
            await asyncio.sleep(0.25)

    await asyncio.gather(watch_memory(), *(user_then_leave(n) for n in range(users)))
    result.elapsed_s = time.monotonic() - started_at
    result.peak_rss_mb = max(result.peak_rss_mb, rss_mb(server_pid))
    return result


def warm_up(url: str) -> None:
    """Ask once for each lab address (each from its own client address), so the load meets
    the reuse of fresh answers, as a help desk's page would at busy times."""
    for n, address in enumerate(LAB_ADDRESSES):
        transport = httpx.HTTPTransport(local_address=f"127.0.6.{n + 1}")
        with httpx.Client(base_url=url, transport=transport, timeout=60) as client:
            client.post("/find", data={"address": address}).raise_for_status()
