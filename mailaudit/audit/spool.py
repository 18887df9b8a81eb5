"""Domains kept on disk, not in memory: flat memory for a fleet's final reports (issue 11).

A 10,000-domain run cannot hold every domain's facts until the end to build its JSON, HTML,
SARIF and JUnit reports. Each domain's facts are written to a spool file the moment the domain
is joined (one JSON line, the `mailaudit.serial` form of `DomainFacts`), and only where that
line is stays in memory; the report writers read the domains back one at a time, in input
order. `mailaudit report run.jsonl` reads a JSONL stream's domain records the same way.

The run's spool is an anonymous temporary file: the system removes it when the run ends, however
it ends.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from mailaudit.audit.assemble import DomainView, Judged
from mailaudit.audit.units import DomainFacts, EndpointFacts
from mailaudit.serial import from_data, to_data

if TYPE_CHECKING:
    from mailaudit.audit.runner import FleetSink

__all__ = ["DomainSpool", "SpoolSink", "SpooledLines"]


class SpooledLines:
    """Domain facts read back from lines of a file: where each line is (offset, length), in
    the order wanted, and how a line's JSON becomes `DomainFacts`."""

    def __init__(
        self,
        stream: IO[bytes],
        where: list[tuple[int, int]],
        decode: Callable[[Any], DomainFacts],
    ) -> None:
        self._stream = stream
        self._where = where
        self._decode = decode
        # The file is closed once nothing reads it any more (the report is gone).
        weakref.finalize(self, stream.close)

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[DomainFacts]:
        """Each domain's facts, one at a time: only one is in memory while the next is read."""
        fd = self._stream.fileno()
        for offset, length in self._where:
            yield self._decode(json.loads(os.pread(fd, length, offset)))


class DomainSpool:
    """The run's spool: `add` writes a domain's facts when it is joined (domains are joined in
    any order); `lines` reads them back in the order asked for (the input order)."""

    def __init__(self) -> None:
        self._stream: IO[bytes] = tempfile.TemporaryFile(prefix="mailaudit-spool-")  # noqa: SIM115
        self._at: dict[str, tuple[int, int]] = {}
        self._end = 0
        self._closer = weakref.finalize(self, self._stream.close)

    def add(self, facts: DomainFacts) -> None:
        line = json.dumps(to_data(facts), separators=(",", ":"), ensure_ascii=False).encode()
        self._stream.write(line + b"\n")
        # A domain spooled twice (never, today) is read back as its last facts.
        self._at[facts.domain] = (self._end, len(line))
        self._end += len(line) + 1

    def lines(self, domains: Iterable[str]) -> SpooledLines:
        """The spooled facts of `domains`, in that order (a domain never spooled is left out)."""
        self._stream.flush()
        where = [at for d in domains if (at := self._at.get(d)) is not None]
        self._closer.detach()  # the file now lives as long as what reads it
        return SpooledLines(self._stream, where, _facts)


class SpoolSink:
    """A fleet sink that spools every domain's facts, then hands everything on to `inner`."""

    def __init__(self, spool: DomainSpool, inner: FleetSink | None = None) -> None:
        self._spool = spool
        self._inner = inner

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        if self._inner is not None:
            self._inner.endpoint(facts, judged)

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._spool.add(facts)
        if self._inner is not None:
            self._inner.domain(facts, view, judged)

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._spool.add(facts)
        if self._inner is not None:
            self._inner.resumed(facts, view, judged)


def _facts(data: Any) -> DomainFacts:
    return from_data(DomainFacts, data)
