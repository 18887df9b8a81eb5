"""Domains kept on disk, not in memory: flat memory for a fleet's final reports (issue 11).

A 10,000-domain run cannot hold every domain's facts until the end to build its JSON, HTML,
SARIF and JUnit reports. Each domain's facts are written to a spool file the moment the domain
is joined, and only where it is stays in memory; the report writers read the domains back one
at a time, in input order. `mailaudit report run.jsonl` reads a JSONL stream's domain records
the same way (`SpooledLines` with a JSON decoder).

The run's spool is an anonymous temporary file: the system removes it when the run ends, however
it ends. It holds pickles, not JSON: it is read back several times (the assembler, then each
writer), and unpickling a domain costs a fraction of `serial.from_data` over parsed JSON (the
serialiser checks every field, which is right for a file a user hands us, but this file never
leaves the process that wrote it: it has no name, and nothing else writes to it). The published
form of a run stays the JSONL stream (`--jsonl`), written by `mailaudit.serial`.
"""

from __future__ import annotations

import functools
import os
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING

from mailaudit.audit.assemble import DomainView, Judged
from mailaudit.audit.units import DomainFacts, EndpointFacts
from mailaudit.report.streamed import SharedPickles

if TYPE_CHECKING:
    from mailaudit.audit.runner import FleetSink

__all__ = ["DomainSpool", "SpoolSink", "SpooledLines"]


class SpooledLines:
    """Domain facts read back from records of a file: where each is (offset, length), in the
    order wanted, and how a record's bytes become `DomainFacts`."""

    def __init__(
        self,
        stream: IO[bytes],
        where: list[tuple[int, int]],
        decode: Callable[[bytes], DomainFacts],
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
            yield self._decode(os.pread(fd, length, offset))


class DomainSpool:
    """The run's spool: `add` writes a domain's facts when it is joined (domains are joined in
    any order); `lines` reads them back in the order asked for (the input order)."""

    def __init__(self) -> None:
        self._stream: IO[bytes] = tempfile.TemporaryFile(prefix="mailaudit-spool-")  # noqa: SIM115
        self._at: dict[str, tuple[int, int]] = {}
        self._pickles = SharedPickles()
        self._end = 0
        self._closer = weakref.finalize(self, self._stream.close)

    def add(self, facts: DomainFacts) -> None:
        record = self._pickles.dumps(facts)
        self._stream.write(record)
        # A domain spooled twice (never, today) is read back as its last facts.
        self._at[facts.domain] = (self._end, len(record))
        self._end += len(record)

    def lines(self, domains: Iterable[str]) -> SpooledLines:
        """The spooled facts of `domains`, in that order (a domain never spooled is left out)."""
        self._stream.flush()
        where = [at for d in domains if (at := self._at.get(d)) is not None]
        self._closer.detach()  # the file now lives as long as what reads it
        return SpooledLines(self._stream, where, functools.partial(_facts, self._pickles))


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


def _facts(pickles: SharedPickles, record: bytes) -> DomainFacts:
    facts = pickles.loads(record)  # our own anonymous file: see the module doc
    assert isinstance(facts, DomainFacts)
    return facts
