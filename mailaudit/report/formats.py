"""One entry point for every output format. Renderers are imported on demand, so asking for JSON
never loads jinja2 or rich."""

from __future__ import annotations

import io
from typing import TextIO

from mailaudit.model import Report

__all__ = ["FORMATS", "render_report", "write_rendered"]

FORMATS = ("text", "json", "html", "sarif", "junit")


def render_report(
    report: Report,
    fmt: str,
    *,
    quiet: bool = False,
    verbose: bool = False,
    color: bool = False,
) -> str:
    """The report in `fmt` (one of FORMATS); quiet, verbose and color apply to text only."""
    if fmt in ("json", "sarif", "junit"):
        buffer = io.StringIO()
        write_rendered(report, fmt, buffer)
        return buffer.getvalue()
    if fmt == "text":
        from mailaudit.report.text import render_text

        return render_text(report, quiet=quiet, verbose=verbose, color=color)
    if fmt == "html":
        from mailaudit.report.html import render_html

        return render_html(report)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def write_rendered(
    report: Report,
    fmt: str,
    stream: TextIO,
    *,
    quiet: bool = False,
    verbose: bool = False,
    color: bool = False,
) -> None:
    """Write `render_report(report, fmt, ...)` to `stream`. JSON, SARIF and JUnit are written
    piece by piece, so a fleet's report is never one string in memory."""
    if fmt == "json":
        from mailaudit.report.json_report import write_report

        write_report(report, stream)
    elif fmt == "sarif":
        from mailaudit.report.sarif import write_sarif

        write_sarif(report, stream)
    elif fmt == "junit":
        from mailaudit.report.junit import write_junit

        write_junit(report, stream)
    else:
        stream.write(render_report(report, fmt, quiet=quiet, verbose=verbose, color=color))
