"""A report's domains produced one at a time, never all held at once (issue 11: flat memory).

A fleet's `Report` has 10,000 `DomainReport`s; holding them all costs hundreds of megabytes. For
such a report, `Report.domains` is a `StreamedDomains`: a tuple to every reader (the model, the
serialiser and each writer stay as they are), whose items are made again on each pass from a
source (the run's spool on disk, see `mailaudit.audit.spool`). Readers that iterate —
`for d in report.domains`, `len(...)`, the JSON encoder — work unchanged; memory holds one
domain at a time. Each pass costs reading and joining every domain again, so a writer should
make one pass, not one per endpoint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, SupportsIndex, overload

from mailaudit.model import DomainReport

__all__ = ["StreamedDomains"]


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
