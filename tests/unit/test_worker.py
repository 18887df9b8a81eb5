"""net/worker.py: calls in recycled worker processes — results come back, workers are reused
and then recycled, failures are WorkerError, and a worker past its deadline is killed."""

from __future__ import annotations

import os
import time

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
