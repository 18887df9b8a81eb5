"""The progress line of `mailaudit audit` on a terminal: domains done / total, rate, ETA and the
last step, redrawn in place on stderr at most ten times a second and cleared when the run ends.

Scanning code never imports this: it reports steps through `AuditOptions.progress`, a plain
`Callable[[str], None]`, and a finished domain through `domain_done()` (or `domain(...)`, so the
object can serve as a fleet sink that only counts).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from mailaudit.report.escape import visible_controls

__all__ = ["Progress", "progress_callback", "progress_line"]

_CLEAR = "\r\x1b[K"  # back to column 0, erase to the end of the line


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_line(*, done: int, total: int, elapsed_s: float, step: str, width: int) -> str:
    """ "37/1,000 domains · 12.3/s · ETA 1:18 · probed smtp://..." cut to `width` characters."""
    if total:
        parts = [f"{done:,}/{total:,} domains"]
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        if done:
            parts.append(f"{rate:.1f}/s")
            parts.append(f"ETA {_clock((total - done) / rate)}" if done < total else "done")
        else:
            parts.append("ETA ?")
    else:
        parts = [f"{_clock(elapsed_s)} elapsed"]
    if step:
        parts.append(step)
    line = " · ".join(parts)
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


class Progress:
    """Pass the object as `AuditOptions.progress`; call `domain_done()` per finished domain;
    `close()` it (or use `with`) before printing the report, which clears the line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        total: int = 0,
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = 0.1,
    ) -> None:
        self._stream = stream or sys.stderr
        self._total = total
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._started_at = clock()
        self._drawn_at: float | None = None
        self._done = 0
        self._step = ""
        self._open = False

    @property
    def done(self) -> int:
        return self._done

    def __call__(self, message: str) -> None:
        self._step = visible_controls(message.replace("\n", " "))
        self._draw()

    def domain_done(self, domain: str = "") -> None:
        self._done += 1
        self._draw(force=self._done == self._total)

    def domain(self, *_facts: object) -> None:
        """A finished domain, as a fleet sink reports it."""
        self.domain_done()

    def endpoint(self, *_facts: object) -> None:
        """A finished endpoint: not counted (the line counts domains)."""

    def _draw(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and self._drawn_at is not None and now - self._drawn_at < self._min_interval_s:
            return
        self._drawn_at = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        line = progress_line(
            done=self._done,
            total=self._total,
            elapsed_s=now - self._started_at,
            step=self._step,
            width=width,
        )
        self._stream.write(_CLEAR + line)
        self._stream.flush()
        if not self._open:
            self._open = True
            # A caller that forgets close() still gets its terminal line cleaned up.
            atexit.register(self.close)

    def close(self) -> None:
        if self._open:
            self._stream.write(_CLEAR)
            self._stream.flush()
            self._open = False
            atexit.unregister(self.close)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def progress_callback(
    *, enabled: bool, stream: TextIO | None = None, total: int = 0
) -> Progress | None:
    """The progress line when `enabled` and the stream (stderr) is a terminal, else None."""
    target = stream or sys.stderr
    if not enabled or not target.isatty():
        return None
    return Progress(target, total=total)
