"""Arguments and files checked before any network work (issue 10, item 5).

A run that takes minutes must not die at its end because an output directory does not exist, and
a typo must not give a traceback. Everything here raises `click.BadParameter` or
`click.UsageError` with a one-line message (exit 2, see `mailaudit.cli.main`); `write_outputs`
writes every output it can and returns one line per output it could not.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from mailaudit.discovery.query import normalise_domain
from mailaudit.errors import UsageError, one_line
from mailaudit.model import HOSTNAME, Endpoint

__all__ = [
    "MAX_SECONDS",
    "Output",
    "PathArg",
    "ca_file_callback",
    "check_env_var_name",
    "check_http_url",
    "check_output_paths",
    "domain_names",
    "ehlo_name_callback",
    "endpoint_urls",
    "one_line",
    "seconds_callback",
    "write_outputs",
]

# A step or a budget longer than a day is a typo, not a plan; asyncio takes neither NaN nor
# infinity as a deadline.
MAX_SECONDS = 86_400.0


def domain_names(values: Iterable[str], *, what: str = "DOMAIN") -> tuple[str, ...]:
    """Each value as a domain name in lower-case A-label form (UTS 46), or a usage error that
    names the value."""
    names: list[str] = []
    for value in values:
        try:
            name = normalise_domain(value)
        except UsageError:
            raise click.BadParameter(f"{value!r} is not a domain name", param_hint=what) from None
        if len(name) > 253:
            raise click.BadParameter(
                f"{value[:60]!r}... is longer than a domain name may be (253)", param_hint=what
            )
        names.append(name)
    return tuple(names)


def endpoint_urls(values: Iterable[str], *, what: str) -> tuple[Endpoint, ...]:
    """Each value as an Endpoint whose host is a host name (A-label form) or an IP literal."""
    from mailaudit.net.resolver import is_ip_literal

    endpoints: list[Endpoint] = []
    for value in values:
        try:
            endpoint = Endpoint.parse(value)
        except UsageError as exc:
            raise click.BadParameter(str(exc), param_hint=what) from None
        if not is_ip_literal(endpoint.host) and not HOSTNAME.match(endpoint.host):
            raise click.BadParameter(
                f"{value!r}: {endpoint.host!r} is not a host name or address", param_hint=what
            )
        endpoints.append(endpoint)
    return tuple(endpoints)


def check_http_url(value: str, *, what: str) -> None:
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, an unclosed bracket
        ok = False
    if not ok or not value.isprintable() or " " in value:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL", param_hint=what)


def check_env_var_name(value: str, *, what: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise click.BadParameter(f"{value!r} is not an environment variable name", param_hint=what)


def seconds_callback(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise click.BadParameter(f"{value} is not a number of seconds above 0 and up to a day")
    return value


def ehlo_name_callback(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # It goes into an SMTP command line: a space or CR/LF there would start a second command.
    if not value or len(value) > 255 or any(not 0x21 <= ord(c) <= 0x7E for c in value):
        raise click.BadParameter(f"{value!r} is not a host name or address literal")
    return value


def ca_file_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A CA file is read now: a file that holds no certificate must not fail after DNS work."""
    if value is None:
        return None
    import ssl

    from mailaudit.net.tls import verifying_context

    try:
        verifying_context(value)
    except ssl.SSLError as exc:
        reason = (exc.reason or "unreadable").lower().replace("_", " ")
        raise click.BadParameter(
            f"{value!r}: not a PEM file of CA certificates ({reason})"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise click.BadParameter(f"{value!r}: cannot be read ({one_line(reason)})") from None
    return value


class PathArg(click.Path):
    """click.Path that refuses a NUL in the name as a usage error (click's own check lets the
    operating system's ValueError through as a traceback)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            self.fail(f"{value!r}: a path cannot contain a NUL character", param, ctx)
        return super().convert(value, param, ctx)


def check_output_paths(paths: Iterable[tuple[str, str | None]], *, stdout_ok: bool = False) -> None:
    """(option, path) pairs: each path must be writable, or creatable in its directory, now,
    before any work. `-` means standard output where the command allows it (`stdout_ok`); two
    options naming one file would overwrite each other."""
    seen: dict[str, str] = {}
    for option, path in paths:
        if not path:
            continue
        if path == "-":
            if stdout_ok:
                continue
            raise click.BadParameter("'-': standard output gets the report", param_hint=option)
        problem = _unwritable(path)
        if problem:
            raise click.BadParameter(f"{path!r}: {problem}", param_hint=option)
        key = os.path.realpath(path)
        if key in seen and not key.startswith("/dev/"):
            raise click.UsageError(f"{seen[key]} and {option} name the same file {path!r}")
        seen[key] = option


def _unwritable(path: str) -> str | None:
    try:
        target = Path(path)
        if target.is_dir():
            return "is a directory"
        parent = target.parent
        if not parent.is_dir():
            return f"directory {str(parent)!r} does not exist"
        if target.exists():
            # Not only regular files: /dev/stdout is a fine place for a report.
            if not os.access(target, os.W_OK):
                return "is not writable"
        elif not os.access(parent, os.W_OK | os.X_OK):
            return f"cannot create files in {str(parent)!r}"
    except (OSError, ValueError) as exc:  # a name too long, a NUL
        return f"not a usable path ({one_line(str(exc))})"
    return None


@dataclass(frozen=True)
class Output:
    """One file a command writes at its end, named by the option that asked for it; `write`
    writes the whole file to an open text stream."""

    option: str
    path: str
    write: Callable[[Any], object]


def write_outputs(outputs: Iterable[Output]) -> list[str]:
    """Write each output; one line per output that failed, the others are still written."""
    failures: list[str] = []
    for output in outputs:
        try:
            with Path(output.path).open("w", encoding="utf-8") as stream:
                output.write(stream)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            failures.append(
                f"{output.option} {one_line(output.path)}: not written: {one_line(reason)}"
            )
    return failures
