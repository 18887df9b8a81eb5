"""One serialiser for the whole model: frozen dataclasses to JSON-ready data and back.

Types drive both directions, so a field added to a dataclass is serialised and loaded without
touching this module. Supported: dataclasses, StrEnum, str/int/float/bool/None, tuple[X, ...],
list[X], dict[str, X], unions of those (X | None), and Literal of strings.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from mailaudit.errors import UsageError

__all__ = ["JsonValue", "LoadError", "from_data", "to_data"]

T = TypeVar("T")

JsonValue = Any


def to_data(value: object) -> JsonValue:
    """Turn a model value into JSON-ready data (dicts, lists, strings, numbers, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot serialise {type(value).__name__}")


def from_data(cls: type[T], data: JsonValue) -> T:
    """Load data produced by `to_data` back into the model type `cls`."""
    return typing.cast(T, _load(cls, data, "$"))


class LoadError(UsageError):
    """The data does not fit the model; the message names the path of the bad value."""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _load(tp: Any, data: JsonValue, path: str) -> Any:
    if tp is Any:
        return data
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _load(option, data, path)
            except LoadError as exc:
                errors.append(str(exc))
        raise LoadError(f"{path}: no type of the union fits ({'; '.join(errors)})")
    if origin is Literal:
        if data not in get_args(tp):
            raise LoadError(f"{path}: {data!r} is not one of {get_args(tp)!r}")
        return data
    if origin is tuple:
        args = get_args(tp)
        _expect(data, list, path)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise LoadError(f"{path}: expected {len(args)} items")
        return tuple(
            _load(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin is list:
        _expect(data, list, path)
        (item,) = get_args(tp)
        return [_load(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        _expect(data, dict, path)
        _, value_tp = get_args(tp)
        return {k: _load(value_tp, v, f"{path}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as exc:
            raise LoadError(f"{path}: {exc}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _expect(data, dict, path)
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _load(hints[f.name], data[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise LoadError(f"{path}: missing field {f.name!r}")
        return tp(**kwargs)
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise LoadError(f"{path}: expected a number")
        return float(data)
    if tp in (str, int, bool):
        if type(data) is not tp:
            raise LoadError(f"{path}: expected {tp.__name__}, got {type(data).__name__}")
        return data
    if tp is type(None):
        if data is not None:
            raise LoadError(f"{path}: expected null")
        return None
    raise TypeError(f"{path}: unsupported type {tp!r}")


def _expect(data: JsonValue, kind: type, path: str) -> None:
    if not isinstance(data, kind):
        raise LoadError(f"{path}: expected {kind.__name__}, got {type(data).__name__}")
