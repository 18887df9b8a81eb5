"""net/worker.py: one call in a fresh process — its result comes back, its failures are
WorkerError, and a worker that does not finish is killed at its deadline."""

from __future__ import annotations

import os
import time

import pytest

from mailaudit.model import Scheme, TlsTarget
from mailaudit.net.worker import WorkerError, run_in_worker


def describe(target: TlsTarget, *, suffix: str) -> tuple[int, str, TlsTarget]:
    return os.getpid(), target.host + suffix, target


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


async def test_result_comes_back_from_another_process() -> None:
    target = TlsTarget(host="mail.good.test", address="127.0.0.10", port=25, scheme=Scheme.SMTP)

    pid, text, echoed = await run_in_worker(describe, target, suffix="!", kill_after_s=60)

    assert pid != os.getpid()
    assert text == "mail.good.test!"
    assert echoed == target  # our frozen dataclasses cross the boundary intact


async def test_an_exception_in_the_worker_is_a_worker_error() -> None:
    with pytest.raises(WorkerError, match="ValueError: boom"):
        await run_in_worker(fail, "boom", kill_after_s=60)


async def test_a_worker_that_dies_is_a_worker_error() -> None:
    with pytest.raises(WorkerError, match="without a result"):
        await run_in_worker(die, kill_after_s=60)


async def test_a_worker_past_its_deadline_is_killed() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await run_in_worker(sleep, 60.0, kill_after_s=3)
    assert time.monotonic() - started < 30
