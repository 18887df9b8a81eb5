"""Server text is hostile: control characters (ESC sequences that drive a terminal, NUL, CR that
rewrites a line) are shown as visible `\\xNN` escapes in every output."""

from __future__ import annotations

import re

__all__ = ["visible_controls"]

# C0 and C1 controls except tab and newline, which layouts use; `keep_cr` keeps CR as well for
# HTML, where it is harmless whitespace.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_KEEP_CR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible_controls(text: str, *, keep_cr: bool = False) -> str:
    pattern = _CONTROL_KEEP_CR if keep_cr else _CONTROL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
