"""net/worker.py: calls in recycled worker processes — results come back, workers are reused
and then recycled, failures are WorkerError, and a worker past its deadline is killed. A worker
is one process and nothing else, and writes nothing to our stdout."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from mailaudit.model import Scheme, TlsTarget
from mailaudit.net.worker import WorkerError, WorkerPool


def describe(target: TlsTarget, *, suffix: str) -> tuple[int, str, TlsTarget]:
    return os.getpid(), target.host + suffix, target


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def pid() -> int:
    return os.getpid()


async def test_a_worker_is_reused_then_recycled() -> None:
    pool = WorkerPool(size=1, tasks_per_worker=2)
    first, second, third = [await pool.run(pid, kill_after_s=60) for _ in range(3)]
    pool.close()
    assert first == second  # reused: no new interpreter per call
    assert third != first  # recycled after two calls: its memory went back
    assert os.getpid() not in (first, third)


async def test_an_idle_worker_is_stopped_and_its_memory_goes_back() -> None:
    pool = WorkerPool(size=1, tasks_per_worker=10, idle_s=0.2)
    first = await pool.run(pid, kill_after_s=60)
    again = await pool.run(pid, kill_after_s=60)  # within the idle time: the same worker
    assert again == first
    for _ in range(100):  # then it is stopped: the process is gone
        await asyncio.sleep(0.05)
        if _gone(first):
            break
    else:
        raise AssertionError("the idle worker still runs")
    later = await pool.run(pid, kill_after_s=60)  # a new call starts a new one
    pool.close()
    assert later != first


def _gone(pid: int) -> bool:
    """Exited: no such process, or one that only waits to be reaped (a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


async def test_result_comes_back_from_another_process() -> None:
    pool = WorkerPool(size=1, tasks_per_worker=5)
    target = TlsTarget(host="mail.good.test", address="127.0.0.10", port=25, scheme=Scheme.SMTP)

    pid, text, echoed = await pool.run(describe, target, suffix="!", kill_after_s=60)
    pool.close()

    assert pid != os.getpid()
    assert text == "mail.good.test!"
    assert echoed == target  # our frozen dataclasses cross the boundary intact


async def test_an_exception_in_the_worker_is_a_worker_error() -> None:
    with pytest.raises(WorkerError, match="ValueError: boom"):
        await WorkerPool(size=1, tasks_per_worker=1).run(fail, "boom", kill_after_s=60)


async def test_a_worker_that_dies_is_a_worker_error() -> None:
    with pytest.raises(WorkerError, match="without a result"):
        await WorkerPool(size=1, tasks_per_worker=5).run(die, kill_after_s=60)


async def test_a_worker_past_its_deadline_is_killed() -> None:
    started = time.monotonic()
    pool = WorkerPool(size=1, tasks_per_worker=5)
    with pytest.raises(TimeoutError):
        await pool.run(sleep, 60.0, kill_after_s=3)
    assert await pool.run(pid, kill_after_s=60) != os.getpid()  # a new worker took its place
    pool.close()
    assert time.monotonic() - started < 30


async def test_a_function_the_worker_cannot_import_is_a_worker_error_and_the_worker_lives() -> None:
    # Given a function whose module exists only in this process
    only_here = types.ModuleType("mailaudit_only_in_the_parent")
    exec("def hello():\n    return 'hello'\n", only_here.__dict__)
    sys.modules[only_here.__name__] = only_here
    pool = WorkerPool(size=1, tasks_per_worker=5)
    try:
        before = await pool.run(pid, kill_after_s=60)
        # When the worker is asked to run it
        with pytest.raises(WorkerError, match="ModuleNotFoundError"):
            await pool.run(only_here.hello, kill_after_s=60)
        # Then the failure is the call's, and the same worker serves the next call
        assert await pool.run(pid, kill_after_s=60) == before
    finally:
        pool.close()
        del sys.modules[only_here.__name__]


async def test_the_worker_writes_nothing_to_our_standard_output(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Our stdout may be the report itself (--format json).
    pool = WorkerPool(size=1, tasks_per_worker=5)
    await pool.run(print, "from the worker", kill_after_s=60)
    pool.close()
    assert "from the worker" not in capfd.readouterr().out


# A fresh interpreter run from a file, as the `mailaudit` console script is (a file that imports
# the CLI at its top), so that no other test's processes are counted: one call in a pool, then
# every child process of that interpreter and what the worker has imported.
_AS_THE_COMMAND = """
import asyncio, json, os, pathlib
from mailaudit.cli import main
from mailaudit.net.worker import WorkerPool
from mailaudit.net.worker_process import loaded_modules

async def run():
    pool = WorkerPool(size=1, tasks_per_worker=5)
    worker = await pool.run(os.getpid, kill_after_s=60)
    modules = await pool.run(loaded_modules, kill_after_s=60)
    children = [
        int(p)
        for task in pathlib.Path("/proc/self/task").iterdir()
        for p in (task / "children").read_text().split()
    ]
    pool.close()
    print(json.dumps({"worker": worker, "children": children, "modules": modules}))

if __name__ == "__main__":
    asyncio.run(run())
"""


def test_a_pool_starts_one_process_that_does_not_carry_the_command_line(tmp_path: Path) -> None:
    # Every process of a command counts against its memory (issue 10, item 6). multiprocessing's
    # "spawn" also started a ~12 MB resource tracker and re-ran the command's main file in the
    # worker (the CLI, click).
    script = tmp_path / "mailaudit_command.py"
    script.write_text(_AS_THE_COMMAND)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["children"] == [seen["worker"]]
    assert "mailaudit.net.worker_process" in seen["modules"]
    assert {"mailaudit.cli", "click", "asyncio"} & set(seen["modules"]) == set()
