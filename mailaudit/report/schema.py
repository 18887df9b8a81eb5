"""The JSON Schema of a report, generated from the model's type hints.

It walks the same types as `mailaudit.serial` (dataclasses, StrEnum, str/int/float/bool/None,
tuple[X, ...], fixed tuples, list[X], dict[str, X], unions, Literal), so a field the lead adds to
the model flows into the schema without touching this module. The generated schema is committed as
`mailaudit/report/report.schema.json` (a test fails when it is out of date) and printed by
`mailaudit schema`.

Regenerate after changing the model::

    python -m mailaudit.report.schema > mailaudit/report/report.schema.json
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from enum import Enum
from importlib import resources
from typing import Any, Literal, Union, get_args, get_origin

from mailaudit.model import SCHEMA_VERSION, Report

__all__ = ["SCHEMA_ID", "committed_schema", "json_schema", "schema_text"]

SCHEMA_ID = "https://mailaudit.invalid/schemas/report.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every report produced by `dump_report` validates against."""
    walker = _Walker()
    root = walker.define(Report)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "mailaudit report",
        "description": (
            f"A mailaudit report, schema_version {SCHEMA_VERSION}. Generated from the model's "
            "type hints by mailaudit.report.schema; do not edit by hand."
        ),
        "$ref": root["$ref"],
        "$defs": dict(sorted(walker.defs.items())),
    }
    return schema


def schema_text() -> str:
    """The schema as committed: two-space indent, a final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def committed_schema() -> dict[str, Any]:
    """The schema file shipped with the package (`report.schema.json`)."""
    text = resources.files("mailaudit.report").joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


class _Walker:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self._names: dict[type, str] = {}

    def _name_for(self, cls: type) -> str:
        if cls in self._names:
            return self._names[cls]
        name = cls.__name__
        if name in self.defs or name in self._names.values():
            # Two model types share a name (e.g. a Protocol enum in two areas): qualify it.
            name = f"{cls.__module__.removeprefix('mailaudit.')}.{cls.__name__}"
        self._names[cls] = name
        return name

    def define(self, tp: Any) -> dict[str, Any]:
        if tp is Any:
            return {}
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [self.define(option) for option in get_args(tp)]
            return {"anyOf": options}
        if origin is Literal:
            return {"enum": list(get_args(tp))}
        if origin is tuple:
            args = get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.define(args[0])}
            return {
                "type": "array",
                "prefixItems": [self.define(a) for a in args],
                "items": False,
                "minItems": len(args),
            }
        if origin is list:
            (item,) = get_args(tp)
            return {"type": "array", "items": self.define(item)}
        if origin is dict:
            key_tp, value_tp = get_args(tp)
            if key_tp is not str:
                raise TypeError(f"dict keys must be str, not {key_tp!r}")
            return {"type": "object", "additionalProperties": self.define(value_tp)}
        if isinstance(tp, type) and issubclass(tp, Enum):
            return self._enum(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._dataclass(tp)
        if tp is type(None) or tp is None:
            return {"type": "null"}
        simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
        if tp in simple:
            return {"type": simple[tp]}
        raise TypeError(f"unsupported type {tp!r}")

    def _enum(self, cls: type[Enum]) -> dict[str, Any]:
        name = self._name_for(cls)
        if name not in self.defs:
            definition: dict[str, Any] = {"type": "string", "enum": [m.value for m in cls]}
            doc = _doc(cls)
            if doc:
                definition = {"description": doc, **definition}
            self.defs[name] = definition
        return {"$ref": f"#/$defs/{name}"}

    def _dataclass(self, cls: type) -> dict[str, Any]:
        name = self._name_for(cls)
        if name not in self.defs:
            self.defs[name] = {}  # a placeholder first: recursive types terminate
            hints = typing.get_type_hints(cls)
            properties: dict[str, Any] = {}
            required: list[str] = []
            for f in dataclasses.fields(cls):
                properties[f.name] = self.define(hints[f.name])
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            definition: dict[str, Any] = {}
            doc = _doc(cls)
            if doc:
                definition["description"] = doc
            definition |= {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
            self.defs[name] = definition
        return {"$ref": f"#/$defs/{name}"}


def _doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):  # the dataclass-generated signature
        return None
    if issubclass(cls, Enum) and doc == Enum.__doc__:
        return None
    return " ".join(doc.split())


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(schema_text())
