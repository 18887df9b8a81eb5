"""One serialiser for the whole model: frozen dataclasses to JSON-ready data and back.

Types drive both directions, so a field added to a dataclass is serialised and loaded without
touching this module. Supported: dataclasses, StrEnum, str/int/float/bool/None, tuple[X, ...],
list[X], dict[str, X], unions of those (X | None), and Literal of strings.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from mailaudit.errors import UsageError

__all__ = ["JsonValue", "LoadError", "from_data", "to_data"]

T = TypeVar("T")

JsonValue = Any


def to_data(value: object) -> JsonValue:
    """Turn a model value into JSON-ready data (dicts, lists, strings, numbers, None)."""
    kind: Any = type(value)
    if kind in _PLAIN:
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: to_data(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot serialise {kind.__name__}")


# A fleet's facts go through here several times per domain (spool, JSONL, reports): the per-type
# work (is it a dataclass, which fields, which loader) is done once per type, not per value.
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(kind: Any) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def from_data(cls: type[T], data: JsonValue) -> T:
    """Load data produced by `to_data` back into the model type `cls`."""
    try:
        load = _loader(typing.cast(Any, cls))
        return typing.cast(T, load(data))
    except _Misfit as misfit:
        raise LoadError(misfit.render("$")) from None


class LoadError(UsageError):
    """The data does not fit the model; the message names the path of the bad value."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class _Misfit(Exception):
    """A value that does not fit, with the path to it, gathered on the way out (building a path
    for every value loaded would cost more than the loading)."""

    def __init__(self, message: str, inner: tuple[_Misfit, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.inner = inner  # a union's options, each with its own misfit
        self.steps: list[str] = []  # innermost first

    def at(self, step: str) -> _Misfit:
        self.steps.append(step)
        return self

    def render(self, base: str) -> str:
        path = base + "".join(reversed(self.steps))
        if self.inner:
            tried = "; ".join(m.render(path) for m in self.inner)
            return f"{path}: {self.message} ({tried})"
        return f"{path}: {self.message}"


Loader = Callable[[JsonValue], Any]


@cache
def _loader(tp: Any) -> Loader:
    """The function that loads data of type `tp`, built once per type."""
    if tp is Any:
        return lambda data: data
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _union_loader(get_args(tp))
    if origin is Literal:
        allowed = get_args(tp)

        def literal(data: JsonValue) -> Any:
            if data not in allowed:
                raise _Misfit(f"{data!r} is not one of {allowed!r}")
            return data

        return literal
    if origin is tuple:
        return _tuple_loader(get_args(tp))
    if origin is list:
        (item_tp,) = get_args(tp)
        item = _loader(item_tp)

        def a_list(data: JsonValue) -> Any:
            _expect(data, list)
            return [_each(item, v, i) for i, v in enumerate(data)]

        return a_list
    if origin is dict:
        value = _loader(get_args(tp)[1])

        def a_dict(data: JsonValue) -> Any:
            _expect(data, dict)
            out = {}
            for k, v in data.items():
                try:
                    out[k] = value(v)
                except _Misfit as misfit:
                    raise misfit.at(f".{k}") from None
            return out

        return a_dict
    if isinstance(tp, type) and issubclass(tp, Enum):
        enum_tp = tp

        def an_enum(data: JsonValue) -> Any:
            try:
                return enum_tp(data)
            except ValueError as exc:
                raise _Misfit(str(exc)) from None

        return an_enum
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_loader(tp)
    if tp is float:

        def a_float(data: JsonValue) -> Any:
            if isinstance(data, bool) or not isinstance(data, int | float):
                raise _Misfit("expected a number")
            return float(data)

        return a_float
    if tp in (str, int, bool):
        exact: type = tp

        def plain(data: JsonValue) -> Any:
            if type(data) is not exact:
                raise _Misfit(f"expected {exact.__name__}, got {type(data).__name__}")
            return data

        return plain
    if tp is type(None):

        def null(data: JsonValue) -> Any:
            if data is not None:
                raise _Misfit("expected null")
            return None

        return null
    raise TypeError(f"unsupported type {tp!r}")


def _union_loader(options: tuple[Any, ...]) -> Loader:
    nullable = type(None) in options
    loaders = tuple(_loader(o) for o in options if o is not type(None))

    def union(data: JsonValue) -> Any:
        if data is None and nullable:
            return None
        misfits = []
        for load in loaders:
            try:
                return load(data)
            except _Misfit as misfit:
                misfits.append(misfit)
        raise _Misfit("no type of the union fits", tuple(misfits))

    return union


def _tuple_loader(args: tuple[Any, ...]) -> Loader:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _loader(args[0])

        def repeated(data: JsonValue) -> Any:
            _expect(data, list)
            return tuple([_each(item, v, i) for i, v in enumerate(data)])

        return repeated
    items = tuple(_loader(a) for a in args)

    def fixed(data: JsonValue) -> Any:
        _expect(data, list)
        if len(items) != len(data):
            raise _Misfit(f"expected {len(items)} items")
        return tuple(
            [_each(load, v, i) for i, (load, v) in enumerate(zip(items, data, strict=True))]
        )

    return fixed


def _dataclass_loader(cls: type) -> Loader:
    hints = _hints(cls)
    fields = tuple(
        (
            f.name,
            _loader(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )

    def a_dataclass(data: JsonValue) -> Any:
        _expect(data, dict)
        kwargs = {}
        for name, load, required in fields:
            if name in data:
                try:
                    kwargs[name] = load(data[name])
                except _Misfit as misfit:
                    raise misfit.at(f".{name}") from None
            elif required:
                raise _Misfit(f"missing field {name!r}")
        return cls(**kwargs)

    return a_dataclass


def _each(load: Loader, value: JsonValue, index: int) -> Any:
    try:
        return load(value)
    except _Misfit as misfit:
        raise misfit.at(f"[{index}]") from None


def _expect(data: JsonValue, kind: type) -> None:
    if not isinstance(data, kind):
        raise _Misfit(f"expected {kind.__name__}, got {type(data).__name__}")
