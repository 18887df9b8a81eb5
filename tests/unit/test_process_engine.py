"""The pure parts of the process engine (issue 11): shared pickles, frames, which names a domain
worker asks itself, the shared memo, errors that cross a pipe."""

from __future__ import annotations

import asyncio
import pickle
from dataclasses import dataclass

import pytest

from mailaudit.audit.domain_worker import _InFlight, pack_error
from mailaudit.audit.process_engine import AUTO_MIN_DOMAINS, SharedMemo, auto_domain_workers
from mailaudit.net.addresses import PrivateAddressRefused
from mailaudit.net.errors import DnsError
from mailaudit.net.frames import Framing
from mailaudit.pickles import SharedObjects


@dataclass(frozen=True)
class Shared:
    text: str


@dataclass(frozen=True)
class Record:
    name: str
    shared: tuple[Shared, ...]


def records(count: int) -> tuple[list[Record], Shared]:
    big = Shared("x" * 5000)
    return [Record(f"d{i}", (big, Shared(f"own {i}"))) for i in range(count)], big


def test_a_shared_object_crosses_a_pipe_once_and_arrives_as_one_object() -> None:
    # Given records that all hold the same large object
    sent, _ = records(100)
    writer, reader = SharedObjects((Shared,)), SharedObjects((Shared,))

    # When they are pickled by one end and read by a fresh other end, in order
    data = [writer.dumps(r) for r in sent]
    got = [reader.loads(d) for d in data]

    # Then they are equal, the large object is in the first record only, and the reader holds
    # it once
    assert got == sent
    assert len(data[0]) > 5000 > max(len(d) for d in data[1:])
    assert all(g.shared[0] is got[0].shared[0] for g in got)
    assert got[0].shared[1] is not got[1].shared[1]


def test_a_spool_of_this_process_reads_records_back_in_any_order() -> None:
    sent, big = records(50)
    spool = SharedObjects((Shared,), same_process=True)
    data = [spool.dumps(r) for r in sent]

    backwards = [spool.loads(d) for d in reversed(data)]

    assert backwards == list(reversed(sent))
    assert all(r.shared[0] is big for r in backwards)  # the writer's own object
    assert sum(map(len, data)) < sum(len(pickle.dumps(r)) for r in sent) / 10


def test_a_pipe_read_out_of_order_is_an_error_not_a_wrong_object() -> None:
    sent, _ = records(3)
    writer, reader = SharedObjects((Shared,)), SharedObjects((Shared,))
    data = [writer.dumps(r) for r in sent]
    with pytest.raises(pickle.UnpicklingError):
        reader.loads(data[2])  # "own 2" is object 3; objects 0-2 never arrived


def test_framing_is_a_length_then_the_message() -> None:
    sender, receiver = Framing((Shared,)), Framing((Shared,))
    message = ("facts", 7, Record("a", (Shared("s"),)))
    framed = sender.encode(message)
    assert int.from_bytes(framed[:4], "big") == len(framed) - 4
    assert receiver.decode(framed[4:]) == message


def test_a_worker_asks_its_own_domains_names_itself_and_the_rest_of_its_parent() -> None:
    mine = _InFlight()
    mine.add("cust1.test")
    mine.add("cust1.test")
    assert mine.owns("cust1.test")
    assert mine.owns("_dmarc.CUST1.test.")
    assert mine.owns("autoconfig.cust1.test")
    assert not mine.owns("mx1.isp.test")
    assert not mine.owns("test")  # a suffix is not the domain
    assert not mine.owns("1.0.0.127.in-addr.arpa")
    mine.discard("cust1.test")
    assert mine.owns("cust1.test")  # one of the two units still runs
    mine.discard("cust1.test")
    assert not mine.owns("cust1.test")


async def test_the_shared_memo_hands_a_key_out_once_and_everyone_gets_its_result() -> None:
    memo = SharedMemo()
    first = await memo.claim("w1", ("verify", "mx1", 25))
    waiting = [asyncio.create_task(memo.claim(w, ("verify", "mx1", 25))) for w in ("w1", "w2")]
    await asyncio.sleep(0)
    assert first == ("run", None)
    assert not any(t.done() for t in waiting)

    memo.settle(("verify", "mx1", 25), True, "observation")

    assert await asyncio.gather(*waiting) == [("done", (True, "observation"))] * 2
    assert memo.runs[("verify", "mx1", 25)] == 1


async def test_a_claim_given_up_or_lost_with_its_worker_goes_to_the_next_claimant() -> None:
    memo = SharedMemo()
    assert await memo.claim("w1", "k") == ("run", None)
    waiting = asyncio.create_task(memo.claim("w2", "k"))
    await asyncio.sleep(0)

    memo.drop("w1")  # w1 died with the work in hand

    assert await waiting == ("run", None)
    memo.settle("k", None, None)  # w2's task was cancelled: not done either
    assert await memo.claim("w3", "k") == ("run", None)
    memo.settle("k", False, DnsError("x: timeout", reason="timeout"))
    verdict, (ok, error) = await memo.claim("w1", "k")  # type: ignore[misc]
    assert (verdict, ok, str(error)) == ("done", False, "x: timeout")
    assert memo.runs["k"] == 3


def test_our_errors_cross_a_pipe_with_their_reason_and_others_by_name() -> None:
    refused = pack_error(PrivateAddressRefused("mx: 10.0.0.1 is private", reason="private-address"))
    assert isinstance(refused, PrivateAddressRefused)
    assert refused.reason == "private-address"

    class Local(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(a)

    other = pack_error(Local(1, 2))
    assert type(other) is RuntimeError
    assert "Local" in str(other)


def test_domain_workers_only_for_fleets_and_spare_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert auto_domain_workers(AUTO_MIN_DOMAINS - 1) == 0
    assert auto_domain_workers(AUTO_MIN_DOMAINS) == 2
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    assert auto_domain_workers(10_000) == 4
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0}, raising=False)
    assert auto_domain_workers(10_000) == 0
