"""Pickles whose records share objects: each object of the shared types is pickled whole once
and by number after that.

A fleet's domains hold the same observations: discovery verifies each endpoint once per run
(the run memo) and every domain that names it carries that one object. Pickled whole, those are
half of each domain's record. Only the shared types pass through Python here (a `dispatch_table`
entry); everything else is pickled by the C pickler alone. Pickle's persistent ids would do the
same with a Python call for every object of every record, which cost more than the pickling
itself (issue 11: a third of the fleet parent's CPU).

Two uses: a spool this process writes and reads back in any order (`loads` then finds every
object in the writer's own table), and a pipe to another process, read in the order written
(`loads` there builds its table as the objects arrive).
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Callable
from typing import Any

__all__ = ["SharedObjects"]


def _shared(number: int) -> Any:  # pragma: no cover - replaced by find_class when reading
    raise pickle.UnpicklingError("a shared object read without its spool or pipe")


def _first(number: int, cls: type, state: dict[str, Any]) -> Any:  # pragma: no cover - same
    raise pickle.UnpicklingError("a shared object read without its spool or pipe")


class SharedObjects:
    """One writer's and one reader's table (both ends of a pipe, or one process's spool). The
    table keeps what it numbered alive, so an id() is never reused: it grows with the distinct
    shared objects (a run's endpoints), not with records."""

    def __init__(self, shared: tuple[type, ...], *, same_process: bool = False) -> None:
        # A spool read back by this process only: the objects stay in the table, a record holds
        # their numbers alone (read back in any order).
        self._same_process = same_process
        self._numbers: dict[int, int] = {}
        self._objects: list[object] = []
        self._found: dict[tuple[str, str], Any] = {}
        self._dispatch: dict[type, Callable[[Any], Any]] = {
            **copyreg.dispatch_table,
            **dict.fromkeys(shared, self._reduce),
        }

    def dumps(self, record: object) -> bytes:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = self._dispatch
        pickler.dump(record)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        # Only ever our own bytes: a spool of this process, or a worker we started.
        return _Unpickler(io.BytesIO(data), self._objects, self._found).load()

    def _reduce(self, obj: object) -> tuple[Any, ...]:
        number = self._numbers.get(id(obj))
        if number is not None:
            return _shared, (number,)
        number = self._numbers[id(obj)] = len(self._objects)
        self._objects.append(obj)
        if self._same_process:
            return _shared, (number,)
        return _first, (number, type(obj), vars(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(
        self, stream: io.BytesIO, objects: list[object], found: dict[tuple[str, str], Any]
    ) -> None:
        super().__init__(stream)
        self._objects = objects
        self._found = found

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_shared":
            return self._shared
        if module == __name__ and name == "_first":
            return self._first
        # A record names some twenty classes: each is looked up once per table, not per record.
        key = (module, name)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = super().find_class(module, name)
        return found

    def _shared(self, number: int) -> object:
        if not 0 <= number < len(self._objects):
            raise pickle.UnpicklingError(f"shared object {number} before its first record")
        return self._objects[number]

    def _first(self, number: int, cls: type, state: dict[str, Any]) -> object:
        if number < len(self._objects):  # our own spool: the writer's object itself
            return self._objects[number]
        if number != len(self._objects):
            raise pickle.UnpicklingError(f"shared object {number} out of order")
        obj: object = object.__new__(cls)
        vars(obj).update(state)  # as pickle restores a frozen dataclass: not through __init__
        self._objects.append(obj)
        return obj
