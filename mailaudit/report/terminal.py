"""What both terminal renderers share (report/text.py, report/fleet_text.py): the rich console
(ANSI colours only when asked, no markup, no highlighting, no emoji), the styles, and server text
made safe. Server text is always passed as `rich.text.Text` with its control characters made
visible, so a banner can neither style nor move the terminal."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from mailaudit.model import Severity
from mailaudit.report.escape import visible_controls

__all__ = [
    "GRADE_STYLE",
    "SEVERITY_STYLE",
    "plain_lines",
    "safe",
    "severity_text",
    "text_console",
    "totals_line",
]

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
GRADE_STYLE = {"A": "bold green", "B": "green", "C": "yellow", "D": "red", "F": "bold red"}


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


def safe(text: object) -> str:
    """Server text with control characters (ESC, CR, NUL...) shown as \\xNN escapes."""
    return visible_controls(str(text))


def severity_text(severity: Severity | None) -> Text:
    if severity is None:
        return Text("none", style="dim")
    return Text(severity.value, style=SEVERITY_STYLE[severity])


def totals_line(totals: dict[Severity, int]) -> Text:
    """The last line of a report: unwaived findings per severity, worst first."""
    return Text.assemble(
        Text("Total: ", style="bold"),
        *[Text.assemble(severity_text(s), f" {n}  ") for s, n in totals.items()],
    )
