"""A report's domains produced one at a time, never all held at once (issue 11: flat memory).

A fleet's `Report` has 10,000 `DomainReport`s; holding them all costs hundreds of megabytes. For
such a report, `Report.domains` is a `StreamedDomains`: a tuple to every reader (the model, the
serialiser and each writer stay as they are), whose items are made again on each pass from a
source (the run's spool on disk, see `mailaudit.audit.spool`). Readers that iterate —
`for d in report.domains`, `len(...)`, the JSON encoder — work unchanged; memory holds one
domain at a time. Each pass costs reading every domain again, so a writer should make one pass,
not one per endpoint.

`ReportSpool` is the usual source: a fleet run spools each domain's report as it joins the
domain (`mailaudit.audit.spool.ReportSink`), the assembler of a JSONL stream as it reads one;
every later pass (the JSON, the text, the outcome, the exit code) only reads it back.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, SupportsIndex, overload

from mailaudit.model import DomainReport, Observation
from mailaudit.pickles import SharedObjects

__all__ = ["FLEET_MIN_DOMAINS", "ReportSpool", "SharedPickles", "StreamedDomains"]

# A report is a fleet's from this many domains on, and every output takes its fleet form: the
# HTML's fleet view (report/fleet_html.py), one line per domain in JSON (report/json_report.py)
# and the terminal's fleet summary (report/fleet_text.py).
FLEET_MIN_DOMAINS = 50


class SharedPickles(SharedObjects):
    """Pickling for a spool whose records share objects: each `Observation` stays in this
    process's table and is referred to by number in every record that holds it
    (`mailaudit.pickles`).

    A fleet's domains hold the same observations: discovery verifies each endpoint once per run
    (`net.politeness.RunMemo`) and every domain that names it carries that one object. Pickled
    whole, those are half of each domain's record; shared, the spool is half as big and quicker
    to write and to read. The table grows with the run's unique endpoints, which the run holds
    anyway, not with domains."""

    def __init__(self) -> None:
        super().__init__((Observation,), same_process=True)


class ReportSpool:
    """Domain reports on disk, read back on every pass in the order they were added, or in
    the order `read_in` gives (a fleet's domains are joined in any order, reported in input
    order).

    An anonymous temporary file of pickles: it never leaves this process (no name, nothing else
    writes it), and a pass unpickles a domain many times faster than `serial.from_data` reads
    one from JSON (that checks every field, as a file from outside must be checked). Memory
    holds one domain and a few numbers per domain."""

    def __init__(self) -> None:
        self._stream: IO[bytes] = tempfile.TemporaryFile(prefix="mailaudit-reports-")  # noqa: SIM115
        # Where each record is; record n is the n-th added.
        self._starts = array("q")
        self._lengths = array("q")
        self._end = 0
        self._order: array[int] | None = None  # record numbers in reading order
        self._pickles = SharedPickles()
        # The file is closed once nothing reads it any more (the report is gone).
        weakref.finalize(self, self._stream.close)

    def add(self, domain: DomainReport) -> int:
        """Spool `domain`; its record number."""
        self._starts.append(0)
        self._lengths.append(0)
        number = len(self._starts) - 1
        self.replace(number, domain)
        return number

    def replace(self, number: int, domain: DomainReport) -> None:
        """Record `number` is `domain` from now on (written anew at the end of the file)."""
        record = self._pickles.dumps(domain)
        self._stream.write(record)
        self._starts[number] = self._end
        self._lengths[number] = len(record)
        self._end += len(record)

    def get(self, number: int) -> DomainReport:
        self._stream.flush()
        return self._read(number)

    def read_in(self, order: Iterable[int]) -> None:
        """Passes read these records, in this order, from now on."""
        self._order = array("q", order)

    def __len__(self) -> int:
        return len(self._starts if self._order is None else self._order)

    def __iter__(self) -> Iterator[DomainReport]:
        self._stream.flush()
        order = range(len(self._starts)) if self._order is None else self._order
        for number in order:
            yield self._read(number)

    def _read(self, number: int) -> DomainReport:
        data = os.pread(self._stream.fileno(), self._lengths[number], self._starts[number])
        domain = self._pickles.loads(data)
        assert isinstance(domain, DomainReport)
        return domain


class StreamedDomains(tuple[DomainReport, ...]):
    """`length` domain reports, made afresh by `source()` on every iteration.

    The underlying tuple is empty: every tuple method that would read it is overridden here to
    read the source instead."""

    _source: Callable[[], Iterator[DomainReport]]
    _length: int

    def __new__(cls, source: Callable[[], Iterator[DomainReport]], length: int) -> StreamedDomains:
        self = super().__new__(cls)
        self._source = source
        self._length = length
        return self

    def __iter__(self) -> Iterator[DomainReport]:
        return iter(self._source())

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __contains__(self, item: object) -> bool:
        return any(d == item for d in self)

    def __reversed__(self) -> Iterator[DomainReport]:
        return reversed(list(self))

    @overload
    def __getitem__(self, index: SupportsIndex) -> DomainReport: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[DomainReport, ...]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> DomainReport | tuple[DomainReport, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        position = index.__index__()
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError("StreamedDomains index out of range")
        return next(itertools.islice(self, position, None))

    def __add__(self, other: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self) + other

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"StreamedDomains({self._length} domains)"

    def count(self, value: Any) -> int:
        return sum(1 for d in self if d == value)

    def index(self, value: Any, start: SupportsIndex = 0, stop: SupportsIndex = 2**63 - 1) -> int:
        for position, d in enumerate(self):
            if start.__index__() <= position < stop.__index__() and d == value:
                return position
        raise ValueError("not in StreamedDomains")

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy or pickle is an ordinary tuple of the domains (the source is a local file).
        return (tuple, (tuple(self),))
