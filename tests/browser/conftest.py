"""Real headless Chromium (Debian's `chromium` package) for the HTML report.

The tests fail with a clear message when Chromium is missing (`apt-get install -y chromium`): a
skipped browser test must never look like a pass. Set MAILAUDIT_SKIP_BROWSER=1 to skip them on a
machine that cannot have a browser.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chromium import HEADLESS_FLAGS

_FLAGS = (
    *HEADLESS_FLAGS,
    "--enable-logging=stderr",
    "--v=0",
)
# Console messages as Chromium logs them with --enable-logging=stderr, whatever their level:
# [pid:tid:date:INFO:CONSOLE:1] "message", source: file:///... (1)
CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)")


@dataclass(frozen=True)
class Run:
    stdout: str
    console: tuple[str, ...]


@dataclass(frozen=True)
class Chromium:
    executable: str
    workdir: Path

    def run(self, page: Path, *args: str, window: str = "1280,2000", fragment: str = "") -> Run:
        profile = self.workdir / f"profile-{os.urandom(4).hex()}"
        profile.mkdir()
        try:
            done = subprocess.run(
                [
                    self.executable,
                    *_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--window-size={window}",
                    *args,
                    page.resolve().as_uri() + fragment,
                ],
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
                env={**os.environ, "HOME": str(self.workdir)},
            )
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if done.returncode != 0:
            raise AssertionError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
        # The page's messages only: Chromium's own pages (source chrome://...) log too, e.g.
        # "Slow network is detected" for its UI font on a loaded machine.
        console = tuple(
            m.group(1)
            for m in CONSOLE.finditer(done.stderr)
            if "source: chrome://" not in m.group(1)
        )
        return Run(done.stdout, console)

    def screenshot(self, page: Path, png: Path, *, window: str = "1280,2000") -> Run:
        run = self.run(page, f"--screenshot={png}", window=window)
        assert png.is_file(), "chromium wrote no screenshot"
        return run

    def dom(self, page: Path, *, fragment: str = "") -> Run:
        return self.run(page, "--dump-dom", fragment=fragment)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Chromium:
    if os.environ.get("MAILAUDIT_SKIP_BROWSER") == "1":
        pytest.skip("MAILAUDIT_SKIP_BROWSER=1")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(
            "headless Chromium is not installed: apt-get install -y chromium "
            "(or set MAILAUDIT_SKIP_BROWSER=1 on a machine without a browser)"
        )
    return Chromium(executable, tmp_path_factory.mktemp("chromium"))
