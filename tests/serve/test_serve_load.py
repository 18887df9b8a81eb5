"""A short, bounded load on loopback (the 30 s run with latency figures is bench/serve.py):
many people at once, from their own addresses, get answers or polite refusals and never an
error; nobody gets more discoveries than the rate limit allows; the server stays small."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.serve.conftest import start_server, stop_server
from tests.serve.load import run_load, warm_up

pytestmark = pytest.mark.lab

USERS = 20
ROUNDS = 10
# The defaults of `mailaudit serve`: a burst of 5 discoveries, then one every 10 s.
BURST, EVERY_S = 5, 10.0


def test_a_crowd_gets_answers_or_polite_refusals(lab_env: dict[str, str], tmp_path: Path) -> None:
    # Given a server whose answers for the lab addresses are fresh (as at busy times)
    server = start_server(lab_env, tmp_path)
    try:
        warm_up(server.url)
        # When 20 people each ask 10 times, as fast as they can
        result = asyncio.run(
            run_load(
                server.url,
                users=USERS,
                duration_s=120,
                rounds=ROUNDS,
                server_pid=server.process.pid,
                think_s=0.05,
            )
        )
    finally:
        stop_server(server)

    # Then nobody sees an error: an answer, or a polite 429/503
    assert result.errors == [], result.errors[:5]
    assert sum(n for (kind, _), n in result.statuses.items() if kind == "find") == USERS * ROUNDS
    assert len(result.answered) == USERS  # everyone got at least one answer
    # And nobody got more discoveries than the rate limit allows in the time it took
    most = BURST + result.elapsed_s / EVERY_S + 1
    assert max(result.answered.values()) <= most
    # (10 asks need 50 s to stay under the limit: faster than that, it must have refused some)
    assert result.statuses[("find", 429)] > 0 or result.elapsed_s >= 50
    assert result.peak_rss_mb < 200
    assert "@" not in server.log_text()
