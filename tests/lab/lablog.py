"""Reading what a lab log gained during one test (lab logs are appended to and shared)."""

from __future__ import annotations

from pathlib import Path


class LabLog:
    """What a lab log gained since this object was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            return handle.read().decode("utf-8", "replace").splitlines()
