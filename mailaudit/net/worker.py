"""Run one blocking call in a fresh worker process, awaited from the event loop, killed at its
deadline.

Why a process and not a thread: sslyze (through nassl's OpenSSL) keeps native memory for every
endpoint it scanned until the process ends (~3.5 MiB each, issue 11), and a thread cannot be
cancelled, only abandoned. A process that does one batch and exits gives all of it back, and one
that hangs is killed. The call and its result cross the boundary by pickle: pass top-level
functions and our own frozen dataclasses, never sslyze objects.

The process is started with "spawn" (a new interpreter, nothing inherited from a multi-threaded
parent: forking one with running threads can deadlock).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["WorkerError", "run_in_worker"]

T = TypeVar("T")
_CONTEXT = multiprocessing.get_context("spawn")


class WorkerError(RuntimeError):
    """The worker raised, or exited without a result (killed, crashed)."""


def _child(
    conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        result: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # reported to the parent, which decides
        result = ("error", "".join(traceback.format_exception_only(exc)).strip())
    conn.send(result)
    conn.close()


async def run_in_worker(
    fn: Callable[..., T], /, *args: Any, kill_after_s: float, **kwargs: Any
) -> T:
    """`fn(*args, **kwargs)` in a new process. Raises TimeoutError after `kill_after_s` (the
    process is killed), WorkerError if it raised or died without a result."""
    loop = asyncio.get_running_loop()
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, fn, args, kwargs), daemon=True)
    # Starting an interpreter blocks for a moment: not on the event loop.
    await asyncio.to_thread(process.start)
    sender.close()  # the child holds its own copy: EOF reaches us when it exits
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(receiver.fileno(), readable)
    try:
        async with asyncio.timeout(kill_after_s):
            await ready
            # recv of a large result may block briefly after the first bytes arrive
            status, value = await asyncio.to_thread(_receive, receiver)
    except BaseException:
        process.kill()
        raise
    finally:
        loop.remove_reader(receiver.fileno())
        receiver.close()
        await asyncio.to_thread(process.join, 5.0)
    if status != "ok":
        raise WorkerError(str(value))
    return value  # type: ignore[no-any-return]


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        status, value = conn.recv()
    except EOFError:
        return "error", "the worker exited without a result"
    return str(status), value
