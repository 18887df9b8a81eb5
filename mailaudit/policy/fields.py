"""The `v=VERSION; key=value; ...` TXT record grammar shared by MTA-STS (RFC 8461 §3.1) and
TLS-RPT (RFC 8460 §3): split into fields, with syntax errors as data."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["FIELD_NAME", "WSP", "has_version", "split_fields"]

FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
WSP = " \t"


def has_version(text: str, version: str) -> bool:
    """Records that do not begin with `v=<version>;` are not of this kind and are discarded."""
    key, sep, rest = text.partition("=")
    return bool(sep) and key.strip(WSP) == "v" and rest.strip(WSP).startswith(f"{version};")


def split_fields(
    text: str, *, value_error: Callable[[str, str], str | None] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The (key, value) fields of `text` in order, and the errors found. A trailing `;` is
    allowed; `value_error(key, value)` may reject a value with a message."""
    errors: list[str] = []
    fields: list[tuple[str, str]] = []
    parts = text.split(";")
    if parts and not parts[-1].strip(WSP):
        parts = parts[:-1]
    for part in parts:
        key, sep, value = part.partition("=")
        key, value = key.strip(WSP), value.strip(WSP)
        if not sep or not FIELD_NAME.match(key) or (value_error is None and not value):
            errors.append(f"'{part.strip()}' is not a field")
            continue
        problem = value_error(key, value) if value_error else None
        if problem:
            errors.append(problem)
            continue
        fields.append((key, value))
    return fields, errors
