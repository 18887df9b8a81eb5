"""The JSON report: `mailaudit.serial` data, validated against the committed schema on load.

`dump_report` writes the one serialisation of a `Report` (schema_version comes first: it is the
model's first field). `load_report` (a file) and `parse_report` (JSON text) read a report back for re-rendering, policies and
diffs; it never re-scans anything.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from mailaudit.errors import UsageError
from mailaudit.model import Report
from mailaudit.report.streamed import FLEET_MIN_DOMAINS
from mailaudit.serial import LoadError, from_data, to_data

__all__ = [
    "ReportLoadError",
    "dump_report",
    "load_report",
    "parse_report",
    "validate_report_data",
    "write_report",
]


class ReportLoadError(UsageError):
    """The file is not a mailaudit report this version can read; the message says where."""


def dump_report(report: Report) -> str:
    """The report's JSON text, as `write_report` writes it."""
    text = io.StringIO()
    write_report(report, text)
    return text.getvalue()


def write_report(report: Report, stream: TextIO) -> None:
    """Write the report piece by piece: a fleet's 10,000 domains are turned into data one at a
    time, never all at once (nor the whole text in one string), so writing the report needs
    memory for one domain, not for the fleet.

    Indented by two spaces; from FLEET_MIN_DOMAINS domains on, each domain and each endpoint is one
    compact line instead (a fleet's file is a third smaller and `grep`-able by domain), and is
    encoded by the json module's C encoder: with an indent, json encodes in Python, several
    times slower, which was a sixth of a 1,000-domain run's CPU time."""
    one_line = len(report.domains) >= FLEET_MIN_DOMAINS
    stream.write("{")
    for position, f in enumerate(dataclasses.fields(report)):
        value = getattr(report, f.name)
        stream.write(("," if position else "") + "\n  " + json.dumps(f.name) + ": ")
        if not isinstance(value, tuple):
            stream.write(_indented(to_data(value), "\n  "))
        elif not value:
            stream.write("[]")
        else:
            stream.write("[")
            for n, item in enumerate(value):
                data = to_data(item)
                line = _compact(data) if one_line else _indented(data, "\n    ")
                stream.write(("," if n else "") + "\n    " + line)
            stream.write("\n  ]")
    stream.write("\n}\n")


def _indented(data: Any, newline: str) -> str:
    # Safe: the encoder escapes every newline inside a string, so each one here is layout.
    return json.dumps(data, indent=2, ensure_ascii=False).replace("\n", newline)


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load_report(path: str | Path) -> Report:
    """Load a saved report from the file at `path`."""
    path = Path(path)
    if path.is_char_device() or path.is_block_device():
        # A device such as /dev/zero or /dev/full reads forever: refused, not read into memory.
        raise ReportLoadError(f"{path}: a device, not a report file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportLoadError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReportLoadError(f"{path}: not UTF-8 text") from None
    return parse_report(text, where=str(path))


def parse_report(text: str, *, where: str = "report") -> Report:
    """Read a report from its JSON text; `where` names the source in error messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportLoadError(f"{where}: not JSON ({exc})") from None
    validate_report_data(data, where=where)
    try:
        return from_data(Report, data)
    except LoadError as exc:
        raise ReportLoadError(f"{where}: {exc}") from None


def validate_report_data(data: Any, *, where: str = "report") -> None:
    """Check `data` against the committed JSON Schema.

    Uses `jsonschema` when it is installed; without it, `from_data` still checks every type and
    value (but not unknown keys)."""
    if not isinstance(data, dict):
        raise ReportLoadError(f"{where}: expected a JSON object")
    validator = _validator()
    if validator is None:
        return
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path
        )
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ReportLoadError(f"{where}: {path}: {first.message}{more}")


@cache
def _validator() -> Any:
    try:
        # Imported by name: no type stubs are installed for it, and it is optional at run time.
        jsonschema = importlib.import_module("jsonschema")
    except ImportError:  # pragma: no cover - without it, from_data still checks every value
        return None
    from mailaudit.report.schema import committed_schema

    schema = committed_schema()
    return jsonschema.Draft202012Validator(schema)
