"""The progress line of `mailaudit audit`: drawn on a real pseudo-terminal, silent with -q and
when stderr is not a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

from mailaudit.report.progress import Progress, progress_line


def read_all(fd: int, timeout_s: float = 5.0) -> str:
    out = b""
    while select.select([fd], [], [], timeout_s)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the slave side closed (Linux: EIO)
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def test_line_counts_domains_rate_and_eta() -> None:
    line = progress_line(done=250, total=1000, elapsed_s=10.0, step="probed x", width=200)
    assert line == "250/1,000 domains · 25.0/s · ETA 0:30 · probed x"
    first = progress_line(done=0, total=10_000, elapsed_s=1.0, step="", width=200)
    assert first == "0/10,000 domains · ETA ?"
    last = progress_line(done=3, total=3, elapsed_s=2.0, step="", width=200)
    assert last == "3/3 domains · 1.5/s · done"
    long = progress_line(done=1, total=2, elapsed_s=1.0, step="x" * 300, width=60)
    assert len(long) == 60
    assert long.endswith("…")


def test_progress_on_a_pseudo_terminal() -> None:
    # Given a real terminal (pty) and a clock we control
    master, slave = pty.openpty()
    now = [100.0]
    with os.fdopen(slave, "w", encoding="utf-8") as tty:
        assert tty.isatty()
        progress = Progress(tty, total=4, clock=lambda: now[0], min_interval_s=0.1)
        # When two domains finish in 4 s, a step follows at once (throttled), then the rest
        now[0] += 2
        progress.domain_done("a.test")
        now[0] += 2
        progress.domain_done("b.test")
        progress("probed smtp://mail.c.test")  # within 0.1 s of the last draw: not drawn
        now[0] += 1
        progress.domain_done("c.test")
        progress.domain("d.test")  # as a fleet sink reports it; the last one is always drawn
        progress.close()
        tty.flush()
        output = read_all(master, timeout_s=0.5)
    os.close(master)
    # Then the line was redrawn in place with count, rate and ETA, and cleared at the end
    draws = [d for d in output.split("\r\x1b[K") if d]
    assert draws == [
        "1/4 domains · 0.5/s · ETA 0:06",
        "2/4 domains · 0.5/s · ETA 0:04",
        "3/4 domains · 0.6/s · ETA 0:02 · probed smtp://mail.c.test",
        "4/4 domains · 0.8/s · done · probed smtp://mail.c.test",
    ]
    assert output.endswith("\r\x1b[K")


def _audit_stderr(*args: str, tty: bool) -> str:
    """`mailaudit audit` on a refused loopback port, its stderr a pty or a pipe."""
    command = [sys.executable, "-m", "mailaudit", "audit", "--timeout", "2", "--skip", "tls"]
    command += ["--endpoint", "smtp://127.0.0.1:1", *args]
    if not tty:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        return done.stderr
    master, slave = pty.openpty()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL
    )
    os.close(slave)
    output = read_all(master, timeout_s=30)
    child.wait(timeout=60)
    os.close(master)
    return output


def test_the_cli_draws_on_a_terminal_only_and_not_with_q() -> None:
    drawn = _audit_stderr(tty=True)
    assert "elapsed · " in drawn
    assert "smtp://127.0.0.1:1" in drawn
    assert "elapsed" not in _audit_stderr("-q", tty=True)
    assert "elapsed" not in _audit_stderr(tty=False)
