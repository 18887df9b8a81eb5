"""The TLS scan step: every (address, port) that speaks TLS, scanned once by sslyze, in batches
of up to TLS_BATCH endpoints, in recycled worker processes (net/worker.py) that exit after
TLS_BATCH calls so that sslyze's native memory goes back (issue 11), each call bounded by a
deadline.

The facts come back as `TlsScan` values (see `mailaudit.net.sslyze_adapter`); judging them is
`mailaudit.checks.tls`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailaudit.context import Context
from mailaudit.model import ScanError, ScanErrorReason, ScanPart, TlsScan, TlsTarget
from mailaudit.net.sslyze_adapter import scan_endpoints
from mailaudit.net.worker import WorkerError, pool_for_loop
from mailaudit.settings import Limits

__all__ = [
    "TLS_BATCH",
    "TLS_CONCURRENT_SERVERS",
    "TLS_CONNECTIONS_PER_ENDPOINT",
    "TLS_WORKERS",
    "TlsScan",
    "TlsTarget",
    "scan_tls",
    "tls_deadline_s",
]

# sslyze's own polite setting (its --slow_connection): at most two connections at once to one
# (address, port). Our probes use `limits.connections_per_endpoint` (one), but they do not run
# at the same time as the TLS scan of the same endpoint.
TLS_CONNECTIONS_PER_ENDPOINT = 2

# sslyze scans this many servers at once (its own default). Its work is mostly client CPU under
# one GIL: more threads would not finish sooner.
TLS_CONCURRENT_SERVERS = 10

# Endpoints per call and calls per worker process: a worker (about 55 MB with sslyze loaded, 65 MB
# while it scans one endpoint; it hands freed heap back after each call) exits after TLS_BATCH
# scan calls and whatever sslyze kept goes back; up to
# `limits.tls_workers` work at once (the fleet engine scans endpoints one at a time, a few at
# once). TLS_WORKERS is that setting's default.
TLS_BATCH = 20
TLS_WORKERS = Limits.tls_workers

# sslyze needs about 1.5 s of client CPU per endpoint, more on a loaded machine or against a
# server that forks a process per connection (several hundred connections per endpoint).
_SECONDS_PER_ENDPOINT = 6.0
_SLACK_S = 2.0
# Starting a worker: a new interpreter importing sslyze (about 1 s, more on a loaded machine).
_WORKER_START_S = 10.0


def tls_deadline_s(ctx: Context, endpoints: int) -> float:
    """The overall deadline of one TLS scan run. It bounds hangs, not normal work: endpoints
    share the CPU, so it grows with their number, and never falls below twice one endpoint's
    budget (a tarpit holds each of sslyze's connection attempts for the full network timeout)."""
    return max(2 * ctx.settings.timeouts.endpoint_budget_s, endpoints * _SECONDS_PER_ENDPOINT)


async def scan_tls(
    ctx: Context, targets: Sequence[TlsTarget], *, deadline_s: float | None = None
) -> list[TlsScan]:
    """Scan `targets` (one `TlsScan` per distinct (address, port), in the order first seen).
    Never raises for a server's sake: failures are in each scan's `errors`."""
    seen: dict[tuple[str, int], list[TlsTarget]] = {}
    for target in targets:
        seen.setdefault(target.key, []).append(target)
    keys = list(seen)
    scans: list[TlsScan] = []
    for start in range(0, len(keys), TLS_BATCH):
        batch = [t for key in keys[start : start + TLS_BATCH] for t in seen[key]]
        scans += await _scan_batch(ctx, batch, deadline_s=deadline_s)
    return scans


async def _scan_batch(
    ctx: Context, targets: list[TlsTarget], *, deadline_s: float | None
) -> list[TlsScan]:
    settings = ctx.settings
    distinct = len({t.key for t in targets})
    deadline = deadline_s if deadline_s is not None else tls_deadline_s(ctx, distinct)
    try:
        # The adapter stops waiting at the deadline itself; the worker is killed should it not
        # come back (start-up included in the slack).
        pool = pool_for_loop(size=settings.limits.tls_workers, tasks_per_worker=TLS_BATCH)
        return await pool.run(
            scan_endpoints,
            targets,
            now=ctx.clock(),
            kill_after_s=deadline + _SLACK_S + _WORKER_START_S,
            ca_file=settings.ca_file,
            ehlo_name=settings.ehlo_name,
            network_timeout_s=max(settings.timeouts.connect_s, settings.timeouts.tls_handshake_s),
            connections_per_server=TLS_CONNECTIONS_PER_ENDPOINT,
            max_concurrent_servers=min(TLS_CONCURRENT_SERVERS, settings.limits.max_concurrency),
            deadline_s=deadline,
        )
    except TimeoutError:
        error = ScanError(
            ScanPart.SCAN, ScanErrorReason.DEADLINE, f"no result within {deadline:.0f} s"
        )
    except WorkerError as exc:
        error = ScanError(ScanPart.SCAN, ScanErrorReason.SCANNER_ERROR, f"TLS scan worker: {exc}")
    first: dict[tuple[str, int], TlsTarget] = {}
    for target in targets:
        first.setdefault(target.key, target)
    return [TlsScan(t, connected=False, errors=(error,)) for t in first.values()]
