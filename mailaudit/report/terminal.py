"""The rich console both terminal renderers write to (report/text.py, report/fleet_text.py):
ANSI colours only when asked, no markup, no highlighting, no emoji, so server text (always passed
as `rich.text.Text`) is printed as it is, its control characters already made visible."""

from __future__ import annotations

import io

from rich.console import Console

__all__ = ["plain_lines", "text_console"]


def text_console(buffer: io.StringIO, *, color: bool, width: int, soft_wrap: bool) -> Console:
    return Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=soft_wrap,
    )


def plain_lines(buffer: io.StringIO) -> str:
    """What was printed, each line without trailing blanks and ending in a newline."""
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
