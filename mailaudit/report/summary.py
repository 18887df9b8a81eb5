"""Rendering helpers shared by the report formats. (Grades, counts and what could not be tested
are judgement: `mailaudit.checks.grading`.)"""

from __future__ import annotations

import re

__all__ = ["reference_link"]

_RFC = re.compile(r"\bRFC\s*(\d{3,5})\b(?:[^§\d]*(?:§|section)\s*(\d+(?:\.\d+)*))?", re.I)


def reference_link(reference: str) -> str | None:
    """A URL for a catalogue reference: links stay links; "RFC 8314 §3.3" becomes
    https://www.rfc-editor.org/rfc/rfc8314#section-3.3; anything else has no link."""
    text = reference.strip()
    if text.startswith(("https://", "http://")):
        return text.split()[0]
    match = _RFC.search(text)
    if not match:
        return None
    url = f"https://www.rfc-editor.org/rfc/rfc{int(match.group(1))}"
    if match.group(2):
        url += f"#section-{match.group(2)}"
    return url
