"""Blocking calls in recycled worker processes, awaited from the event loop, killed at their
deadline.

Why processes and not threads: sslyze (through nassl's OpenSSL) keeps native memory for every
endpoint it scanned until the process ends (~3.5 MiB each, issue 11), and a thread cannot be
cancelled, only abandoned. A worker serves `tasks_per_worker` calls and then exits, giving all of
it back; a worker past its deadline is killed. Calls and results cross the boundary by pickle:
pass top-level functions and our own frozen dataclasses, never sslyze objects.

A worker is a new interpreter (forking a parent with running threads can deadlock), started by
us rather than by multiprocessing's "spawn", for memory (issue 10, item 6: every process of a
command counts against its 150 MB). "spawn" also starts a resource-tracker process (~12 MB) and
re-runs the parent's `__main__` in the child (the CLI and click), while our worker starts from a
few lines that import only `worker_process` (its side of the pipe, standard library only), then
whatever the calls' pickles name (sslyze and its adapter). After each call the worker hands
freed heap back to the system (`malloc_trim`): without that it grew by 3-5 MB per scan until
recycled (60 -> 98 MB over the 14 scans of the lab's hostile audit). Workers are reused, so the
start-up (importing sslyze, about a second) is paid once per `tasks_per_worker` calls, not per
call. One pool per event loop (`pool_for_loop`), so a run's scans share it; workers are killed
when the parent exits, and a worker whose parent is gone ends when it reads the end of its pipe.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import socket
import subprocess
import sys
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["WorkerError", "WorkerPool", "forget", "pool_for_loop", "spawn"]

T = TypeVar("T")

# The child's first lines: the parent's import path (tests, a source tree), then the entry
# module's serve(conn) (`spawn`).
_BOOT = """\
import sys
from importlib import import_module
from multiprocessing.connection import Connection
conn = Connection(int(sys.argv[1]))
sys.path[:] = conn.recv()
import_module(sys.argv[2]).serve(conn)
"""

# Workers not yet stopped or killed: killed when the parent exits (they are its helpers).
_LIVE: set[subprocess.Popen[bytes]] = set()


class WorkerError(RuntimeError):
    """The call raised in the worker, or the worker exited without a result (killed, crashed)."""


def spawn(entry: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """A new interpreter running `entry`'s `serve(conn)` (a module of ours), and our end of the
    pipe to it. Killed when we exit, if still running."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(theirs.fileno()), entry],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            # Our stdout may be the report (--format json): the worker has nothing to add.
            stdout=subprocess.DEVNULL,
        )
        conn = Connection(ours.detach())
    _LIVE.add(process)
    conn.send(sys.path)
    return process, conn


def forget(process: subprocess.Popen[bytes]) -> None:
    """`process` has ended: no need to kill it at exit."""
    _LIVE.discard(process)


class _Worker:
    def __init__(self) -> None:
        self.process, self.conn = spawn("mailaudit.net.worker_process")
        self.tasks = 0

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send_bytes(b"")
        self.conn.close()
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            self.kill()
        _LIVE.discard(self.process)

    def kill(self) -> None:
        self.process.kill()
        self.conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5.0)
        _LIVE.discard(self.process)


def _kill_live_workers() -> None:
    for process in list(_LIVE):
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5.0)
    _LIVE.clear()


atexit.register(_kill_live_workers)


class WorkerPool:
    """At most `size` workers at once, each recycled after `tasks_per_worker` calls, and
    stopped once idle for `idle_s`: a fleet's TLS scans come in its first seconds, and an idle
    sslyze worker held ~60 MB for the rest of the run (issue 11)."""

    def __init__(self, *, size: int, tasks_per_worker: int, idle_s: float = 5.0) -> None:
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._tasks_per_worker = tasks_per_worker
        self._idle_s = idle_s
        self._reaper: asyncio.TimerHandle | None = None

    async def run(
        self, fn: Callable[..., T], /, *args: Any, kill_after_s: float, **kwargs: Any
    ) -> T:
        """`fn(*args, **kwargs)` in a worker. TimeoutError after `kill_after_s` (the worker is
        killed); WorkerError if it raised or died."""
        async with self._slots:
            # Starting an interpreter blocks for a moment: not on the event loop.
            worker = self._idle.pop() if self._idle else await asyncio.to_thread(_Worker)
            try:
                async with asyncio.timeout(kill_after_s):
                    status, value = await self._call(worker, fn, args, kwargs)
            except BaseException:
                await asyncio.to_thread(worker.kill)
                raise
            worker.tasks += 1
            if status == "dead":
                await asyncio.to_thread(worker.kill)
            elif worker.tasks >= self._tasks_per_worker:
                await asyncio.to_thread(worker.stop)  # its native memory goes back now
            else:
                self._idle.append(worker)
                self._reap_later()
        if status != "ok":
            raise WorkerError(str(value))
        return value  # type: ignore[no-any-return]

    @staticmethod
    async def _call(
        worker: _Worker, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        worker.conn.send((fn, args, kwargs))
        ready: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(worker.conn.fileno(), readable)
        try:
            await ready
        finally:
            loop.remove_reader(worker.conn.fileno())
        # a large result may still be arriving after its first bytes
        return await asyncio.to_thread(_receive, worker.conn)

    def _reap_later(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        self._reaper = asyncio.get_running_loop().call_later(self._idle_s, self._reap)

    def _reap(self) -> None:
        """Stop the workers idle since the last call ended (not on the loop: stop waits)."""
        self._reaper = None
        idle, self._idle = self._idle, []
        for worker in idle:
            asyncio.get_running_loop().run_in_executor(None, worker.stop)

    def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        while self._idle:
            self._idle.pop().stop()


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        status, value = conn.recv()
    except (EOFError, OSError):
        return "dead", "the worker exited without a result"
    return str(status), value


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WorkerPool] = (
    weakref.WeakKeyDictionary()
)


def pool_for_loop(*, size: int, tasks_per_worker: int) -> WorkerPool:
    """The running loop's pool (made on first use): one run's calls share its workers. Idle
    workers are stopped when the loop's pool is dropped or the parent exits."""
    loop = asyncio.get_running_loop()
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = WorkerPool(size=size, tasks_per_worker=tasks_per_worker)
        weakref.finalize(loop, pool.close)
    return pool
